"""Explicit streams: a descent is a one-shot generator with fresh optimizer state
each time it runs; a report is a head, rows and a tail computed after the rows;
the stop rule is validated once and shared."""

from __future__ import annotations

import io
import json
import math
import signal
import subprocess
import sys
import time

import pytest

from gdcli.descent import Descent
from gdcli.errors import BadValue, Interrupted
from gdcli.optimizers import optimizer_factory
from gdcli.render.output import write_json
from gdcli.reports.base import Report, constant
from gdcli.stopping import StopRule


def quadratic(x):
    (w,) = x
    return (w - 3) ** 2, [2 * (w - 3)]


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_a_descent_runs_twice_to_the_same_numbers(name):
    hyper = {"momentum": 0.9} if name == "sgd" else {}
    descent = Descent(quadratic, [1.0], optimizer_factory(name, 0.1, **hyper), StopRule(5))
    first = [(s.step, s.params[0], s.loss) for s in descent.run()]
    second = [(s.step, s.params[0], s.loss) for s in descent.run()]
    assert first == second and len(first) == 6
    # Adam's first step is lr * sign(g): 1 -> 1.1 (the number the issue saw drift)
    if name == "adam":
        assert first[1][1] == pytest.approx(1.1, abs=1e-9)


def test_the_outcome_is_the_generators_return_value():
    descent = Descent(quadratic, [1.0], optimizer_factory("sgd", 0.5), StopRule(50))
    steps = descent.run()
    records = []
    with pytest.raises(StopIteration) as stop:
        while True:
            records.append(next(steps))
    assert stop.value.value.status == "converged"  # lr = 1/l'' jumps to w = 3 at once
    assert stop.value.value.step == 1 and records[-1].params == [3.0]


@pytest.mark.parametrize(
    ("steps", "tol", "parameter"),
    [(0, 1e-8, "steps"), (-3, 1e-8, "steps"), (5, -1.0, "tol"), (5, math.nan, "tol")],
)
def test_the_stop_rule_is_checked_once_and_names_the_parameter(steps, tol, parameter):
    with pytest.raises(BadValue) as caught:
        StopRule(steps, tol)
    assert caught.value.parameter == parameter


def test_a_reports_tail_is_read_after_its_rows():
    order: list[str] = []

    def rows():
        for k in range(3):
            order.append(f"row {k}")
            yield {"k": k}

    def tail():
        order.append("tail")
        return {"status": "done", "count": 3}

    report = Report({"name": "x"}, [], constant([]), rows_key="rows", records=rows(), tail=tail)
    out = io.StringIO()
    write_json(report, out)
    assert order == ["row 0", "row 1", "row 2", "tail"]
    assert json.loads(out.getvalue()) == {
        "name": "x",
        "rows": [{"k": 0}, {"k": 1}, {"k": 2}],
        "status": "done",
        "count": 3,
    }


def test_ctrl_c_during_the_rows_ends_the_json_document():
    seen = []

    def rows():
        yield {"k": 0}
        yield {"k": 1}
        signal.raise_signal(signal.SIGINT)  # Ctrl-C after the second row was written
        yield {"k": 2}
        yield {"k": 3}

    report = Report(
        {"name": "x"},
        [],
        constant([]),
        rows_key="rows",
        records=rows(),
        tail=lambda: {"status": "interrupted" if seen else "running"},
        interrupt=lambda: seen.append(True),
    )
    out = io.StringIO()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as gdcli's main sets it
    try:
        with pytest.raises(Interrupted):
            write_json(report, out)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert json.loads(out.getvalue()) == {
        "name": "x",
        "rows": [{"k": 0}, {"k": 1}, {"k": 2}],  # the row being computed is kept whole
        "status": "interrupted",
    }


@pytest.mark.slow
def test_ctrl_c_ends_a_long_descend_with_complete_json_and_exit_130(tmp_path):
    target = tmp_path / "run.json"
    with target.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gdcli", "descend", "--steps", "100000000", "--tol", "0",
             "--lr", "0.001", "-f", "json"],
            stdout=sink, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err == "gdcli: error: interrupted\n"
    data = json.loads(target.read_text())
    assert data["status"] == "interrupted"
    assert data["final"]["step"] == data["steps"][-1]["step"] > 0
    # every step kept is a true step of w <- w - 0.001 * 2 (w - 3) from w = 1
    w = 1.0
    for record in data["steps"][:100]:
        assert record["params"]["w"] == w
        w = w - 0.001 * (2 * (w - 3))
