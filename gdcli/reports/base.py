"""A report: what a command shows, as data.

A report is a **head** (JSON keys known before any row), an optional stream of
**records** (JSON rows under `rows_key`, computed as they are written), and a
**tail** (JSON keys computed after the rows). The writers read them in that
order, so a tail can never be read before its rows by construction. Tables carry
the same rows for table, plain and csv; notes, figures and the quiet line are
read after the rows too, and so is `graph`, a computation graph to draw (a tree
on a terminal, DOT text) where a report has one. `finish` runs last and may raise
(a diverged run exits 3 after everything is written); `interrupt` is called when
Ctrl-C ends the rows.
The quiet line prints only values that exist; `undefined` says why one does not
(exit 3), so a script never reads `nan` with exit 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from gdcli.reports.figures import Figure

Cell = Any  # float | int | str | bool | None


class Table(NamedTuple):
    columns: list[str]
    rows: Iterable[Sequence[Cell]]
    title: str = ""
    records: bool = True  # the table csv writes (one per report)
    highlight: int | None = None  # row index marked in a terminal table
    highlight_text: str = ""
    head_tail: int | None = None  # on a terminal show only this many first and last rows
    shown: frozenset[int] | None = None  # ... or only these rows (by index), the rest elided
    text_columns: frozenset[str] = frozenset()  # words or formulas: aligned left


def _nothing() -> None:
    return None


class Report:
    def __init__(
        self,
        head: dict[str, Any],
        tables: Sequence[Table],
        quiet: Callable[[], list[Cell]],
        *,
        rows_key: str | None = None,
        records: Iterable[dict[str, Any]] = (),
        tail: Callable[[], dict[str, Any]] = dict,
        notes: Callable[[], list[str]] = list,
        figures: Callable[[], list[Figure]] = list,
        figure_is_data: bool = False,
        finish: Callable[[], None] = _nothing,
        interrupt: Callable[[], None] = _nothing,
        undefined: Callable[[], str] = lambda: "a value asked for is not defined here",
        graph: Any = None,
    ) -> None:
        self.head = head
        self.tables = tables
        self.quiet = quiet
        self.rows_key = rows_key
        self.records = records
        self.tail = tail
        self.notes = notes
        self.figures = figures
        self.figure_is_data = figure_is_data  # `gdcli plot`: the picture is the output
        self.finish = finish
        self.interrupt = interrupt
        self.undefined = undefined  # why a quiet value (None or nan) does not exist
        self.graph = graph  # a computation graph (`reports.graph.GraphPicture`), or None


def constant(value: Any) -> Callable[[], Any]:
    """A value already known, as the callable a report field takes."""
    return lambda: value
