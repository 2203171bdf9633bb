"""The command registry, and the Typer app built from it.

Commands register here (`@command`) with options declared by `gdcli.cli.declare`;
importing this module costs no Typer. `build_app` builds the Typer app, with only
the command that runs (building every command's options costs start-up time), for
--help, completion and every call `gdcli.cli.plain` does not take.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

from gdcli.cli.declare import Argument, Option

if TYPE_CHECKING:
    import typer

PROG = "gdcli"

COMMANDS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}  # name -> (function, settings)

APP_SETTINGS: dict[str, Any] = {
    "name": PROG,
    "help": (
        "gdcli: a gradient descent explorer. A loss l(w), its slope, the derivative as the "
        "limit of a difference quotient, and the update rule w = w - lr * dl/dw, step by step."
    ),
    "add_completion": True,
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


def command(**settings: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command (its name: `name=`, else the function's, dashed)."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        name = settings.get("name") or function.__name__.replace("_", "-")
        COMMANDS[name] = (function, settings)
        return function

    return register


def _version(value: bool) -> None:
    if value:
        import typer

        from gdcli import version

        print(f"{PROG} {version()}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool, Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """gdcli: a gradient descent explorer."""


def _typer_annotation(annotation: Any) -> Any:
    """`Annotated[T, declare.Option(...)]` as `Annotated[T, typer.Option(...)]`."""
    import typer

    if get_origin(annotation) is not Annotated:
        return annotation
    base, *extras = get_args(annotation)
    made = [
        (typer.Argument if isinstance(e, Argument) else typer.Option)(*e.decls, **e.settings)
        if isinstance(e, Option)
        else e
        for e in extras
    ]
    arguments = (base, *made)
    return Annotated[arguments]


def typer_function(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` with a signature Typer reads: its declarations as Typer's own."""
    signature = inspect.signature(function, eval_str=True)
    parameters = [
        p.replace(annotation=_typer_annotation(p.annotation)) for p in signature.parameters.values()
    ]

    def wrapper(**kwargs: Any) -> Any:
        return function(**kwargs)

    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, name, getattr(function, name))
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every registered command, or with just `only`."""
    import typer

    app = typer.Typer(**APP_SETTINGS)
    app.callback()(typer_function(_root))
    for name, (function, settings) in COMMANDS.items():
        if only is None or name == only:
            app.command(**settings)(typer_function(function))
    return app
