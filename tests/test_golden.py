"""Golden outputs: the exact text every command prints on the default loss (w - 3)**2.

For every command gdcli registers, the stdout of `--format plain`, `--format csv` and
`--format table` (stdout a pipe, COLUMNS=100, no colour, `--no-plot`) is compared byte
for byte with tests/golden/<command>.<format>.txt, and the notes `plain` writes to
stderr with tests/golden/<command>.plain.stderr.txt (csv and table write nothing there).

To change an output on purpose, rewrite the files and read the diff before committing:

    GDCLI_UPDATE_GOLDEN=1 pytest tests/test_golden.py

The golden files are not their own reference: the tests after the byte comparisons
check every number in them against closed forms and hand-written loops, and check that
the plain and table files show the same values as the csv file. A regenerated file
with a wrong number still fails.
"""

from __future__ import annotations

import csv
import io
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from helpers import Result, hand_descent, run_cli

import gdcli.cli.commands  # noqa: F401  (registers the commands)
from gdcli.cli.app import COMMANDS

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("GDCLI_UPDATE_GOLDEN") == "1"
FORMATS = ("plain", "csv", "table")

# One call per command on the default loss (w - 3)**2, from the default point w = 1.
CALLS: dict[str, list[str]] = {
    "derive": ["derive"],
    "slope": ["slope"],
    "plot": ["plot"],
    "descend": ["descend", "--steps", "5"],
    "grad": ["grad"],
    "check": ["check", "(w-3)**2", "2*(w-3)"],
    "sweep": ["sweep", "--lr", "0.1:1.5:5", "--start", "0", "--steps", "20"],
    "schedule": ["schedule", "step", "--step-size", "2", "--steps", "6"],
    "compare": [
        "compare",
        "--run",
        "sgd lr=0.1",
        "--run",
        "sgd lr=0.1 momentum=0.5",
        "--steps",
        "5",
    ],
    "backprop": ["backprop"],
    "exercise": ["exercise", "derivative", "--seed", "1", "--key"],
}

W = sympy.Symbol("w", real=True)


def golden_run(command: str, fmt: str) -> Result:
    r = run_cli([*CALLS[command], "--format", fmt, "--no-plot"])
    assert r.code == 0, r.err
    return r


def assert_golden(name: str, text: str) -> None:
    """`text` is byte for byte the file tests/golden/`name` (rewritten first when
    GDCLI_UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"{path} is missing: GDCLI_UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_bytes().decode("utf-8")


def golden_text(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


def golden_csv(command: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(golden_text(f"{command}.csv.txt"))))


def test_every_command_has_golden_outputs():
    assert set(CALLS) == set(COMMANDS)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", list(CALLS))
def test_stdout_is_golden(command, fmt):
    r = golden_run(command, fmt)
    assert "\x1b" not in r.out
    assert_golden(f"{command}.{fmt}.txt", r.out)
    if fmt != "plain":
        assert r.err == ""  # notes go beside a table, and nowhere with csv


@pytest.mark.parametrize("command", list(CALLS))
def test_plain_notes_on_stderr_are_golden(command):
    r = golden_run(command, "plain")
    assert "\x1b" not in r.err
    assert_golden(f"{command}.plain.stderr.txt", r.err)


# --- every number in the golden files, from independent references --------------------------------


def loss(w: float) -> float:
    return (w - 3) ** 2


def test_derive_numbers():
    """Forward quotients of (w - 3)**2 at 1: ((1 + h - 3)**2 - 4) / h = -4 + h in exact
    arithmetic; in floats, the same operations give the same bits."""
    rows = golden_csv("derive")
    assert [float(row["h"]) for row in rows] == [10.0**-k for k in range(1, 13)]
    for row in rows:
        h = float(row["h"])
        quotient = (loss(1 + h) - loss(1)) / h
        assert float(row["quotient"]) == quotient
        assert float(row["quotient"]) == pytest.approx(-4 + h, abs=1e-3)
        assert float(row["abs_error"]) == abs(quotient + 4)
        assert float(row["rel_error"]) == pytest.approx(abs(quotient + 4) / 4, rel=1e-15)
    head = golden_text("derive.plain.txt").split("\n\n")[0].splitlines()
    assert head[0] == "quantity\tvalue"
    quantities = [line.split("\t") for line in head[1:]]
    assert quantities[0] == ["l(w)", "(w - 3)**2"]
    assert quantities[1][0] == "dl/dw"
    assert sympy.simplify(sympy.sympify(quantities[1][1], {"w": W}) - 2 * (W - 3)) == 0
    assert quantities[2:] == [["w", "1"], ["l(w)", "4.0"], ["slope", "-4.0"]]
    # the best h has the smallest error; the note names it and its error
    errors = {float(row["h"]): float(row["abs_error"]) for row in rows}
    best = min(errors, key=errors.__getitem__)
    assert best == 1e-8
    note = golden_text("derive.plain.stderr.txt")
    assert note.startswith(f"best h = {best:.0e} (error {errors[best]:.2e}). ")
    header, cells = rich_tables(golden_text("derive.table.txt"))[-1]
    assert header == ["h", "quotient", "abs_error", "rel_error", ""]
    assert [float(row[0]) for row in cells if row[-1] == "◀ best h"] == [best]


def test_slope_numbers():
    """The secant of (w - 3)**2 between 1 and 1.001: (1.999**2 - 4) / 0.001 = -3.999,
    exactly (the point and h are exact, as typed), then rounded once to a float."""
    (row,) = golden_csv("slope")
    w1, h = Fraction(1), Fraction(1, 1000)
    loss2 = (w1 + h - 3) ** 2  # 3.996001
    assert (float(row["w1"]), float(row["h"])) == (1.0, 0.001)
    assert float(row["w2"]) == float(w1 + h) == 1.001
    assert float(row["loss1"]) == 4.0
    assert float(row["loss2"]) == float(loss2) == 3.996001
    assert float(row["slope"]) == float((loss2 - 4) / h) == -3.999
    assert float(row["derivative"]) == -4.0
    # the gap taken exactly, then rounded: -3.999 - (-4) = 1/1000, not the difference
    # of the rounded slopes (0.0009999999999998899)
    assert float(row["abs_error"]) == float((loss2 - 4) / h + 4) == 0.001
    assert golden_text("slope.plain.stderr.txt").startswith(
        "secant slope (l(w+h) - l(w))/h = -3.999; the derivative at w = 1 is -4, gap 0.001."
    )


def test_plot_numbers():
    """The curve sampled at 241 points over the default range: centred on the minimum,
    w = 3, with the point w = 1 in view (1.25 times as far out: 0.5 to 5.5), widened to
    round ends, 0 to 6."""
    rows = golden_csv("plot")
    assert len(rows) == 241
    for i, row in enumerate(rows):
        w = float(row["w"])
        assert w == pytest.approx(6 * i / 240, abs=1e-15)
        assert float(row["loss"]) == pytest.approx(loss(w), rel=1e-15, abs=1e-15)
    assert golden_text("plot.plain.stderr.txt") == (
        "at w = 1: l = 4, slope -4: the loss falls here, so gradient descent makes w larger.\n"
    )


def test_descend_numbers():
    """lr 0.1 from w = 1: w_k = 3 - 2 * 0.8**k (1, 1.4, 1.72, 1.976, ...), loss 4 * 0.64**k,
    slope -4 * 0.8**k; after 5 steps the run stops at max_steps."""
    rows = golden_csv("descend")
    assert [int(row["step"]) for row in rows] == list(range(6))
    for k, row in enumerate(rows):
        assert float(row["w"]) == pytest.approx(3 - 2 * 0.8**k, rel=1e-15)
        assert float(row["loss"]) == pytest.approx(4 * 0.64**k, rel=1e-14)
        assert float(row["grad_w"]) == pytest.approx(-4 * 0.8**k, rel=1e-14)
    assert [float(rows[k]["w"]) for k in range(4)] == [1.0, 1.4, 1.72, 1.976]
    stopped, stability = golden_text("descend.plain.stderr.txt").splitlines()
    match = re.fullmatch(r"stopped after 5 steps \(max_steps\): w = (\S+), loss (\S+)\.", stopped)
    assert match, stopped
    assert float(match[1]) == pytest.approx(3 - 2 * 0.8**5, rel=1e-12)  # 2.34464
    assert float(match[2]) == pytest.approx(4 * 0.64**5, rel=1e-9)  # 0.4294967296
    # l'' = 2 everywhere: plain descent is stable below lr = 2 / l'' = 1, and 0.1 is
    assert stability.startswith("stability: at the end point, w = 2.34464, l'' = 2; ")
    assert "lr < 2 / l'' = 1; the chosen lr is inside it." in stability
    # the table adds each row's next update w_(k+1) - w_k = 0.4 * 0.8**k, and its
    # direction: the slope is negative all along, so every step moves w up
    header, cells = rich_tables(golden_text("descend.table.txt"))[-1]
    assert header == ["step", "w", "loss", "dl/dw", "next update Δw", "direction"]
    assert cells[-1][4] == "—"
    for k, row in enumerate(cells[:-1]):
        assert float(row[4]) == pytest.approx(0.4 * 0.8**k, rel=1e-7)
    assert {row[5] for row in cells[:-1]} == {"slope < 0, so w increases"}


def test_grad_numbers():
    (row,) = golden_csv("grad")
    assert row["variable"] == "w"
    assert sympy.simplify(sympy.sympify(row["partial"], {"w": W}) - 2 * (W - 3)) == 0
    assert float(row["value"]) == -4.0
    assert golden_text("grad.plain.stderr.txt").startswith(
        "loss 4 at this point; the gradient's norm is 4. "
    )


def test_check_numbers():
    (row,) = golden_csv("check")
    assert (row["expression"], row["variable"], row["answer"]) == ("(w-3)**2", "w", "2*(w-3)")
    assert sympy.simplify(sympy.sympify(row["derivative"], {"w": W}) - 2 * (W - 3)) == 0
    assert row["equal"] == "true"
    assert golden_text("check.plain.stderr.txt").startswith("correct: 2*(w-3) is dl/dw of ")


def test_sweep_numbers():
    """Five learning rates from w = 0 for at most 20 steps, each against a hand loop:
    w_k - 3 = -3 (1 - 2 lr)**k, so 0.45 converges (|l'| = 6 * 0.1**k <= 1e-8 at k = 9)
    and 1.5 diverges (loss 9 * 4**k passes 1e12 * 9 at k = 20)."""
    rows = golden_csv("sweep")
    lrs = [float(row["lr"]) for row in rows]
    assert lrs == pytest.approx([0.1, 0.45, 0.8, 1.15, 1.5], rel=1e-15)
    outcomes = []
    for row, lr in zip(rows, lrs, strict=True):
        status, used, w, final = hand_descent(loss, lambda w: 2 * (w - 3), 0.0, lr, 20)
        outcomes.append((lr, status, used))
        assert float(row["start"]) == 0.0
        assert (row["status"], int(row["steps_used"])) == (status, used)
        assert float(row["w"]) == pytest.approx(w, rel=1e-12)
        assert float(row["final_loss"]) == pytest.approx(final, rel=1e-9)
        # the note's rule: the update changed sign at each of the last 20 steps, which
        # takes 21 updates; these runs have at most 20
        assert row["oscillating"] == "false"
    assert [(status, used) for _, status, used in outcomes] == [
        ("max_steps", 20), ("converged", 9), ("max_steps", 20), ("max_steps", 20),
        ("diverged", 20),
    ]  # fmt: skip
    assert golden_text("sweep.plain.stderr.txt").splitlines() == [
        "5 runs of at most 20 steps: 1 converged, 3 max_steps, 1 diverged.",
        "the largest lr that did not diverge is 1.15; the smallest that did is 1.5.",
        # lr 1.15: w - 3 grows by |1 - 2.3| = 1.3 a step, the loss to 9 * 1.3**40 = 3.3e5
        "1 of the max_steps runs (lr 1.15) ended with a loss over 100 times the loss at its "
        "start: it is growing, not converging, and would diverge with more steps.",
        "best lr: 0.45 (converged in the fewest steps, 9). A run oscillates when its update "
        "changed sign at each of the last 20 steps.",
        # l'' = 2 everywhere: plain gradient descent is stable for lr < 2/2
        "on the quadratic model at the start, lr < 2 / l'' = 1: the vertical line in the picture.",
    ]


def test_exercise_numbers():
    """The key's answer is the loss's derivative (SymPy on the test's side)."""
    cells = {row["quantity"]: row["value"] for row in golden_csv("exercise")}
    assert (cells["kind"], cells["seed"], cells["level"]) == ("derivative", "1", "1")
    loss = sympy.sympify(cells["loss"], {"w": W})
    answer = sympy.sympify(cells["answer"], {"w": W})
    assert sympy.simplify(sympy.diff(loss, W) - answer) == 0
    assert cells["question"] == f"Find the derivative dl/dw of l(w) = {cells['loss']}."


# --- plain and table show what csv shows ----------------------------------------------------------


@pytest.mark.parametrize("command", list(CALLS))
def test_plain_data_is_the_csv_data(command):
    """plain is csv with tabs: its last table holds the same cells as the csv file."""
    rows = list(csv.reader(io.StringIO(golden_text(f"{command}.csv.txt"))))
    last = golden_text(f"{command}.plain.txt").rstrip("\n").split("\n\n")[-1]
    assert [line.split("\t") for line in last.split("\n")] == rows


def rich_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """The boxed tables in a Rich rendering: (header cells, row cells) for each."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    for line in text.splitlines():
        if line.startswith("┃"):
            tables.append(([c.strip() for c in line.strip("┃").split("┃")], []))
        elif line.startswith("│") and tables:
            tables[-1][1].append([c.strip() for c in line.strip("│").split("│")])
    return tables


TABLE_NAMES = {"dl/dw": "grad_w"}  # the descend table's heading for csv's grad_w


@pytest.mark.parametrize("command", list(CALLS))
def test_table_shows_the_csv_values(command):
    """Each number of the table's data is the csv number rounded for the terminal (to 4
    to 8 significant digits, %g); words stay words (true/false as yes/no). Elided rows
    (⋮) are skipped."""
    rows = golden_csv(command)
    header, cells = rich_tables(golden_text(f"{command}.table.txt"))[-1]
    names = [TABLE_NAMES.get(name, name) for name in header]
    shared = [k for k, name in enumerate(names) if name in rows[0]]
    assert len(shared) >= 2, (header, list(rows[0]))
    elided = next((k for k, row in enumerate(cells) if row[0] == "⋮"), None)
    if elided is None:
        pairs = list(zip(cells, rows, strict=True))
    else:  # the first rows, a "⋮ (n rows not shown)" row, the last rows
        tail = len(cells) - elided - 1
        hidden = int(re.search(r"\((\d+) rows not shown\)", " ".join(cells[elided]))[1])
        assert elided + hidden + tail == len(rows)
        pairs = list(zip(cells[:elided], rows[:elided], strict=True))
        pairs += list(zip(cells[elided + 1 :], rows[len(rows) - tail :], strict=True))
    for shown, row in pairs:
        for k in shared:
            value = row[names[k]]
            if value in ("true", "false"):
                assert shown[k] == {"true": "yes", "false": "no"}[value]
            elif re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", value):
                roundings = {format(float(value), f".{d}g") for d in range(4, 9)}
                assert shown[k] in roundings, (names[k], shown[k], value)
            else:
                assert shown[k] == value


def test_schedule_numbers():
    """StepLR with step_size 2 and torch's gamma 0.1: lr = 0.1 * 0.1**(k // 2)."""
    rows = golden_csv("schedule")
    assert [int(row["step"]) for row in rows] == list(range(6))
    for k, row in enumerate(rows):
        assert float(row["lr"]) == pytest.approx(0.1 * 0.1 ** (k // 2), rel=1e-15)


def test_compare_numbers():
    """Plain descent from 1 with lr 0.1 is 3 - 2·0.8^k; heavy-ball momentum 0.5 by hand:
    b = -4, -5.2, -4.76, -3.588, -2.2844 gives w = 1.4, 1.92, 2.396, 2.7548, 2.98324."""
    plain, momentum = golden_csv("compare")
    assert float(plain["w"]) == pytest.approx(3 - 2 * 0.8**5, rel=1e-15)
    assert float(plain["final_loss"]) == pytest.approx(4 * 0.64**5, rel=1e-14)
    assert float(momentum["w"]) == pytest.approx(2.98324, rel=1e-14)
    assert float(momentum["final_loss"]) == pytest.approx((3 - 2.98324) ** 2, rel=1e-9)
