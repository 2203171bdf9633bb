"""The Typer app. Commands register here; the app is built per call with only the
command that runs (building every command's options costs start-up time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

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
        from gdcli import version

        print(f"{PROG} {version()}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """gdcli: a gradient descent explorer."""


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every registered command, or with just `only`."""
    app = typer.Typer(**APP_SETTINGS)
    app.callback()(_root)
    for name, (function, settings) in COMMANDS.items():
        if only is None or name == only:
            app.command(**settings)(function)
    return app
