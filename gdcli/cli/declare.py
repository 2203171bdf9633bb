"""A command's options and arguments, declared without importing Typer.

`Option("--h-max", help=...)` and `Argument(metavar=...)` record what
`typer.Option` / `typer.Argument` would be given. `gdcli.cli.app` turns them into
Typer's own when the Typer app is built (for --help, completion and every call the
plain parser of `gdcli.cli.plain` does not take); `gdcli.cli.plain` reads them to
run a plain call without importing Typer at all. One declaration serves both.
"""

from __future__ import annotations

from typing import Any


class Option:
    """The names (`"--format", "-f"`, `"--shuffle/--no-shuffle"`) and settings of
    an option, as `typer.Option` takes them in an `Annotated` type."""

    __slots__ = ("decls", "settings")

    def __init__(self, *decls: str, **settings: Any) -> None:
        self.decls = decls
        self.settings = settings

    def __repr__(self) -> str:
        return f"{type(self).__name__}{(*self.decls,)!r}"


class Argument(Option):
    """A positional argument, as `typer.Argument` takes it (settings only)."""

    __slots__ = ()
