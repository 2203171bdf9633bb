"""A plain call, parsed without Typer: start-up is what a command costs.

Typer (with the Click it carries) takes about 20 ms to import, as long as all of
gdcli's own start-up. Most calls are plain (`gdcli derive '(w-3)**2' --at 2 -f json`):
options that are all declared, each with a value that converts. Such a call is
parsed here from the very declarations Typer reads (`gdcli.cli.declare`), with
Click's rules for what it takes, and gives the command the same arguments Typer
would (tests/test_plain.py holds the two to each other, option by option and call
by call). Anything else (help, completion, an unknown option, a missing or
unconvertible value, a short-option cluster, an extra argument) is not taken:
`parse` returns None and Typer parses the call, and words its error.
"""

from __future__ import annotations

import inspect
import math
import types
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from gdcli.cli.declare import Argument, Option

_SETTINGS = {"help", "metavar", "show_default", "case_sensitive"}  # what parsing ignores or reads


class Param:
    """One parameter as Click sees it: its names, what it takes, its default."""

    __slots__ = ("name", "opts", "secondary", "flag", "multiple", "argument", "convert", "default")

    def __init__(
        self,
        name: str,
        opts: list[str],
        secondary: list[str],
        flag: bool,
        multiple: bool,
        argument: bool,
        convert: Callable[[str], Any],
        default: Any,
    ) -> None:
        self.name = name
        self.opts = opts
        self.secondary = secondary
        self.flag = flag
        self.multiple = multiple
        self.argument = argument
        self.convert = convert
        self.default = default

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


class NotPlain(Exception):
    """A call (or a declaration) this parser leaves to Typer."""


class OutOfRange(ValueError):
    """A number typed past what a float holds (1e-330, 1e330)."""


def number(text: str) -> float:
    """A float option's value by the rule every typed number follows (as in an
    expression): 0, or between 5e-324 and 1.8e308 in size, never silently rounded
    to 0 or inf; `inf` and `nan` pass, for the option's own check to word. Raises
    ValueError for text that is no number, OutOfRange for one past a float's range."""
    text = text.strip()
    value = float(text)
    if math.isfinite(value) or text.lower().lstrip("+-") not in ("inf", "infinity", "nan"):
        from gdcli.parse.syntax import decimal_literal

        try:
            decimal_literal(text)
        except ValueError:
            raise OutOfRange(text) from None
    return value


def _choice(enum: type[Enum], case_sensitive: bool) -> Callable[[str], Any]:
    """Click's Choice over the enum's values, then Typer's enum member."""
    members = {str(m.value): m for m in enum}
    folded = {k.casefold(): m for k, m in members.items()}

    def convert(text: str) -> Any:
        if text in members:
            return members[text]
        if not case_sensitive and text.casefold() in folded:
            return folded[text.casefold()]
        raise ValueError(text)

    return convert


def _converter(kind: Any, settings: dict[str, Any]) -> Callable[[str], Any]:
    if kind is str:
        return str
    if kind is int:
        return int
    if kind is float:
        return number
    if isinstance(kind, type) and issubclass(kind, Enum):
        return _choice(kind, bool(settings.get("case_sensitive", True)))
    raise NotPlain(f"type {kind!r}")


def _param(parameter: inspect.Parameter) -> Param:
    """A parameter of a command's signature, read as Typer reads it."""
    annotation = parameter.annotation
    if get_origin(annotation) is not Annotated:
        raise NotPlain(f"{parameter.name}: not declared")
    kind, *extras = get_args(annotation)
    declared = [e for e in extras if isinstance(e, Option)]
    if len(declared) != 1:
        raise NotPlain(f"{parameter.name}: {len(declared)} declarations")
    info = declared[0]
    if set(info.settings) - _SETTINGS:
        raise NotPlain(f"{parameter.name}: settings {sorted(info.settings)}")
    if get_origin(kind) in (Union, types.UnionType):
        inner = [k for k in get_args(kind) if k is not type(None)]
        if len(inner) != 1:
            raise NotPlain(f"{parameter.name}: a union")
        kind = inner[0]
    multiple = get_origin(kind) is list
    if multiple:
        kind = get_args(kind)[0]
    default = parameter.default
    if isinstance(info, Argument):
        if multiple or kind is bool:
            raise NotPlain(f"{parameter.name}: an argument of many values")
        return Param(
            parameter.name, [], [], False, False, True, _converter(kind, info.settings), default
        )
    flag = kind is bool and not multiple
    dashed = "--" + parameter.name.replace("_", "-")
    decls = list(info.decls) or [f"{dashed}/--no-{dashed[2:]}" if flag else dashed]
    opts: list[str] = []
    secondary: list[str] = []
    for decl in decls:
        first, slash, second = decl.partition("/")
        opts.append(first.strip())
        if slash:
            secondary.append(second.strip())
    convert: Callable[[str], Any] = bool if flag else _converter(kind, info.settings)
    return Param(parameter.name, opts, secondary, flag, multiple, False, convert, default)


def params_of(function: Callable[..., Any]) -> list[Param]:
    """The parameters of a registered command, in Typer's order; NotPlain for a
    declaration this parser does not know (then every call of it goes to Typer)."""
    signature = inspect.signature(function, eval_str=True)
    return [_param(p) for p in signature.parameters.values()]


def parse(function: Callable[..., Any], args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments Typer would call `function` with for `args` (the
    arguments after the command's name), or None: a call for Typer."""
    try:
        params = params_of(function)
        return _parse(params, args)
    except (NotPlain, ValueError, ArithmeticError):
        return None


def _value(token: str) -> str:
    """An option's value, as typed: one that looks like an option (Click would take
    it, and the command would refuse it) goes to Typer."""
    if token.startswith("-") and len(token) > 1:
        raise NotPlain(token)
    return token


def _parse(params: list[Param], args: list[str]) -> dict[str, Any]:
    by_name: dict[str, tuple[Param, bool]] = {}
    for p in params:
        for opt in p.opts:
            by_name[opt] = (p, True)
        for opt in p.secondary:
            by_name[opt] = (p, False)
    given: dict[str, list[Any]] = {}
    positional: list[str] = []
    i, only_positional = 0, False
    while i < len(args):
        token = args[i]
        i += 1
        if only_positional or not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        if token == "--":
            only_positional = True
            continue
        name, eq, text = token.partition("=") if token.startswith("--") else (token, "", "")
        if name not in by_name:
            raise NotPlain(token)  # help, an unknown option, a cluster of short ones
        p, on = by_name[name]
        if p.flag:
            if eq:
                raise NotPlain(token)
            given.setdefault(p.name, []).append(on)
            continue
        if not eq:
            if i == len(args):
                raise NotPlain(token)
            text = _value(args[i])
            i += 1
        given.setdefault(p.name, []).append(p.convert(text))
    arguments = [p for p in params if p.argument]
    if len(positional) > len(arguments):
        raise NotPlain("an extra argument")
    for p, text in zip(arguments, positional, strict=False):
        given[p.name] = [p.convert(text)]
    kwargs: dict[str, Any] = {}
    for p in params:
        values = given.get(p.name)
        if values is None:
            if p.required:
                raise NotPlain(f"{p.name} is missing")
            kwargs[p.name] = p.default
        elif p.multiple:
            kwargs[p.name] = values
        else:
            kwargs[p.name] = values[-1]
    return kwargs
