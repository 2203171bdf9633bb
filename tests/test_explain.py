"""descend --explain: each update written out with its numbers, in the rule's formula;
the numbers are the update's own (they reproduce the next point)."""

from __future__ import annotations

import math

import pytest
from helpers import json_output


def explained(run, *options):
    return json_output(run(["descend", "--steps", "4", "--tol", "0", *options, "-f", "json"]))


def test_adams_first_step_is_about_lr_times_the_slopes_sign(run):
    first = explained(run, "--optimizer", "adam", "--explain")["steps"][0]["explain"]["w"]
    assert first["m"] == pytest.approx(-0.4) and first["v"] == pytest.approx(0.016)
    assert first["m_hat"] == pytest.approx(-4.0) and first["v_hat"] == pytest.approx(16.0)
    assert first["p_new"] == pytest.approx(1 + 0.1 * 4 / (4 + 1e-8), rel=1e-15)


@pytest.mark.parametrize(
    ("options", "rebuild"),
    [
        ([], lambda v, h: v["p"] - v["lr"] * v["g"]),
        (["--momentum", "0.9"], lambda v, h: v["p"] - v["lr"] * v["b"]),
        (["--momentum", "0.9", "--nesterov"],
         lambda v, h: v["p"] - v["lr"] * (v["g"] + 0.9 * v["b"])),
        (["--weight-decay", "0.3"], lambda v, h: v["p"] - v["lr"] * (v["g"] + 0.3 * v["p"])),
        (["--optimizer", "adam"],
         lambda v, h: v["p"] - v["lr"] * v["m_hat"] / (math.sqrt(v["v_hat"]) + 1e-8)),
        (["--optimizer", "rmsprop"],
         lambda v, h: v["p"] - v["lr"] * v["g"] / (math.sqrt(v["v"]) + 1e-8)),
        (["--optimizer", "adagrad"],
         lambda v, h: v["p"] - v["clr"] * v["g"] / (math.sqrt(v["s"]) + 1e-10)),
    ],
    ids=["sgd", "momentum", "nesterov", "weight-decay", "adam", "rmsprop", "adagrad"],
)  # fmt: skip
def test_the_written_numbers_give_the_next_point(run, options, rebuild):
    data = explained(run, *options, "--explain")
    steps = data["steps"]
    for record, following in zip(steps, steps[1:], strict=False):
        values = record["explain"]["w"]
        assert values["p"] == record["params"]["w"]
        assert values["p_new"] == following["params"]["w"]
        assert rebuild(values, data["hyper"]) == pytest.approx(values["p_new"], rel=1e-12)
    assert "explain" not in steps[-1]  # no update follows the last point


def test_the_lines_end_on_the_next_point(run):
    r = run(["descend", "--optimizer", "adam", "--steps", "3", "--explain", "-f", "plain"])
    assert r.code == 0
    block = r.out.split("\n\n")[1].splitlines()
    assert block[0] == "step\tthe next update, written out"
    assert block[1] == "0\tm = beta1·m + (1 - beta1)·dl/dw = 0.9·0 + 0.1·(-4) = -0.4"
    assert block[5] == "0\tw = w - lr·m̂/(√v̂ + eps) = 1 - 0.1·(-4)/(√16 + 1e-08) = 1.1"


def test_explain_steps_limits_it(run):
    steps = explained(run, "--explain-steps", "2")["steps"]
    assert ["explain" in s for s in steps] == [True, True, False, False, False]
    bad = run(["descend", "--explain-steps", "0"])
    assert bad.code == 2 and bad.err == "gdcli: error: --explain-steps must be at least 1 (got 0)\n"
