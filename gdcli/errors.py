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


class NumericalError(GdcliError):
    """A value became non-finite or complex."""

    exit_code = ExitCode.NUMERICAL


class Diverged(NumericalError):
    """A descent diverged at `step` (everything before it has been written)."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


class ResourceLimit(GdcliError):
    """An expression too large, too deep or too slow to handle."""

    exit_code = ExitCode.RESOURCE


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
