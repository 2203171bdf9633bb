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
from typing import Any, NamedTuple, TextIO

from gdcli.compile.chunks import FLOAT, INT, TEXT, Chunk
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


SLICE = 2048  # characters of one write: at most 8 KB of UTF-8, a stream's buffer


def put(out: TextIO, text: str) -> None:
    """Write a long text in slices that fit the stream's buffer. CPython's buffered
    writer can drop the rest of a write longer than its buffer when a signal handler
    runs while a pipe is full (the deferred Ctrl-C): the document would be cut."""
    if len(text) <= SLICE:
        out.write(text)
        return
    for start in range(0, len(text), SLICE):
        out.write(text[start : start + SLICE])


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
                put(out, _compact(value))

    def rows(values: Iterable[Any], stop: Callable[[], bool] = lambda: False) -> None:
        out.write("[")
        skeleton = getattr(values, "skeleton", None)
        template = ",\n    " + _json_template(skeleton) if skeleton is not None else ""
        written = 0
        for item in values.chunked(str) if skeleton is not None else values:  # type: ignore[attr-defined]
            if isinstance(item, Chunk):  # many records in one go (every float is finite)
                text = (template * item.rows) % tuple(item.values)
                put(out, text if written else text[1:])
                written += item.rows
            else:
                out.write(("," if written else "") + "\n    " + _compact(item))
                written += 1
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


_PLACES = {INT: "%d", FLOAT: "%r", TEXT: "%s"}  # a chunk's values in a %-template


def _json_template(skeleton: dict[str, Any]) -> str:
    """One record as a %-template: `_compact`'s text with a place for every leaf (for
    finite floats json and %r write the same shortest round-trip text)."""
    marks = {INT: "\x00int", FLOAT: "\x00float"}

    def marked(value: Any) -> Any:
        return {k: marked(v) for k, v in value.items()} if isinstance(value, dict) else marks[value]

    text = json.dumps(marked(skeleton), separators=(", ", ": ")).replace("%", "%%")
    for kind, mark in marks.items():
        text = text.replace(json.dumps(mark), _PLACES[kind])
    return text


def _write_rows(table: Table, out: TextIO, separator: str, single: Callable[[Any], Any]) -> None:
    """A table's rows: chunks as one %-template each (its text values quoted by
    `single`'s rules already), single rows through `single`. Ctrl-C ends the rows at
    a row boundary (a cut row would be a wrong number), then exit 130."""
    kinds = getattr(table.rows, "kinds", None)
    template = separator.join(_PLACES[k] for k in kinds or ()) + "\n"
    encode = _csv_cell if separator == "," else str
    items = table.rows if kinds is None else table.rows.chunked(encode)  # type: ignore[attr-defined]
    with deferred_interrupt() as ctrl_c:
        for item in items:
            if isinstance(item, Chunk):
                put(out, (template * item.rows) % tuple(item.values))
            else:
                single(item)
            if ctrl_c.is_set():
                break
    if ctrl_c.is_set():
        raise Interrupted("interrupted")


def _csv_cell(text: str) -> str:
    """A text as the csv module writes it in a row (quoted where it must be)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([text, ""])
    return buffer.getvalue()[:-2]


def write_csv(table: Table, out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    _write_rows(table, out, ",", lambda row: writer.writerow([exact_text(c) for c in row]))


def write_plain(tables: Sequence[Table], out: TextIO) -> None:
    for i, table in enumerate(tables):
        if i:
            out.write("\n")
        out.write("\t".join(table.columns) + "\n")
        _write_rows(
            table, out, "\t", lambda row: out.write("\t".join(exact_text(c) for c in row) + "\n")
        )


def _elided(
    rows: Iterable[Sequence[Cell]], keep: int | None, shown: frozenset[int] | None = None
) -> Iterator[Sequence[Cell] | int]:
    """The first and last `keep` rows, or the rows whose index is in `shown`; an int
    stands for the count of rows left out."""
    if shown is not None:
        skipped = 0
        for k, row in enumerate(rows):
            if k not in shown:
                skipped += 1
                continue
            if skipped:
                yield skipped
            skipped = 0
            yield row
        if skipped:
            yield skipped
        return
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
    """Rich tables as wide as the terminal allows. A number is never broken across
    lines: fewer digits first, then words and formulas wrap (between words, or after
    `*`, `/`, `,`, `(`, `=`, `_` where no number is cut), and when even that does not
    fit the columns on the right are left out, and a line under the table says so."""
    from rich.table import Table as RichTable

    console = term.console(out)
    for table in tables:
        layout = _layout(table, term.width)
        rich = RichTable(title=table.title or None, title_justify="left", header_style="bold")
        for k in layout.kept:
            rich.add_column(
                "\n".join(wrap_cell(layout.headers[k], layout.widths[k])),
                justify="right" if layout.numeric[k] else "left",
                width=layout.widths[k],
                no_wrap=True,
                overflow="fold",
            )
        for cells, style in layout.rows:
            shown = ["\n".join(wrap_cell(cells[k], layout.widths[k])) for k in layout.kept]
            rich.add_row(*shown, style=style)
        console.print(rich)
        if layout.dropped:
            left_out = ", ".join(layout.headers[k] for k in layout.dropped if layout.headers[k])
            console.print(
                f"(at {term.width} columns the table leaves out {left_out}: a wider terminal "
                "or --format plain shows every column)"
            )


class _Layout(NamedTuple):
    headers: list[str]
    numeric: list[bool]
    rows: list[tuple[list[str], str | None]]  # each row's cell texts and its style
    widths: list[int]
    kept: list[int]  # the columns shown, in order
    dropped: list[int]


_ELIDED = "({} rows not shown)"


def _layout(table: Table, width: int) -> _Layout:
    """The digits, the width of every column and the columns kept, so that the table
    fits `width` with every number on one line."""
    headers = list(table.columns) + ([""] if table.highlight is not None else [])
    numeric = [
        not (k == 0 and not _numeric(name))
        and name not in TEXT_COLUMNS
        and name not in table.text_columns
        for k, name in enumerate(table.columns)
    ] + ([False] if table.highlight is not None else [])
    raw = list(_elided(table.rows, table.head_tail, table.shown))
    n = len(headers)
    room = width - 3 * n - 1  # each column has a border and a space either side
    # the most digits (down to 5) with which no cell wraps; else the most with
    # which no number breaks; else 4, and columns left out
    tried: list[_Measured] = []
    for digits in range(_digits(n, width), 3, -1):
        tried.append(_measure(_cells(table, raw, digits, n), headers))
        if digits >= 5 and sum(tried[-1].natural) <= room:
            chosen = tried[-1]
            break
    else:
        chosen = next((t for t in tried if sum(t.least) <= room), tried[-1])
    rows, least = chosen.rows, chosen.least
    wants = [chosen.cells, chosen.natural]
    # the count of rows left out goes into the last column shown
    elided = max((_longest_piece(c[-1]) for c, style in rows if style == "dim"), default=0)

    def least_with(kept: list[int]) -> list[int]:
        out = list(least)
        out[kept[-1]] = max(out[kept[-1]], elided)
        return out

    kept = list(range(n))
    while len(kept) > 1 and sum(least_with(kept)[k] for k in kept) > width - 3 * len(kept) - 1:
        kept.pop(-2 if table.highlight is not None and len(kept) > 2 else -1)
    last = kept[-1]
    counted = list(chosen.natural)  # room left over: the count of rows on one line
    counted[last] = max([counted[last], *(_longest_line(c[-1]) for c, st in rows if st == "dim")])
    widths = _share([*wants, counted], least_with(kept), kept, width - 3 * len(kept) - 1)
    rows = [
        (
            cells if style != "dim" else [*cells[:last], cells[-1], *cells[last + 1 :]],
            style,
        )
        for cells, style in rows
    ]
    dropped = [k for k in range(n) if k not in kept]
    return _Layout(headers, numeric, rows, widths, kept, dropped)


class _Measured(NamedTuple):
    rows: list[tuple[list[str], str | None]]
    cells: list[int]  # each column's widest cell
    natural: list[int]  # ... or header
    least: list[int]  # each column's widest piece that cannot break


def _measure(rows: list[tuple[list[str], str | None]], headers: list[str]) -> _Measured:
    n = len(headers)
    # the count of rows left out wraps as it must: it sets no column's natural width
    cells = [
        max((_longest_line(c[k]) for c, style in rows if style != "dim"), default=0)
        for k in range(n)
    ]
    natural = [max(cells[k], _longest_line(headers[k])) for k in range(n)]
    least = [
        max([_longest_piece(headers[k]), *(_longest_piece(c[k]) for c, _ in rows)])
        for k in range(n)
    ]
    return _Measured(rows, cells, natural, least)


def _cells(
    table: Table, raw: list[Sequence[Cell] | int], digits: int, n: int
) -> list[tuple[list[str], str | None]]:
    """Every row's cell texts, with `digits` significant digits; a row of rows left
    out reads ⋮, with their count in its last cell."""
    out: list[tuple[list[str], str | None]] = []
    for k, row in enumerate(raw):
        if isinstance(row, int):
            out.append((["⋮"] * (n - 1) + [_ELIDED.format(row)], "dim"))
            continue
        cells = [short_text(c, digits) for c in row]
        style = None
        if table.highlight is not None:
            marked = k == table.highlight
            cells.append(table.highlight_text if marked else "")
            style = "bold green" if marked else None
        out.append((cells, style))
    return out


def _share(wants: list[list[int]], least: list[int], kept: list[int], room: int) -> list[int]:
    """Each kept column's width: at least its longest unbreakable piece; then the room
    left goes first to the columns whose cells fit on one line with the least more
    (`wants[0]`: the widest cell of each column), the cheapest first, and what remains
    to the others in proportion to what each still lacks; then the same for the
    headers (`wants[1]`), so that as many rows as possible take one line."""
    widths = [least[k] if k in kept else 0 for k in range(len(least))]
    spare = room - sum(widths)
    for want in wants:
        for k in sorted(kept, key=lambda k: want[k] - widths[k]):
            if 0 < want[k] - widths[k] <= spare:
                spare -= want[k] - widths[k]
                widths[k] = want[k]
        lacking = {k: want[k] - widths[k] for k in kept if want[k] > widths[k]}
        total = sum(lacking.values())
        if not (total and spare):
            continue
        shares = {k: spare * v // total for k, v in lacking.items()}
        for k in sorted(lacking, key=lambda k: lacking[k] - shares[k], reverse=True):
            if sum(shares.values()) < spare and shares[k] < lacking[k]:
                shares[k] += 1  # the remainder, one each to those lacking most
        for k, more in shares.items():
            widths[k] += more
            spare -= more
    return widths


def _text_width(text: str) -> int:
    from rich.cells import cell_len

    return int(cell_len(text))


def _longest_line(text: str) -> int:
    return max((_text_width(line) for line in text.split("\n")), default=0)


def _longest_piece(text: str) -> int:
    return max((_text_width(p) for word in text.split() for p in _pieces(word)), default=0)


_BREAKS = "*/,([=_"


def _pieces(word: str) -> list[str]:
    """A word cut after each of `*/,([=_` that stands between two things that are
    not both digits: `2*Heaviside(w)` -> `2*`, `Heaviside(`, `w)`; `2/3` and `1e-05`
    stay whole (a number is never cut)."""
    pieces: list[str] = []
    start = 0
    for i, ch in enumerate(word[:-1]):
        if ch in _BREAKS and not (word[i - 1 : i].isdigit() and word[i + 1].isdigit()):
            pieces.append(word[start : i + 1])
            start = i + 1
    pieces.append(word[start:])
    return [p for p in pieces if p]


def wrap_cell(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells: words kept whole where they fit, a
    longer word cut into its pieces (`_pieces`), a piece cut only if it alone is
    wider than the column (never, for the widths `_layout` chooses)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if _text_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
                line = ""
            for piece in _pieces(word) if _text_width(word) > width else [word]:
                if _text_width(line + piece) <= width:
                    line += piece
                    continue
                if line:
                    lines.append(line)
                while _text_width(piece) > width:
                    lines.append(piece[:width])
                    piece = piece[width:]
                line = piece
        lines.append(line)
    return lines


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
    fmt = resolve_format(fmt, term)
    if report.figure_is_data and fmt in ("table", "plain"):
        from gdcli.render.plots import draw

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
            from gdcli.render.plots import draw

            for figure in report.figures():
                out.write(draw(figure, min(term.width, 100), 22, term.color) + "\n")
            if report.graph is not None:
                from gdcli.render.tree import write_tree

                write_tree(report.graph, term, out)


def resolve_format(fmt: str, term: Terminal) -> str:
    if fmt == "auto":
        return "table" if term.is_tty else "plain"
    return fmt
