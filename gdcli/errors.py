"""Typed errors of the core and the exit codes they map to at the CLI edge.

The core speaks in data: an error carries the name, the value, the parameter it is
about, never a command-line flag. The CLI (`gdcli.cli.errors`) words each one for
the user, with the flag that fixes it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    WRONG = 1  # check: the answer is wrong (like diff)
    BAD_INPUT = 2  # usage, unparsable or unsupported expression, bad value
    NUMERICAL = 3  # diverged, non-finite or complex value
    RESOURCE = 4  # expression too large or too slow
    INTERNAL = 70  # a bug
    IO = 74  # stdout or stdin unusable
    INTERRUPTED = 130  # Ctrl-C


class GdcliError(Exception):
    """Base of every error gdcli reports as one line (plus an optional hint)."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInput(GdcliError):
    """A value or option the user gave cannot be used."""


class ParseError(BadInput):
    """An expression or value could not be parsed; `column` is 1-based."""

    def __init__(
        self, message: str, text: str = "", column: int | None = None, hint: str | None = None
    ) -> None:
        where = f" at column {column}" if column is not None else ""
        super().__init__(f"{message}{where}", hint)
        self.text = text
        self.column = column


class ShapeError(BadInput):
    """Arrays whose shapes do not fit together."""


class ShapeMismatch(ShapeError):
    """A value whose shape is not the one its name has: `declared` is `()` when the
    loss uses the name as a number."""

    def __init__(self, name: str, value_shape: tuple[int, ...], declared: tuple[int, ...]) -> None:
        def text(shape: tuple[int, ...]) -> str:
            return "x".join(map(str, shape)) if shape else "a number"

        super().__init__(f"{name} has shape {text(value_shape)} but is declared {text(declared)}")
        self.name = name
        self.value_shape = value_shape
        self.declared = declared


class ShapeNeeded(ShapeError):
    """A weight given a number and no shape where the loss needs a vector or matrix
    (`W @ x` with W = 0): `shape` is the shape it needs, R and C for the sizes the
    loss leaves open (`Rx2`); `problem` is what went wrong without it."""

    def __init__(self, name: str, problem: str, shape: str) -> None:
        super().__init__(problem)
        self.name = name
        self.problem = problem
        self.shape = shape


class BadValue(BadInput):
    """A parameter's value is out of range. `parameter` is its name in the core
    (`steps`, `tol`, `h_max`, `lr`, ...); `problem` says what is wrong, so that the
    CLI can write the flag before it: "must be at least 1 (got 0)"."""

    def __init__(self, parameter: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{parameter} {problem}", hint)
        self.parameter = parameter
        self.problem = problem


class Conflict(BadInput):
    """Two parameters that cannot be given together (`steps` and `epochs`)."""

    def __init__(self, first: str, second: str, why: str = "") -> None:
        super().__init__(
            f"{first} and {second} cannot be given together" + (f": {why}" if why else "")
        )
        self.first = first
        self.second = second
        self.why = why


class MissingValue(BadInput):
    """A name the loss uses has no value: it is neither a weight nor an input.
    `point` is the parameter that gives weights their values (`at` or `start`)."""

    def __init__(self, name: str, point: str = "at") -> None:
        super().__init__(f"{name} has no value")
        self.name = name
        self.point = point


class NameRole(BadInput):
    """A name used in a role it cannot have: given as an input and a weight
    (`kind="both"`), a value for a name the loss does not use (`"unused"`), a
    shape for an input (`"shape_of_input"`), an array where a number is needed
    (`"array"`), or a name defined twice (`"twice"`)."""

    def __init__(self, name: str, kind: str, expression: str = "", detail: str = "") -> None:
        super().__init__(f"{name}: {kind}" + (f" ({detail})" if detail else ""))
        self.name = name
        self.kind = kind
        self.expression = expression
        self.detail = detail


class MissingColumn(MissingValue):
    """A name the loss uses that is neither a weight, an input nor a column of the
    training data: `source` is the data's file as given (`-`: stdin), `header` every
    column it has."""

    def __init__(self, name: str, point: str, source: str, header: tuple[str, ...]) -> None:
        super().__init__(name, point)
        self.message = (
            f"{name} has no value: {source_name(source)} has no column {name} "
            f"(its columns: {', '.join(header)})"
        )
        self.args = (self.message,)
        self.source = source
        self.header = header


class DataError(BadInput):
    """Training data that cannot be used. `source` is the file as given (`-`: stdin);
    `row` is 1-based as a spreadsheet numbers the rows (the header is row 1, the first
    example row 2); `column` is the column's 1-based position and `name` its name in
    the header, where they apply; `problem` says what is wrong."""

    def __init__(
        self,
        source: str,
        problem: str,
        row: int | None = None,
        column: int | None = None,
        name: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = [source_name(source)]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}" + (f" ({name})" if name else ""))
        super().__init__(f"{', '.join(where)}: {problem}", hint)
        self.source = source
        self.problem = problem
        self.row = row
        self.column = column
        self.name = name


def source_name(source: str) -> str:
    """How a message names the data's file: as given, or `stdin` for `-`."""
    return "stdin" if source == "-" else source


class BadRun(BadInput):
    """A run of a comparison that cannot be read: `index` (1-based) and `text` name it,
    `problem` says what is wrong."""

    def __init__(self, index: int, text: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"run {index} ({text!r}): {problem}", hint)
        self.index = index
        self.text = text
        self.problem = problem


class BadLet(BadInput):
    """A named layer, `NAME=EXPR`, that cannot be used. `kind` says why:
    `form` (the text is not NAME=EXPR), `twice` (NAME is defined twice), `before`
    (EXPR uses `detail`, a layer defined after it), `cycle` (the layers use each other
    in a circle, `detail` reads `a -> b -> a`), `unused` (the loss never uses NAME),
    `role` (NAME is also given a value, as a weight or an input), `name` (NAME cannot
    name anything, `detail` says why) or `expression` (EXPR does not parse, `detail`
    says where). `text` is the definition as typed."""

    def __init__(
        self, name: str, kind: str, text: str = "", detail: str = "", hint: str | None = None
    ) -> None:
        super().__init__(
            f"layer {name or text!r}: {kind}" + (f" ({detail})" if detail else ""), hint
        )
        self.name = name
        self.kind = kind
        self.text = text
        self.detail = detail


class NumericalError(GdcliError):
    """A value became non-finite or complex."""

    exit_code = ExitCode.NUMERICAL


class Diverged(NumericalError):
    """A descent diverged at `step` (everything before it has been written)."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


class GradientMismatch(NumericalError):
    """A gradient check failed: the reverse pass and central differences differ by
    `difference` (relative) at entry `entry`, more than `tolerance`."""

    def __init__(
        self, difference: float, entry: str, tolerance: float, hint: str | None = None
    ) -> None:
        super().__init__(
            f"gradient check failed: backprop and central differences differ by "
            f"{difference:.3g} (relative) at {entry}, above the tolerance {tolerance:g}",
            hint,
        )
        self.difference = difference
        self.entry = entry
        self.tolerance = tolerance


class ResourceLimit(GdcliError):
    """An expression too large, too deep or too slow to handle."""

    exit_code = ExitCode.RESOURCE


class TooLarge(ResourceLimit):
    """A parameter asks for more than gdcli does (gdcli.limits): `parameter` is its
    name in the core, `problem` says by how much, so that the CLI can write the flag."""

    def __init__(self, parameter: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{parameter} {problem}", hint)
        self.parameter = parameter
        self.problem = problem


class NotComputed(ResourceLimit):
    """A value whose digits could not be known to a float's precision (within the time
    or the working precision gdcli allows): it is not shown rather than shown wrong."""


class TooSlow(ResourceLimit):
    """The time budget ran out after `seconds` of CPU time."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"too slow: gave up after {seconds:.1f} s of CPU time")
        self.seconds = seconds


class Interrupted(GdcliError):
    """Ctrl-C: the run ends, what it computed is kept."""

    exit_code = ExitCode.INTERRUPTED


class Undecided(ResourceLimit):
    """An answer that agrees in floating point but could not be confirmed exactly
    within the time budget: neither right nor wrong is known (`checked` points
    compared in floats, `exact` of them exactly)."""

    def __init__(self, checked: int, exact: int) -> None:
        super().__init__(
            f"cannot decide in time: the answer agrees with the derivative at {checked} "
            f"points in floating point, but only {exact} could be confirmed exactly"
        )
        self.checked = checked
        self.exact = exact


class BadRow(BadInput):
    """A file of rows (a CSV) that cannot be read as it should: `source` is its name
    (`-` for stdin) and `parameter` the option that named it, `line` the line (1-based, the header is line 1), `row` the
    data row (1-based; 0 for the header or the file as a whole)."""

    def __init__(
        self, source: str, line: int, row: int, problem: str, parameter: str = "batch"
    ) -> None:
        where = f"row {row} (line {line})" if row else (f"line {line}" if line else "")
        super().__init__(f"{source}: {where}{': ' if where else ''}{problem}")
        self.parameter = parameter  # the option that named the file
        self.source = source
        self.line = line
        self.row = row
        self.problem = problem
