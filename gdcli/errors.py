"""Typed errors of the core and the exit codes they map to at the CLI edge."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    WRONG = 1  # check: the answer is wrong (like diff)
    BAD_INPUT = 2  # usage, unparsable or unsupported expression, bad value
    NUMERICAL = 3  # diverged, non-finite or complex value
    RESOURCE = 4  # expression too large or too slow
    INTERNAL = 70  # a bug


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


class NumericalError(GdcliError):
    """A value became non-finite or complex."""

    exit_code = ExitCode.NUMERICAL


class ResourceLimit(GdcliError):
    """An expression too large, too deep or too slow to handle."""

    exit_code = ExitCode.RESOURCE
