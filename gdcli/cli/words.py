"""The core's errors in the user's words: flags, hints, one line each.

The core raises data (a parameter's name, a name of the loss, shapes); this module
is the one place that knows how the command line spells them.
"""

from __future__ import annotations

from gdcli.errors import (
    BadRow,
    BadValue,
    Conflict,
    Diverged,
    GdcliError,
    MissingValue,
    NameRole,
    ShapeMismatch,
    TooSlow,
)
from gdcli.params import shape_text

# parameters whose flag is not just `--` + the name with `-` for `_`
_FLAGS = {"set": "--set", "shape": "--shape"}


def flag(parameter: str) -> str:
    return _FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def words(exc: GdcliError) -> tuple[str, str | None]:
    """(message, hint) for an error."""
    if isinstance(exc, MissingValue):
        return (
            f"{exc.name} has no value: give it with --set {exc.name}=… (an input) "
            f"or {flag(exc.point)} {exc.name}=… (a weight)",
            None,
        )
    if isinstance(exc, BadRow):
        return f"{flag(exc.parameter)} {exc.message}", exc.hint
    if isinstance(exc, BadValue):
        return f"{flag(exc.parameter)} {exc.problem}", exc.hint
    if isinstance(exc, Conflict):
        why = f": {exc.why}" if exc.why else ""
        return f"{flag(exc.first)} and {flag(exc.second)} cannot be given together{why}", None
    if isinstance(exc, ShapeMismatch):
        value = shape_text(exc.value_shape)
        if not exc.declared:
            return (
                f"{exc.name} is a number in this loss, but its value has shape {value}",
                f"declare its shape with --shape {exc.name}={value}",
            )
        return f"{exc.name} has shape {value} but --shape says {shape_text(exc.declared)}", None
    if isinstance(exc, NameRole):
        return _role(exc)
    if isinstance(exc, TooSlow):
        return exc.message, "simplify the expression (or raise GDCLI_TIME_LIMIT)"
    if isinstance(exc, Diverged):
        return exc.message, "try a smaller --lr"
    return exc.message, exc.hint


def _role(exc: NameRole) -> tuple[str, str | None]:
    name, kind = exc.name, exc.kind
    if kind == "both":
        return (
            f"{name} is given a fixed value (--set, an input) and is also a weight",
            "an input never moves and a weight always does: give it one role",
        )
    if kind == "unused":
        names = exc.detail or "none"
        return f"{name} is not a name of {exc.expression} (its names: {names})", None
    if kind == "twice":
        return f"{name} is given twice", None
    if kind == "shape_of_input":
        return f"{name} is an input (--set); --shape is for weights", None
    if kind == "several":
        first = name.split(", ")[0]
        return (
            f"{exc.expression} has several weights: {name}",
            f"choose one with --wrt {first}",
        )
    if kind == "array":
        return (
            f"{name} is an array; this command works on one number",
            "use gdcli grad for vectors and matrices",
        )
    return exc.message, exc.hint
