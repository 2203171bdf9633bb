"""One report per command, written in the format asked for.

`emit` writes a `Report` as a Rich table, plain text, CSV, JSON or a quiet line.
Data goes to stdout; notes for people go to stderr when stdout is data (plain,
csv), and beside the tables on a terminal. Every writer reads the report in its
order: the head, the rows, then the tail, notes and figures.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from gdcli.errors import Interrupted, NumericalError
from gdcli.render.terminal import Terminal
from gdcli.reports.base import Cell, Report, Table

FORMATS = ("auto", "table", "plain", "csv", "json")
GRAPH_FORMATS = ("dot",)  # only for a report with a computation graph (backprop)
# columns of words or formulas, aligned left in a terminal table (numbers go right)
TEXT_COLUMNS = {"direction", "variable", "answer", "derivative", "partial", "status"}
TEXT_COLUMNS |= {"equal", "oscillating", "expression", "start", "formula", "quantity"}


def exact_text(x: Cell) -> str:
    """A value for plain/csv/quiet: floats in their shortest round-trip form."""
    if x is None:
        return "nan"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else ("nan" if math.isnan(x) else repr(x))
    return str(x)


def short_text(x: Cell, digits: int = 8) -> str:
    """A value for a terminal table: `digits` significant digits (plain/csv/json keep
    all of them)."""
    if x is None:
        return "—"
    short = getattr(x, "short", None)
    if callable(short):  # a cell that writes itself shorter (an array of values)
        return str(short(digits))
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _digits(columns: int, width: int) -> int:
    """As many significant digits as the terminal's width leaves each column (4 to 8):
    a wide table gets shorter numbers rather than numbers cut off."""
    return max(4, min(8, width // max(columns, 1) - 7))


def strict(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become null, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


@contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """Ctrl-C sets the event instead of raising, so that a stream of rows ends at a
    row boundary: every row computed is written whole, and the document is closed.
    (Only where Ctrl-C would raise KeyboardInterrupt, in the main thread.)"""
    event = threading.Event()
    active = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not active:
        yield event
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def write_json(report: Report, out: TextIO) -> None:
    """One strict JSON document: the head's keys, the streamed rows (one per line,
    written as they are computed), then the tail's keys. Ctrl-C during the rows
    ends the list; the tail then says so and the document stays complete."""
    out.write("{")
    first = True

    def key(name: str) -> None:
        nonlocal first
        out.write(("" if first else ",") + "\n  " + json.dumps(name) + ": ")
        first = False

    def items(data: dict[str, Any]) -> None:
        for name, value in data.items():
            key(name)
            if isinstance(value, list):
                rows(value)
            else:
                out.write(_compact(value))

    def rows(values: Iterable[Any], stop: Callable[[], bool] = lambda: False) -> None:
        out.write("[")
        for i, item in enumerate(values):
            out.write(("," if i else "") + "\n    " + _compact(item))
            if stop():
                break
        out.write("\n  ]")

    items(report.head)
    interrupted = False
    if report.rows_key is not None:
        key(report.rows_key)
        with deferred_interrupt() as ctrl_c:
            rows(report.records, ctrl_c.is_set)
        if ctrl_c.is_set():
            report.interrupt()
            interrupted = True
    items(report.tail())
    out.write("\n}\n")
    if interrupted:
        raise Interrupted("interrupted")


def _compact(value: Any) -> str:
    try:  # most records hold only finite numbers: no copy needed
        return json.dumps(value, allow_nan=False, separators=(", ", ": "))
    except (ValueError, TypeError):
        return json.dumps(strict(value), allow_nan=False, separators=(", ", ": "))


def write_csv(table: Table, out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([exact_text(c) for c in row])


def write_plain(tables: Sequence[Table], out: TextIO) -> None:
    for i, table in enumerate(tables):
        if i:
            out.write("\n")
        out.write("\t".join(table.columns) + "\n")
        for row in table.rows:
            out.write("\t".join(exact_text(c) for c in row) + "\n")


def _elided(rows: Iterable[Sequence[Cell]], keep: int | None) -> Iterator[Sequence[Cell] | int]:
    """The first and last `keep` rows; an int stands for the count of rows left out."""
    if keep is None:
        yield from rows
        return
    from collections import deque

    tail: deque[Sequence[Cell]] = deque(maxlen=keep)
    skipped = 0
    for k, row in enumerate(rows):
        if k < keep:
            yield row
            continue
        if len(tail) == keep:
            skipped += 1
        tail.append(row)
    if skipped:
        yield skipped
    yield from tail


def write_rich(tables: Sequence[Table], term: Terminal, out: TextIO) -> None:
    from rich.table import Table as RichTable

    console = term.console(out)
    for table in tables:
        rich = RichTable(title=table.title or None, title_justify="left", header_style="bold")
        digits = _digits(len(table.columns) + (table.highlight is not None), term.width)
        for k, name in enumerate(table.columns):
            text = name in TEXT_COLUMNS or name in table.text_columns
            numeric = not (k == 0 and not _numeric(name)) and not text
            # a number may wrap onto a second line, but is never cut short with "…"
            rich.add_column(name, justify="right" if numeric else "left", overflow="fold")
        if table.highlight is not None:
            rich.add_column("")
        for k, row in enumerate(_elided(table.rows, table.head_tail)):
            if isinstance(row, int):
                cells = ["⋮"] * (len(table.columns) - 1) + [f"({row} rows not shown)"]
                rich.add_row(*cells, *([""] if table.highlight is not None else []), style="dim")
                continue
            cells = [short_text(c, digits) for c in row]
            if table.highlight is not None:
                marked = k == table.highlight
                cells.append(table.highlight_text if marked else "")
                rich.add_row(*cells, style="bold green" if marked else None)
            else:
                rich.add_row(*cells)
        console.print(rich)


def _numeric(name: str) -> bool:
    return name in ("step", "h", "lr")


def emit(
    report: Report,
    fmt: str,
    term: Terminal,
    *,
    quiet: bool = False,
    plot: bool = True,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    out = out or sys.stdout
    err = err or sys.stderr
    missing = False
    try:
        if quiet:
            missing = _write_quiet(report, out)
        else:
            _write(report, fmt, term, plot, out, err)
        out.flush()
    except BrokenPipeError:
        raise PipeClosed from None
    report.finish()
    if missing:
        raise NumericalError(report.undefined())


def _defined(value: Cell) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def _write_quiet(report: Report, out: TextIO) -> bool:
    """The values that exist, on one line; True when one did not."""
    values = report.quiet()
    shown = [v for v in values if _defined(v)]
    if shown:
        out.write(" ".join(exact_text(v) for v in shown) + "\n")
    return len(shown) < len(values)


class PipeClosed(Exception):
    """The reader of stdout went away (`gdcli ... | head`): not an error of ours.
    Not an OSError, so that Click does not turn it into exit 1 on the way out."""


def _write(report: Report, fmt: str, term: Terminal, plot: bool, out: TextIO, err: TextIO) -> None:
    from gdcli.render.plots import draw

    fmt = resolve_format(fmt, term)
    if report.figure_is_data and fmt in ("table", "plain"):
        color = term.color and fmt == "table"
        for figure in report.figures():
            out.write(draw(figure, min(term.width, 100), 24, color) + "\n")
        note_stream = out if fmt == "table" else err
        for note in report.notes():
            note_stream.write(note + "\n")
    elif fmt == "json":
        write_json(report, out)
    elif fmt in GRAPH_FORMATS:
        from gdcli.errors import BadValue
        from gdcli.render.dot import write_dot

        if report.graph is None:
            raise BadValue("format", f"{fmt} draws a computation graph: only backprop has one")
        write_dot(report.graph, out)
    elif fmt == "csv":
        write_csv(next(t for t in report.tables if t.records), out)
    elif fmt == "plain":
        write_plain(report.tables, out)
        for note in report.notes():
            err.write(note + "\n")
    else:
        write_rich(report.tables, term, out)
        console = term.console(out)
        for note in report.notes():
            console.print(note)
        if plot:
            for figure in report.figures():
                out.write(draw(figure, min(term.width, 100), 22, term.color) + "\n")
            if report.graph is not None:
                from gdcli.render.tree import write_tree

                write_tree(report.graph, term, out)


def resolve_format(fmt: str, term: Terminal) -> str:
    if fmt == "auto":
        return "table" if term.is_tty else "plain"
    return fmt
