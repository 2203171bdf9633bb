"""The README's "Limits" table says what gdcli/limits.py holds: every number in it is
the constant's value (so the documentation cannot drift), every bound of limits.py has
a row, and crossing a bound ends with the exit code its row gives."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from gdcli import limits

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")

# the start of a row's first cell -> what its "at most" cell states, in order
ROWS: dict[str, tuple[str | float, ...]] = {  # a name: that constant of limits.py
    "characters of an expression": ("MAX_LENGTH",),
    "parts (syntax-tree nodes)": ("MAX_NODES",),
    "nesting depth": ("MAX_DEPTH",),
    "a number typed, in size": (1.8e308, 0, 5e-324),  # the float range, as written
    "decimal exponent of a number typed": ("MAX_DECIMAL_EXPONENT",),
    "bits of an exact constant": ("MAX_BITS",),
    "constant exponent on an expression of weights": ("MAX_SYMBOLIC_EXPONENT",),
    "arguments of `max`": ("MAX_ARGUMENTS",),
    "entries of one array": ("MAX_ENTRIES",),
    "dimensions of an array": ("MAX_DIMENSIONS",),
    "multiplications in one symbolic matrix product": ("MAX_PRODUCT_TERMS",),
    "entries of one value in the array engine": ("MAX_NODE_ENTRIES",),
    "CPU seconds of symbolic work": ("DEFAULT_TIME_LIMIT",),
    "a value of `GDCLI_TIME_LIMIT`": ("MAX_TIME_LIMIT", 0),
    "updates of one run": ("MAX_UPDATES",),
    "N of a grid": ("MAX_RUNS",),
    "runs × weight entries of one sweep": ("MAX_SWEEP_VALUES",),
    "numbers `compare --trace` keeps": ("MAX_TRACE_VALUES",),
    "updates of a `schedule` preview": ("MAX_SCHEDULE_STEPS",),
    "values of h": ("MAX_H_VALUES",),
    "width of `plot --range`": (),
    "bytes of a compiled loss in the cache": ("MAX_CACHE_ENTRY",),
    "bytes of a result in the cache": ("MAX_RESULT_ENTRY",),
}
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])")


def table() -> dict[str, tuple[str, str]]:
    """The Limits section's rows: first cell -> (at most, past it)."""
    section = TEXT.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("bound", "---"):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def row(start: str) -> tuple[str, str]:
    (found,) = [v for k, v in table().items() if k.startswith(start)]
    return found


def documented_code(start: str) -> int:
    match = re.match(r"exit (\d+)", row(start)[1])
    assert match, row(start)
    return int(match.group(1))


def test_every_row_is_known_and_every_known_row_is_there() -> None:
    rows = table()
    for first in rows:
        assert sum(first.startswith(s) for s in ROWS) == 1, first
    for start in ROWS:
        assert any(first.startswith(start) for first in rows), start


@pytest.mark.parametrize("start", list(ROWS))
def test_the_numbers_are_the_constants(start: str) -> None:
    numbers = [float(n) for n in NUMBER.findall(row(start)[0])]
    expected = [getattr(limits, v) if isinstance(v, str) else v for v in ROWS[start]]
    assert numbers == expected, (row(start), ROWS[start])


def test_every_bound_of_limits_py_has_a_row() -> None:
    bounds = {n for n in vars(limits) if n.startswith("MAX_")} | {"DEFAULT_TIME_LIMIT"}
    documented = {v for values in ROWS.values() for v in values if isinstance(v, str)}
    assert bounds == documented


def test_the_float_range_is_the_one_written() -> None:
    assert float(f"{sys.float_info.max:.2g}") == 1.8e308
    assert 5e-324 == 2.0**-1074  # the smallest subnormal


# > 10 ms of SymPy even with its caches warm from the tests before
SLOW = (
    "tanh(sin(exp(w)))**3 + log(1 + w**2)**5 + atan(w**3 - w)**2"
    " + sqrt(1 + sin(w)**2)**7*exp(tanh(w**5 - cos(w)))*log(2 + sin(w)**3)"
)


def _plus(n: int) -> str:
    return "+".join(["w"] * n)


CROSSINGS = [
    ("characters of an expression", ["derive", "w+" * (limits.MAX_LENGTH // 2) + "w"], {}),
    ("parts (syntax-tree nodes)", ["derive", _plus(limits.MAX_NODES // 2 + 1)], {}),
    ("nesting depth", ["derive", "sin(" * (limits.MAX_DEPTH + 1) + "w" + ")" * (limits.MAX_DEPTH + 1)], {}),
    ("a number typed, in size", ["derive", "w*2e308"], {}),
    ("decimal exponent of a number typed", ["derive", f"w*1e-{limits.MAX_DECIMAL_EXPONENT + 1}"], {}),
    ("bits of an exact constant", ["derive", f"w*2**{limits.MAX_BITS + 1}"], {}),
    ("constant exponent on an expression", ["derive", f"w**{limits.MAX_SYMBOLIC_EXPONENT + 1}"], {}),
    ("arguments of `max`", ["derive", f"max({','.join(['w'] * (limits.MAX_ARGUMENTS + 1))})"], {}),
    ("entries of one array", ["grad", "sum(W**2)", "--shape", f"W={limits.MAX_ENTRIES + 1}"], {}),
    ("dimensions of an array", ["grad", "sum([[[w]]])"], {}),
    ("CPU seconds of symbolic work", ["derive", SLOW], {"GDCLI_TIME_LIMIT": "1e-3"}),
    ("a value of `GDCLI_TIME_LIMIT`", ["derive", "w**2"], {"GDCLI_TIME_LIMIT": f"{limits.MAX_TIME_LIMIT * 2:g}"}),
    ("updates of one run", ["descend", "--steps", str(limits.MAX_UPDATES + 1)], {}),
    ("N of a grid", ["sweep", "--lr", f"0:1:{limits.MAX_RUNS + 1}"], {}),
    ("updates of a `schedule` preview", ["schedule", "cosine", "--t-max", "10", "--steps", str(limits.MAX_SCHEDULE_STEPS + 1)], {}),
    ("values of h", ["derive", "w**2", "--h-max", "1e100", "--h-min", f"1e{100 - limits.MAX_H_VALUES}"], {}),
    ("width of `plot --range`", ["plot", "--range", "-1e308:1e308"], {}),
]  # fmt: skip


@pytest.mark.parametrize(("start", "args", "env"), CROSSINGS, ids=[c[0] for c in CROSSINGS])
def test_crossing_a_bound_gives_its_exit_code(
    start: str, args: list[str], env: dict[str, str]
) -> None:
    r = run_cli(args, env=env)
    assert r.code == documented_code(start), r.err
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("gdcli: error: "), r.err
    assert all(ln.startswith(("gdcli: error: ", "hint: ")) for ln in lines), r.err
    quoted = re.search(r'"([^"]+)"', row(start)[1])
    if quoted:
        assert quoted.group(1) in lines[0], (quoted.group(1), lines[0])


@pytest.mark.parametrize(
    "args",
    [
        ["derive", f"max({','.join(['w'] * limits.MAX_ARGUMENTS)})"],
        ["grad", "sum(W**2)", "--shape", f"W={limits.MAX_ENTRIES}", "--at", "W=1"],
        ["derive", f"w**{limits.MAX_SYMBOLIC_EXPONENT}", "--at", "1"],
    ],
    ids=["max arguments", "array entries", "exponent"],
)
def test_at_a_bound_it_still_works(args: list[str]) -> None:
    assert run_cli(args).code == 0
