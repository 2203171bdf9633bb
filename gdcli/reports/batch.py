"""check, in batch: a whole class graded in one process, one judged record per row.

The input is a CSV with a header: `loss` and `answer` are required; `id`, `wrt`,
`at`, `set`, `shape`, `rtol` and `atol` are read when present (an empty cell takes
the value given on the command line, if any); every other column is passed
through. Each record holds the passed-through columns (`id` included), then
`status` (correct, wrong, unparsable, error), `reason` (one line) and `method`.

Columns named like the record's own (`status`, `reason`, `method`, `latex`) are
replaced, so that an output can be graded again.

A row is judged as one call of check would judge it, with the same time budget.
An answer that does not parse is that row's `unparsable`; a row that runs out of
time is its `error`: neither ends the run. The file itself being bad (no header,
a missing column) ends it at once (exit 2, before any output); a row that is bad
(too many or too few fields, a loss that does not parse, a negative tolerance) is
recorded as an `error` naming the problem, every other row is still judged, and
the run then ends with exit 2 naming the first bad row. Rows are read and written
one at a time, so a large file streams.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from gdcli.answers import Tolerance, tolerance
from gdcli.budget import time_limit
from gdcli.errors import (
    BadInput,
    BadRow,
    GdcliError,
    NumericalError,
    ResourceLimit,
)
from gdcli.reports.base import Report, Table

REQUIRED = ("loss", "answer")
SETTINGS = ("wrt", "at", "set", "shape", "rtol", "atol")
STATUSES = ("correct", "wrong", "unparsable", "error")


@dataclass(frozen=True)
class Defaults:
    """What the command line gives every row (a row's own cell wins)."""

    wrt: str | None = None
    at: str | None = None
    sets: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()
    tol: Tolerance = field(default_factory=Tolerance)


@dataclass
class Outcome:
    status: str
    reason: str
    method: str = ""
    latex: str = ""


@dataclass
class _Run:
    """What the rows left behind: counts, bad rows, bugs."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    bad: list[BadRow] = field(default_factory=list)
    bugs: list[str] = field(default_factory=list)
    rows: int = 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def read_header(source: str, reader: Any) -> list[str]:
    """The header row, checked: the required columns, once each."""
    for fields in reader:
        if any(f.strip() for f in fields):
            header = [f.strip().lstrip("\ufeff") for f in fields]  # a BOM read from stdin
            break
    else:
        raise BadRow(source, 0, 0, "is empty: expected a header line with loss and answer")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadRow(
            source,
            reader.line_num,
            0,
            f"the header has no {' and no '.join(repr(c) for c in missing)} column "
            f"(its columns: {', '.join(header)})",
        )
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise BadRow(source, reader.line_num, 0, f"the header names {', '.join(twice)} twice")
    if any(not c for c in header):
        raise BadRow(source, reader.line_num, 0, "the header has a column without a name")
    return header


def _undecodable(text: str) -> bool:
    """Bytes that were not UTF-8, kept as lone surrogates by the reader."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _split(cell: str) -> tuple[str, ...]:
    """`x=[1,2];y=3` or `x=[1,2],y=3`: NAME=VALUE items (the readers split at commas)."""
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def _number(cell: str, parameter: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise BadInput(f"{parameter} must be a number >= 0 (got {cell!r})")
    return value


def judge_row(cells: dict[str, str], defaults: Defaults, seconds: float, latex: bool) -> Outcome:
    """One row's outcome. Raises BadInput when the row's question is bad (the
    loss, the point, the inputs, a tolerance): the file's fault, not the answer's."""
    from gdcli.reports.check import judge, latex_of, method_text, reason

    loss = cells.get("loss", "").strip()
    if not loss:
        raise BadInput("its loss is empty")
    wrt = cells.get("wrt", "").strip() or defaults.wrt
    at = cells.get("at", "").strip() or defaults.at
    sets = _split(cells.get("set", "")) or defaults.sets
    shapes = _split(cells.get("shape", "")) or defaults.shapes
    rtol_cell, atol_cell = cells.get("rtol", "").strip(), cells.get("atol", "").strip()
    tol = tolerance(
        _number(rtol_cell, "rtol") if rtol_cell else defaults.tol.rtol,
        _number(atol_cell, "atol") if atol_cell else defaults.tol.atol,
    )
    try:
        with time_limit(seconds):
            j = judge(
                loss, cells.get("answer", ""), wrt=wrt, at=at, sets=sets, shapes=shapes, tol=tol
            )
            if j.unreadable is not None:
                return Outcome("unparsable", _one_line(reason(j)))
            assert j.verdict is not None
            text = latex_of(j, full=False) if latex else ""
    except (ResourceLimit, NumericalError) as exc:
        return Outcome("error", _one_line(exc.message))
    status = "correct" if j.verdict.equal else "wrong"
    return Outcome(status, _one_line(reason(j)), method_text(j), text)


def _message(exc: GdcliError) -> str:
    return exc.message


def batch(
    source: str,
    stream: TextIO,
    defaults: Defaults,
    seconds: float,
    latex: bool = False,
    words: Callable[[GdcliError], str] = _message,
) -> Report:
    """The report of a batch: its rows are judged as they are written. `words` says an
    error of a row's question in the user's words (the CLI's)."""
    reader = csv.reader(stream)
    try:
        header = read_header(source, reader)
    except csv.Error as exc:
        raise BadRow(source, reader.line_num, 0, f"is not CSV ({exc})") from None
    except UnicodeDecodeError:
        raise BadRow(source, reader.line_num + 1, 0, "is not text (UTF-8)") from None
    if any(_undecodable(c) for c in header):
        raise BadRow(source, reader.line_num, 0, "the header is not text (UTF-8)")
    judged = ["status", "reason", "method", *(["latex"] if latex else [])]
    # a file graded before is graded again: its old judgement is replaced, not passed on
    passed = [c for c in header if c not in (*REQUIRED, *SETTINGS, *judged)]
    columns = [*passed, *judged]
    run = _Run()
    cache: dict[tuple[Any, ...], Outcome] = {}

    def bad(problem: str, fields: list[str]) -> list[str]:
        run.bad.append(BadRow(source, reader.line_num, run.rows, problem))
        run.counts["error"] += 1
        cells = dict(zip(header, fields, strict=False))
        return _cells(cells, passed, Outcome("error", _one_line(problem)), latex)

    def rows() -> Iterator[list[str]]:
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                run.rows += 1
                yield bad(f"is not CSV ({exc})", [])
                continue
            except UnicodeDecodeError:  # the rest cannot be read: what was judged stays
                run.rows += 1
                yield bad("is not text (UTF-8); the rows after it are not read", [])
                return
            if not any(f.strip() for f in fields):
                continue  # a blank line
            run.rows += 1
            if any(_undecodable(f) for f in fields):
                yield bad("is not text (UTF-8)", [])
                continue
            if len(fields) != len(header):
                problem = f"has {len(fields)} fields, but the header has {len(header)}" + (
                    " (quote an expression that has a comma)" if len(fields) > len(header) else ""
                )
                yield bad(problem, fields)
                continue
            cells = dict(zip(header, fields, strict=True))
            key = (*(cells.get(c, "").strip() for c in (*REQUIRED, *SETTINGS)), latex)
            try:
                outcome = cache.get(key) or judge_row(cells, defaults, seconds, latex)
            except GdcliError as exc:
                yield bad(words(exc), fields)
                continue
            except (KeyboardInterrupt, MemoryError, RecursionError):
                raise
            except Exception as exc:  # a bug: this row's error, and exit 70 at the end
                run.bugs.append(f"row {run.rows}: {type(exc).__name__}: {exc}")
                outcome = Outcome("error", f"internal error ({type(exc).__name__}): a bug in gdcli")
            cache[key] = outcome
            run.counts[outcome.status] += 1
            yield _cells(cells, passed, outcome, latex)

    shared = rows()

    def table_rows() -> Iterator[list[str]]:
        yield from shared

    def records() -> Iterator[dict[str, str]]:
        for cells in shared:
            yield dict(zip(columns, cells, strict=True))

    def drain() -> None:
        for _ in shared:
            pass

    def counts() -> dict[str, int]:
        drain()
        return dict(run.counts)

    def tail() -> dict[str, Any]:
        drain()
        return {"rows_read": run.rows, "counts": dict(run.counts)}

    def notes() -> list[str]:
        drain()
        parts = ", ".join(f"{run.counts[s]} {s}" for s in STATUSES)
        return [f"{run.rows} rows: {parts}."]

    def finish() -> None:
        drain()
        if run.bugs:
            raise _Bug(run.bugs)
        if run.bad:
            first = run.bad[0]
            more = len(run.bad) - 1
            if more:
                first.message += f" (and {more} more bad row{'s' if more > 1 else ''})"
            raise first

    return Report(
        {"batch": source, "columns": columns},
        [Table(columns, table_rows(), text_columns=frozenset(columns))],
        lambda: [counts()[s] for s in STATUSES],
        rows_key="rows",
        records=records(),
        tail=tail,
        notes=notes,
        finish=finish,
    )


class _Bug(Exception):
    """Rows that met a bug in gdcli: reported after every row is written (exit 70)."""

    def __init__(self, bugs: Sequence[str]) -> None:
        super().__init__(f"{len(bugs)} row(s) met an internal error; the first: {bugs[0]}")


def _cells(cells: dict[str, str], passed: list[str], o: Outcome, latex: bool) -> list[str]:
    out = [cells.get(c, "") for c in passed] + [o.status, o.reason, o.method]
    return out + ([o.latex] if latex else [])


__all__ = ["Defaults", "Outcome", "batch", "judge_row", "read_header"]
