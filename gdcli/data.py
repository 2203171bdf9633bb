"""Training data: a CSV of examples, one per row, and the order mini-batches visit them.

The course: "We feed it training data and calculate the loss that shows us how wrong
the model is." The file has a header; each row below it is one example, and each
column binds its header name to that example's value. A vector groups columns
(`x = x1, x2, x3`) into one vector per example, so a layer `W @ x + b` works on rows
of features. The loss is written for one example; gdcli minimises the **mean** of it
over the examples.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first example
row 2 (a blank line is skipped, but still counts).

Reading is fast: NumPy's `loadtxt` reads a plain file, every row as many numbers as the
header has names. When the file is not plain (quotes, blank lines, a row with more or
fewer cells than the header, a column of words) NumPy refuses it, and the `csv` module
reads it again: only the columns the loss uses must hold numbers, and a problem is
found and worded with its exact row and column (`DataError`).

Mini-batches (`Batches`): each epoch visits every example exactly once. Shuffled, an
epoch takes the examples in the order of `rng.permutation(n)`, where `rng =
numpy.random.default_rng(seed)` is made once per run, so each epoch draws a new
permutation from the same generator; unshuffled, in the file's order. An epoch is cut
into batches of `size` consecutive examples of that order, the last one smaller when
`size` does not divide n (torch's DataLoader with `drop_last=False`).

The core opens no file: the CLI opens it (or reads stdin) and passes the stream (or the
text) in.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from gdcli.errors import BadValue, DataError, MissingColumn, MissingValue, NameRole, source_name
from gdcli.params import Shape

if TYPE_CHECKING:
    from gdcli.problem import Problem

FIRST_ROW = 2  # the spreadsheet's number of the first example (the header is row 1)


@dataclass
class Data:
    """The columns a loss uses, one value (or vector) per example."""

    source: str  # the file as given; `-` is stdin
    header: tuple[str, ...]  # every column's name, in the file's order
    columns: dict[str, Any]  # name -> float64 array, (n,) or (n, k) for a vector
    groups: dict[str, tuple[str, ...]]  # name -> the header's columns it reads
    size: int  # the number of examples
    rows: Any = field(default=None, repr=False)  # row numbers where not 2 .. n + 1

    @property
    def name(self) -> str:
        return source_name(self.source)

    @property
    def shapes(self) -> dict[str, Shape]:
        """Each column's shape for one example: () for a number, (k,) for a vector."""
        return {n: tuple(a.shape[1:]) for n, a in self.columns.items()}

    def row_numbers(self, index: Any = None) -> list[int]:
        """The spreadsheet's row numbers of some examples (a slice or an array of
        0-based positions; None: every example)."""
        import numpy as np

        index = slice(None) if index is None else index
        if self.rows is None:
            if isinstance(index, slice):
                return [i + FIRST_ROW for i in range(*index.indices(self.size))]
            return (np.asarray(index) + FIRST_ROW).tolist()  # type: ignore[no-any-return]
        return self.rows[index].tolist()  # type: ignore[no-any-return]

    def first_last(self) -> tuple[int, int]:
        if self.rows is None:
            return FIRST_ROW, FIRST_ROW + self.size - 1
        return int(self.rows[0]), int(self.rows[-1])


def parse_vectors(specs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """`x=x1,x2,x3` (repeatable) -> {"x": ("x1", "x2", "x3")}."""
    out: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        name, eq, rest = spec.partition("=")
        name = name.strip()
        columns = tuple(c.strip() for c in rest.split(","))
        if not eq or not name.isidentifier() or not all(columns):
            raise BadValue(
                "vector",
                f"cannot read {spec.strip()!r}: expected NAME=COLUMN,COLUMN,... (e.g. x=x1,x2,x3)",
            )
        if name in out:
            raise BadValue("vector", f"gives {name} twice")
        out[name] = columns
    return out


def read_data(
    source_data: str | TextIO,
    source: str,
    names: Iterable[str],
    vectors: Mapping[str, Sequence[str]] | None = None,
) -> Data:
    """The columns of a CSV that the names of a loss use. `source_data` is the CSV's
    text, or a text stream that can seek (a file opened with universal newlines, read
    twice: a scan, then NumPy); `names` are the loss's names; `vectors` groups
    columns under a name (see `parse_vectors`)."""
    if isinstance(source_data, str):
        text = source_data.removeprefix("\ufeff")  # a byte-order mark, as spreadsheets write it
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        stream: TextIO = io.StringIO(text)
    else:
        stream = source_data
    try:
        return _read(stream, source, names, vectors or {})
    except UnicodeDecodeError:
        raise DataError(source, "is not text (UTF-8)") from None


class _Scan(NamedTuple):
    header: str  # the first line
    lines: int  # physical lines, the header's included
    quotes: bool  # a double quote anywhere
    examples: bool  # anything but blanks below the header


def _scan(stream: TextIO) -> _Scan:
    """One pass over the stream in chunks (memory stays small); back to its start."""
    header = stream.readline().removeprefix("\ufeff")
    lines = 1 if header else 0
    quotes = '"' in header
    examples = False
    last = header[-1:] or "\n"
    while chunk := stream.read(1 << 20):
        lines += chunk.count("\n")
        quotes = quotes or '"' in chunk
        examples = examples or bool(chunk.strip())
        last = chunk[-1]
    if last != "\n":
        lines += 1  # a last line without its newline
    stream.seek(0)
    return _Scan(header.rstrip("\n"), lines, quotes, examples)


def _read(
    stream: TextIO, source: str, names: Iterable[str], vectors: Mapping[str, Sequence[str]]
) -> Data:
    given = {k: tuple(v) for k, v in vectors.items()}
    scan = _scan(stream)
    if not scan.header.strip() and not scan.examples:
        raise DataError(source, "is empty: no header and no examples", hint=_HEADER_HINT)
    header = _header(scan.header, source)
    position = {name: k for k, name in enumerate(header)}
    for name, members in given.items():
        if name in position:
            raise BadValue("vector", f"{name}: {source_name(source)} has a column {name} already")
        unknown = [c for c in members if c not in position]
        if unknown:
            raise BadValue(
                "vector",
                f"{name}={','.join(members)}: {source_name(source)} has no column "
                f"{', '.join(unknown)} (its columns: {', '.join(header)})",
            )
    used = sorted(set(names))
    groups: dict[str, tuple[str, ...]] = {
        n: given[n] if n in given else (n,) for n in used if n in given or n in position
    }
    if not groups:
        raise DataError(
            source,
            f"the loss uses none of its columns ({', '.join(header)})",
            hint="a column's name in the header binds it in the loss, e.g. (w*x - y)**2",
        )
    if not scan.examples:
        raise DataError(source, "has a header but no examples", hint=_HEADER_HINT)
    wanted = sorted({position[c] for cs in groups.values() for c in cs})
    values, rows = _load(stream, scan, source, header, wanted)
    # NumPy's reader gives every column (it checks each row's cells), the csv module's
    # only the wanted ones
    at = {k: j for j, k in enumerate(wanted)} if values.shape[1] < len(header) else None
    columns: dict[str, Any] = {}
    for name, cs in groups.items():
        picked = [position[c] if at is None else at[position[c]] for c in cs]
        columns[name] = _block(values, picked) if name in given else values[:, picked[0]]
    return Data(source, header, columns, groups, values.shape[0], rows)


def _block(values: Any, picked: list[int]) -> Any:
    """Columns side by side: a view where they are consecutive, else a copy."""
    first = picked[0]
    if picked == list(range(first, first + len(picked))):
        return values[:, first : first + len(picked)]
    return values[:, picked]


_HEADER_HINT = "the first row names the columns (e.g. x,y); each row below it is one example"


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _header(first: str, source: str) -> tuple[str, ...]:
    cells = next(csv.reader([first]), [])
    names = tuple(c.strip() for c in cells)
    if not any(names):
        raise DataError(source, "the header is empty", row=1, hint=_HEADER_HINT)
    if all(_number(c) is not None for c in names):
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise DataError(
            source, f"has no header: row 1 holds numbers ({shown})", row=1, hint=_HEADER_HINT
        )
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if not name:
            raise DataError(source, "has no name in the header", row=1, column=k + 1)
        if name in seen:
            raise DataError(
                source,
                f"{name} names two columns ({seen[name] + 1} and {k + 1})",
                row=1,
                column=k + 1,
                name=name,
            )
        seen[name] = k
    return names


def _load(
    stream: TextIO, scan: _Scan, source: str, header: tuple[str, ...], wanted: list[int]
) -> tuple[Any, Any]:
    """The columns (n x len(header) floats from NumPy, n x len(wanted) from the csv
    module) and the row numbers (None where they are 2 .. n + 1): NumPy reads a plain
    file (each row as many numbers as the header has names, no quotes, no blank line),
    the csv module any other."""
    import numpy as np

    if not scan.quotes:
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # every column: NumPy then checks that each row has as many cells as the first
                values = np.loadtxt(
                    stream, delimiter=",", skiprows=1, ndmin=2, comments=None, dtype=np.float64
                )
        except ValueError:
            values = None
        stream.seek(0)
        if values is not None and values.shape == (scan.lines - 1, len(header)):
            bad = ~np.isfinite(values[:, wanted])
            if bad.any():
                i, j = (int(v) for v in np.argwhere(bad)[0])
                line = next(itertools.islice(stream, i + 1, None))
                cell = line.rstrip("\n").split(",")[wanted[j]].strip()
                raise _not_finite(source, i + FIRST_ROW, wanted[j], header, cell)
            return values, None
    return _load_slowly(stream, source, header, wanted)


def _not_finite(source: str, row: int, k: int, header: tuple[str, ...], cell: str) -> DataError:
    return DataError(
        source, f"{cell!r} is not a finite number", row=row, column=k + 1, name=header[k]
    )


def _load_slowly(
    stream: TextIO, source: str, header: tuple[str, ...], wanted: list[int]
) -> tuple[Any, Any]:
    import numpy as np

    reader = csv.reader(stream)
    next(reader)
    values: list[list[float]] = []
    rows: list[int] = []
    width = len(header)
    for cells in reader:
        row = reader.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # a blank line
        if len(cells) != width:
            raise DataError(
                source,
                f"has {len(cells)} cells, but the header has {width} columns ({', '.join(header)})",
                row=row,
                hint="every row needs one cell per column (a ragged row)",
            )
        record = []
        for k in wanted:
            cell = cells[k].strip()
            if not cell:
                raise DataError(source, "is empty", row=row, column=k + 1, name=header[k])
            value = _number(cell)
            if value is None:
                raise DataError(
                    source, f"{cell!r} is not a number", row=row, column=k + 1, name=header[k]
                )
            if not math.isfinite(value):
                raise _not_finite(source, row, k, header, cell)
            record.append(value)
        values.append(record)
        rows.append(row)
    if not values:
        raise DataError(source, "has a header but no examples", hint=_HEADER_HINT)
    array = np.array(values, dtype=np.float64).reshape(len(values), len(wanted))
    numbers = np.array(rows, dtype=np.int64)
    plain = bool(np.array_equal(numbers, np.arange(FIRST_ROW, FIRST_ROW + len(rows))))
    return array, None if plain else numbers


# ---------------------------------------------------------------------------
# the problem on data


def problem_on(
    data: Data,
    text: str,
    point: str | None = None,
    *,
    sets: Sequence[str] = (),
    shapes: Sequence[str] = (),
    wrt: str | None = None,
    point_parameter: str = "at",
) -> Problem:
    """The problem of a loss written per example, its inputs the data's columns
    (besides those given by `sets`); a name with no value says which columns the
    file has."""
    from gdcli.problem import read_problem

    try:
        return read_problem(
            text,
            point,
            sets=sets,
            shapes=shapes,
            wrt=wrt,
            point_parameter=point_parameter,
            columns=data.shapes,
        )
    except MissingColumn:
        raise
    except MissingValue as exc:
        raise MissingColumn(exc.name, exc.point, data.source, data.header) from None
    except NameRole as exc:
        if exc.kind in ("column", "column_set"):
            raise NameRole(exc.name, exc.kind, exc.expression, data.name) from None
        raise


def engine_values(problem: Problem, data: Data, index: Any = None) -> dict[str, Any]:
    """The array engine's values for some examples (a slice or 0-based positions;
    None: every example): the weights at the problem's point, the data's columns,
    and each fixed input repeated for every example (a view, no copies)."""
    import numpy as np

    values: dict[str, Any] = dict(zip(problem.weights, problem.start(), strict=True))
    columns = {
        n: data.columns[n] if index is None else data.columns[n][index] for n in problem.columns
    }
    count = next(iter(columns.values())).shape[0] if columns else data.size
    for n, v in problem.input_floats().items():
        a = np.asarray(v, dtype=float)
        values[n] = np.broadcast_to(a, (count, *a.shape))
    values.update(columns)
    return values


# ---------------------------------------------------------------------------
# mini-batches


@dataclass(frozen=True)
class Batch:
    """Which examples one update uses: `index` (a slice, or an array of 0-based
    positions), in its `epoch` (from 1) as batch `number` (from 1) of it."""

    epoch: int
    number: int
    index: Any
    size: int
    last: bool  # the last batch of its epoch
    whole: bool  # every example, in the file's order


class Batches:
    """The order in which mini-batches visit n examples (see the module doc)."""

    def __init__(self, n: int, size: int | None, shuffle: bool | None, seed: int | None) -> None:
        size = n if size is None else size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise BadValue("batch_size", f"must be at least 1 (got {size})")
        seed = 0 if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise BadValue("seed", f"must be a whole number >= 0 (got {seed})")
        self.n = n
        self.size = min(size, n)
        self.asked = size
        self.shuffle = self.size < n if shuffle is None else bool(shuffle)
        self.seed = seed
        self.per_epoch = math.ceil(n / self.size)

    def steps(self, epochs: int) -> int:
        """The updates of `epochs` passes over the data."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise BadValue("epochs", f"must be at least 1 (got {epochs})")
        return epochs * self.per_epoch

    def stream(self) -> Iterator[Batch]:
        """The batches of epoch 1, 2, ... without end (a fresh generator each call)."""
        import numpy as np

        rng = np.random.default_rng(self.seed) if self.shuffle else None
        n, size = self.n, self.size
        epoch = 0
        while True:
            epoch += 1
            order = rng.permutation(n) if rng is not None else None
            for number, lo in enumerate(range(0, n, size), start=1):
                hi = min(lo + size, n)
                index = slice(lo, hi) if order is None else order[lo:hi]
                whole = order is None and lo == 0 and hi == n
                yield Batch(epoch, number, index, hi - lo, hi == n, whole)


@dataclass
class Training:
    """Training data and how a descent feeds it: the batches, the epochs asked for
    (None when the steps were), and whether each step also shows the full data's
    loss and gradient."""

    data: Data
    batches: Batches
    epochs: int | None = None
    full: bool = False
