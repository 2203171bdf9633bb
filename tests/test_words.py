"""Every sentence is true: the direction words describe the update that happens,
the stability bound is the update rule's own, and a growing run is called so."""

from __future__ import annotations

import csv
import io
import json

import pytest


def rows(run, *args):
    r = run(["descend", *args, "-f", "csv"])
    assert r.code in (0, 3)
    return list(csv.DictReader(io.StringIO(r.out)))


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--momentum", "0.9"],
        ["--momentum", "0.9", "--nesterov"],
        ["--momentum", "0.5", "--dampening", "0.3"],
        ["--optimizer", "adam", "--lr", "0.5"],
        ["--optimizer", "rmsprop", "--momentum", "0.8"],
        ["--weight-decay", "3", "--lr", "0.05"],
        ["--optimizer", "adagrad", "--lr", "1"],
    ],
)
def test_the_direction_says_what_the_update_does(run, options):
    table = rows(run, "(w - 3)**2 + sin(3*w)", "--steps", "60", "--tol", "0", *options)
    assert len(table) > 10
    for k, row in enumerate(table[:-1]):
        update, words = float(row["update_w"]), row["direction"]
        after, now = float(table[k + 1]["w"]), float(row["w"])
        assert update == after - now
        slope = float(row["grad_w"])
        said = "slope > 0" if slope > 0 else "slope < 0" if slope < 0 else "slope = 0"
        assert words.startswith(said), row
        if update > 0:
            assert words.endswith(("so w increases", "carries w up")), row
        elif update < 0:
            assert words.endswith(("so w decreases", "carries w down")), row
        if ", but " in words and update != 0:  # against the slope: only where they disagree
            assert (slope > 0) == (update > 0) or slope == 0
        if update == 0:
            assert words.endswith(("so w stays", "but w stays (the update is 0)")), row
    assert table[-1]["update_w"] == "" and table[-1]["direction"] == ""


def test_momentum_carrying_a_weight_up_the_slope_is_said(run):
    table = rows(run, "--momentum", "0.9", "--lr", "0.1", "--steps", "12")
    assert table[4]["direction"] == "slope > 0, but momentum carries w up"
    assert float(table[4]["grad_w"]) > 0 and float(table[4]["update_w"]) > 0


@pytest.mark.parametrize(
    ("options", "bound"),
    [
        ([], 1.0),  # 2 / l''
        (["--momentum", "0.9"], 1.9),  # 2 (1 + m) / l''
        (["--momentum", "0.9", "--nesterov"], 2 * 1.9 / (2.8 * 2)),  # 2 (1 + m) / ((1 + 2m) l'')
        (["--momentum", "0.9", "--dampening", "0.5"], 3.8),  # 2 (1 + m) / ((1 - d) l'')
        (["--weight-decay", "2"], 0.5),  # 2 / (l'' + wd)
    ],
)
def test_the_stability_bound_is_the_update_rules_own(run, options, bound):
    """Checked against the runs themselves: just below the bound the run stays
    bounded, just above it diverges (exit 3)."""
    base = ["descend", "(w - 3)**2", "--steps", "20000", "--tol", "0", *options]
    below = run([*base, "--lr", repr(bound * 0.99), "-f", "json"])
    above = run([*base, "--lr", repr(bound * 1.01), "-q"])
    assert below.code == 0 and above.code == 3
    stability = json.loads(below.out)["stability"]
    assert stability["bound"] == pytest.approx(bound, rel=1e-12)
    assert stability["inside"] is True and stability["where"] == "end"


def test_a_diverging_run_speaks_of_the_start(run):
    r = run(["descend", "(w - 3)**2", "--lr", "1.5", "--steps", "100", "-f", "json"])
    assert r.code == 3
    stability = json.loads(r.out)["stability"]
    assert stability["where"] == "start" and stability["at"] == 1.0
    assert stability["bound"] == 1.0 and stability["inside"] is False


def test_no_simple_bound_for_adam(run):
    r = run(["descend", "--optimizer", "adam", "--steps", "5", "-f", "plain"])
    assert "no simple bound on lr follows from l''" in r.err


def test_a_growing_run_is_called_growing(run):
    r = run(["descend", "(w - 3)**2", "--lr", "1.001", "--start", "0", "--steps", "3000",
             "-f", "json"])  # fmt: skip
    data = json.loads(r.out)
    assert r.code == 0 and data["status"] == "max_steps" and data["growing"] is True
    plain = run(["descend", "(w - 3)**2", "--lr", "1.001", "--start", "0", "--steps", "3000",
                 "-f", "plain"])  # fmt: skip
    assert "it is growing, not converging" in plain.err
    calm = json.loads(run(["descend", "--steps", "5", "-f", "json"]).out)
    assert calm["growing"] is False
