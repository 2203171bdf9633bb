"""Terminal state in one injectable object: is stdout a terminal, may we colour it,
how wide is it. The CLI detects it (it reads the environment) and passes it on."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, TextIO

if TYPE_CHECKING:
    from rich.console import Console


class Terminal(NamedTuple):
    is_tty: bool
    color: bool
    width: int

    @classmethod
    def detect(
        cls, stream: TextIO, environ: Mapping[str, str], force_color: bool = False
    ) -> Terminal:
        """What `stream` is, under the NO_COLOR, TERM=dumb and COLUMNS of `environ`."""
        try:
            is_tty = stream.isatty()
        except (AttributeError, ValueError):
            is_tty = False
        dumb = environ.get("TERM") == "dumb"
        no_color = "NO_COLOR" in environ and not force_color
        color = force_color or (is_tty and not dumb and not no_color)
        width = shutil.get_terminal_size((100, 24)).columns
        if environ.get("COLUMNS", "").isdigit():
            width = int(environ["COLUMNS"])
        return cls(is_tty=is_tty, color=color, width=max(40, width))

    def console(self, stream: TextIO | None = None) -> Console:
        from rich.console import Console

        return Console(
            file=stream or sys.stdout,
            force_terminal=self.color,
            no_color=not self.color,
            color_system="auto" if self.color else None,
            width=self.width,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=False,
        )
