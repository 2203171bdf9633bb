"""Numbers are never broken across lines in a terminal table (issue 13, item 8).

At every width from 60 columns up, each number of a table (as plain text gives it,
every digit) is shown whole on one line of the terminal table, rounded to some
number of significant digits, unless its column is left out, which a line under the
table says. No line is wider than the terminal.
"""

from __future__ import annotations

import math
import random
import re

import pytest
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcli.render.output import _pieces, wrap_cell, write_rich
from gdcli.render.terminal import Terminal
from gdcli.reports.base import Table

CALLS = {
    "sweep of two weights": [
        "sweep", "(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=0", "--lr", "0.01:0.2:9",
        "--steps", "100",
    ],
    "descend with state": ["descend", "--momentum", "0.9", "--show-state", "--steps", "12"],
    "descend of a matrix": [
        "descend", "sum((W @ x - y)**2)", "--set", "x=[1,2,3]", "--set", "y=[1,0]",
        "--start", "W=0", "--shape", "W=2x3", "--lr", "0.02", "--steps", "6",
    ],
    "derive": ["derive", "sin(w)**2 + max(0, 3*w + 2)", "--at", "0.7"],
    "derive step by step": ["derive", "sigmoid(3*w + 1)**2 * max(0, w - 1)", "--steps", "--at", "2"],
    "grad of a matrix": [
        "grad", "mean((tanh(W @ x) - y)**2)", "--set", "x=[1,-1,2]", "--set", "y=[0,1]",
        "--at", "W=[[0.1,0.2,0.3],[0,0,0.5]]",
    ],
    "compare": [
        "compare", "(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=0", "--run", "sgd lr=0.04",
        "--run", "sgd lr=0.04 momentum=0.9", "--run", "adam lr=0.3", "--steps", "30",
    ],
    "schedule": ["schedule", "onecycle", "--max-lr", "0.1", "--total-steps", "12", "--steps", "12"],
    "slope of several h": ["slope", "--h", "1,0.1,0.01,1e-5"],
    "check": ["check", "softplus(w)**2", "2*softplus(w)*sigmoid(w)"],
}  # fmt: skip
WIDTHS = sorted({*range(60, 80), *range(80, 201, 7), 200})
NUMBER = re.compile(r"^-?(\d+\.?\d*(e[+-]?\d+)?|inf|nan)$")


def plain_numbers(out: str) -> list[tuple[int, dict[int, list[float]]]]:
    """For each table of the plain output: its count of columns, and the numbers of
    each column that has numbers."""
    tables = []
    for block in out.strip("\n").split("\n\n"):
        header, *rows = block.split("\n")
        found: dict[int, list[float]] = {}
        for row in rows:
            for k, cell in enumerate(row.split("\t")):
                if NUMBER.match(cell) and cell not in ("inf", "nan"):
                    found.setdefault(k, []).append(float(cell))
        tables.append((len(header.split("\t")), found))
    return tables


def assert_whole(plain: tuple[int, dict[int, list[float]]], rich: tuple[int, set[str]]) -> None:
    """Every column of numbers is shown whole, each number on one line, or left out
    (no more columns than the table lacks)."""
    count, found = plain
    shown, cells = rich
    absent = [k for k, values in found.items() if not all(shown_forms(v) & cells for v in values)]
    assert len(absent) <= max(0, count - shown), (absent, count, shown, found)


def rich_tables(out: str) -> list[tuple[int, set[str]]]:
    """For each terminal table: how many columns it shows, and its cells' lines."""
    tables: list[tuple[int, set[str]]] = []
    for line in out.splitlines():
        if line.startswith("┏"):
            tables.append((line.count("┳") + 1, set()))
        elif line[:1] in "│┃" and tables:
            tables[-1][1].update(c.strip() for c in re.split("[│┃]", line))
    return tables


def shown_forms(value: float) -> set[str]:
    forms = {f"{value:.{d}g}" for d in range(4, 9)}
    if value == int(value) and abs(value) < 1e15:
        forms.add(str(int(value)))
    return forms


@pytest.mark.parametrize("name", list(CALLS))
def test_no_number_is_broken_at_any_width(name):
    args = [*CALLS[name], "--no-plot"]
    plain = run_cli([*args, "-f", "plain"])
    assert plain.code in (0, 1), plain.err
    numbers = plain_numbers(plain.out)
    assert any(found for _, found in numbers) or name == "check"  # check's cells are words
    for width in WIDTHS:
        r = run_cli([*args, "-f", "table"], env={"COLUMNS": str(width)})
        assert r.code == plain.code, r.err
        lines = r.out.splitlines()
        assert all(len(line) <= width for line in lines), (width, max(map(len, lines)))
        tables = rich_tables(r.out)  # the plain tables first (a matrix adds tables after)
        assert len(tables) >= len(numbers)
        for plain_table, rich_table in zip(numbers, tables, strict=False):
            assert_whole(plain_table, rich_table)


def test_a_narrow_terminal_leaves_columns_out_and_says_which():
    r = run_cli([*CALLS["sweep of two weights"], "-f", "table", "--no-plot"], env={"COLUMNS": "60"})
    notice = [line for line in r.out.splitlines() if "leaves out" in line or "plain shows" in line]
    assert " ".join(" ".join(notice).split()) == (
        "(at 60 columns the table leaves out oscillating, x, y: a wider terminal or --format "
        "plain shows every column)"
    )
    wide = run_cli(
        [*CALLS["sweep of two weights"], "-f", "table", "--no-plot"], env={"COLUMNS": "120"}
    )
    assert "leaves out" not in wide.out


def test_the_issues_example_keeps_1_56e_17_whole():
    """A two-weight sweep whose final loss is about 1.56e-17: once shown as 1.5579e-1 / 7."""
    args = ["sweep", "(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=0", "--lr", "0.05,0.06",
            "--steps", "300", "--no-plot"]  # fmt: skip
    plain = run_cli([*args, "-f", "plain"])
    losses = plain_numbers(plain.out)[0][1][3]  # final_loss
    assert any(1e-18 < v < 1e-15 for v in losses), losses
    for width in (60, 64, 70, 80):
        r = run_cli([*args, "-f", "table"], env={"COLUMNS": str(width)})
        (shown, cells), *_ = rich_tables(r.out)
        assert shown > 3
        for v in losses:
            assert shown_forms(v) & cells, (width, v)


# --- the wrapping itself --------------------------------------------------------------------------

TOKENS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{v:.6g}"),
    st.integers(-(10**9), 10**9).map(str),
    st.sampled_from(["w", "x_1", "W[1,2]", "2/3", "1e-05", "Heaviside(", ")", "*", "/", ", ",
                     " + ", " - ", "max(0,", "slope", "=", " = ", "(", "_"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, min_size=1, max_size=12).map("".join), st.integers(1, 40))
def test_wrapping_never_cuts_a_number(text, width):
    numbers = re.findall(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:/\d+)?", text)
    widest = max((len(p) for word in text.split() for p in _pieces(word)), default=0)
    lines = wrap_cell(text, max(width, widest))
    assert all(len(line) <= max(width, widest) for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    joined_lines = "\n".join(lines)
    for number in numbers:
        assert number in joined_lines.replace("\n", "") and any(number in line for line in lines), (
            text,
            lines,
            number,
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=6, max_size=6),
        min_size=1,
        max_size=8,
    ),
    st.integers(60, 200),
)
def test_a_table_of_any_numbers_fits_any_width(rows, width):
    """Random numbers in six columns, some with long headers and a text column: every
    number shown whole on one line (at 4 digits or more), or its column said left out."""
    import io

    columns = ["step", "a_rather_long_header", "loss", "grad_w", "direction", "z"]
    words = ["slope > 0, so w decreases", "2*Heaviside(W_1_1 + 2*W_1_2)*Max(0, W_1_1)"]
    data = [[*row[:4], random.Random(k).choice(words), row[5]] for k, row in enumerate(rows)]
    out = io.StringIO()
    write_rich([Table(columns, data)], Terminal(True, False, width), out)
    text = out.getvalue()
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    ((shown, cells),) = rich_tables(text)
    for row in data:
        for k, value in enumerate(row):
            if isinstance(value, str) or k >= shown or not math.isfinite(value):
                continue
            assert shown_forms(value) & cells, (width, k, value, text)
