"""The core's errors in the user's words: flags, hints, one line each.

The core raises data (a parameter's name, a name of the loss, shapes); this module
is the one place that knows how the command line spells them.
"""

from __future__ import annotations

from gdcli.errors import (
    BadLet,
    BadRow,
    BadRun,
    BadValue,
    Conflict,
    Diverged,
    GdcliError,
    MissingColumn,
    MissingValue,
    NameRole,
    ShapeMismatch,
    ShapeNeeded,
    TooLarge,
    TooSlow,
)
from gdcli.params import shape_text

# parameters whose flag is not just `--` + the name with `-` for `_`
_FLAGS = {"set": "--set", "shape": "--shape"}


def flag(parameter: str) -> str:
    return _FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def words(exc: GdcliError) -> tuple[str, str | None]:
    """(message, hint) for an error."""
    if isinstance(exc, MissingColumn):
        return (
            f"{exc.message}; give it with {flag(exc.point)} {exc.name}=… (a weight) "
            f"or --set {exc.name}=… (an input)",
            None,
        )
    if isinstance(exc, MissingValue):
        return (
            f"{exc.name} has no value: give it with --set {exc.name}=… (an input) "
            f"or {flag(exc.point)} {exc.name}=… (a weight)",
            None,
        )
    if isinstance(exc, BadRow):
        return f"{flag(exc.parameter)} {exc.message}", exc.hint
    if isinstance(exc, (BadValue, TooLarge)):
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
    if isinstance(exc, ShapeNeeded):
        return (
            f"{exc.message}: {exc.name} is a number, as no --shape gives it a shape",
            f"give its shape with --shape {exc.name}={exc.shape}",
        )
    if isinstance(exc, NameRole):
        return _role(exc)
    if isinstance(exc, BadRun):
        return f"--run {exc.index} ({exc.text!r}): {exc.problem}", exc.hint
    if isinstance(exc, BadLet):
        return _layer(exc)
    if isinstance(exc, TooSlow):
        return exc.message, "simplify the expression (or raise GDCLI_TIME_LIMIT)"
    if isinstance(exc, Diverged):
        return exc.message, "try a smaller --lr"
    return exc.message, exc.hint


def _layer(exc: BadLet) -> tuple[str, str | None]:
    name, kind, detail = exc.name, exc.kind, exc.detail
    if kind == "form":
        return (
            f"--let {exc.text!r} is not NAME=EXPR",
            "name a layer like this: --let z=W1@x+b1 (then use z in the loss or a later --let)",
        )
    if kind == "twice":
        return f"--let {name} is defined twice", "give each layer its own name"
    if kind == "before":
        return (
            f"--let {name} uses {detail} before it is defined",
            f"give --let {detail}=… before --let {name}=… (layers are read in order)",
        )
    if kind == "cycle":
        return (
            f"--let {name} is part of a cycle: {detail}",
            "a layer may use only the layers before it",
        )
    if kind == "unused":
        return f"--let {name} is never used by the loss", f"use {name} in EXPR, or leave it out"
    if kind == "role":
        return (
            f"--let {name} names a layer, but {name} is also given a value (--at, --set or --shape)",
            "a layer is computed from the weights and inputs: give it no value",
        )
    if kind == "name":
        return f"--let {name}: {detail}", "choose another name"
    if kind == "expression":
        return f"--let {name}: {detail}", exc.hint
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
    if kind == "column":
        return (
            f"{name} is a column of {exc.detail or 'the data'} (an input, one value per "
            "example); it cannot be a weight too",
            "an input never moves and a weight always does: give it one role",
        )
    if kind == "column_set":
        return f"{name} is a column of {exc.detail or 'the data'}; --set cannot give it too", None
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


# what students and other tools call an option, and gdcli's name for it
OPTION_SYNONYMS = {
    "--lr": ("--learning-rate", "--eta", "--rate", "--step-length", "--alpha"),
    "--at": ("--point", "--x0", "--w0", "--x", "--w", "--where", "--value"),
    "--start": ("--init", "--initial", "--from", "--start-at", "--x0", "--w0"),
    "--steps": ("--iterations", "--iters", "--iter", "--n-steps", "--num-steps", "--max-steps",
                "--max-iter", "--n", "--epochs", "--updates"),
    "--tol": ("--tolerance", "--epsilon", "--atol"),
    "--h": ("--step", "--delta", "--dx", "--dw", "--eps", "--step-size", "--hs"),
    "--optimizer": ("--opt", "--optim", "--method", "--algorithm", "--rule"),
    "--wrt": ("--variable", "--var", "--with-respect-to", "--weight"),
    "--format": ("--json", "--csv", "--plain", "--table", "--output", "--fmt"),
    "--range": ("--xrange", "--x-range", "--xlim", "--domain", "--interval", "--limits"),
    "--scheduler": ("--schedule", "--sched", "--lr-scheduler", "--lr-schedule"),
    "--color": ("--colour", "--colors", "--colours"),
    "--set": ("--input", "--inputs", "--const", "--constant", "--let"),
    "--quiet": ("--silent", "--q"),
    "--no-plot": ("--noplot", "--no-plots", "--without-plot"),
}  # fmt: skip


def _plain(option: str) -> str:
    return option.lstrip("-").lower().replace("_", "-")


def nearest_option(typed: str, options: list[str]) -> str | None:
    """The option of a command that `typed` most likely meant: another name for it
    (--learning-rate for --lr), the same letters (--beta_1), the only one it begins
    (--opt), or one or two typos away (--momentun)."""
    name = "--" + _plain(typed.split("=", 1)[0])
    if name in ("--json", "--csv", "--plain", "--table") and "--format" in options:
        return "--format " + name[2:]
    for option, others in OPTION_SYNONYMS.items():
        if name in others and option in options:
            return option
    same = [o for o in options if _plain(o).replace("-", "") == _plain(name).replace("-", "")]
    if same:
        return same[0]
    longer = sorted((o for o in options if o.startswith(name)), key=len)
    if longer:
        return longer[0]
    best, distance = None, max(1, len(_plain(name)) // 4)
    for option in sorted(options, key=len):
        d = _edits(_plain(name), _plain(option))
        if d <= distance and (best is None or d < _edits(_plain(name), _plain(best))):
            best = option
    return best


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours is one edit)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]
