"""compare: several update rules on one loss; each run equals descend with the same
settings, step for step; a run that cannot be read is named."""

from __future__ import annotations

import pytest
from helpers import json_output

LOSS = "(x - 1)**2 + 10*(y + 2)**2"
START = "x=0,y=0"
RUNS = [
    ("sgd lr=0.04", ["--lr", "0.04"]),
    ("sgd lr=0.04 momentum=0.9 nesterov=true", ["--lr", "0.04", "--momentum", "0.9",
                                                "--nesterov"]),
    ("adam lr=0.3", ["--optimizer", "adam", "--lr", "0.3"]),
    ("rmsprop lr=0.01 alpha=0.9 centered=true", ["--optimizer", "rmsprop", "--lr", "0.01",
                                                 "--alpha", "0.9", "--centered"]),
    ("sgd lr=0.05 scheduler=step step_size=20 gamma=0.5",
     ["--lr", "0.05", "--scheduler", "step", "--step-size", "20", "--gamma", "0.5"]),
]  # fmt: skip


def test_each_run_is_descend_with_the_same_settings(run):
    args = ["compare", LOSS, "--start", START, "--steps", "120", "--target-loss", "1e-6"]
    for text, _ in RUNS:
        args += ["--run", text]
    data = json_output(run([*args, "--trace", "-f", "json"]))
    assert [r["label"] for r in data["runs"]] == [text for text, _ in RUNS]
    for record, (_, options) in zip(data["runs"], RUNS, strict=True):
        single = json_output(run(["descend", LOSS, "--start", START, "--steps", "120",
                                  *options, "-f", "json"]))  # fmt: skip
        assert record["status"] == single["status"]
        assert record["final"]["params"] == single["final"]["params"]
        assert record["final"]["loss"] == single["final"]["loss"]
        assert record["steps_used"] == single["final"]["step"]
        assert [s["params"] for s in record["steps"]] == [s["params"] for s in single["steps"]]
        reached = [s["step"] for s in single["steps"] if s["loss"] <= 1e-6]
        assert record["steps_to_target"] == (reached[0] if reached else None)
        assert record["hyper"] == single["hyper"]


def test_the_table_and_the_notes(run):
    r = run(["compare", LOSS, "--start", START, "--run", "sgd lr=0.04", "--run", "adam lr=0.3",
             "--steps", "50", "-f", "plain"])  # fmt: skip
    assert r.code == 0
    header, *rows = r.out.splitlines()
    assert header == "run\tstatus\tsteps_used\tfinal_loss\tx\ty"
    assert [row.split("\t")[0] for row in rows] == ["sgd lr=0.04", "adam lr=0.3"]
    assert "each run is what descend gives with the same settings" in r.err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sdg lr=0.1", "unknown optimizer 'sdg'"),
        ("adam lr=0.1 momentum=0.9", "momentum is an option of sgd, rmsprop, not of adam"),
        ("sgd lr", "cannot read 'lr': expected key=value"),
        ("sgd t_max=10", "t_max is an option of a learning-rate schedule: give scheduler=NAME"),
        ("sgd scheduler=cosine", "t_max is required by schedule 'cosine'"),
        ("sgd lr=-1", "lr must be >= 0"),
        ("adam amsgrad=maybe", "amsgrad takes true or false"),
    ],
)
def test_a_run_that_cannot_be_read_is_named(run, spec, message):
    r = run(["compare", "--run", "sgd lr=0.1", "--run", spec])
    assert r.code == 2 and r.out == ""
    first = r.err.splitlines()[0]
    assert first.startswith(f"gdcli: error: --run 2 ({spec!r}): ")
    assert message in first


def test_no_run_is_bad_input(run):
    r = run(["compare"])
    assert r.code == 2 and "--run is needed" in r.err
