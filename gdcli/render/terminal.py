"""Terminal state in one injectable object: is stdout a terminal, may we colour it."""

from __future__ import annotations

import os
import shutil
import sys
from typing import NamedTuple, TextIO


class Terminal(NamedTuple):
    is_tty: bool
    color: bool
    width: int

    @classmethod
    def detect(cls, stream: TextIO | None = None, force_color: bool = False) -> Terminal:
        stream = stream or sys.stdout
        try:
            is_tty = stream.isatty()
        except (AttributeError, ValueError):
            is_tty = False
        dumb = os.environ.get("TERM") == "dumb"
        no_color = "NO_COLOR" in os.environ and not force_color
        color = force_color or (is_tty and not dumb and not no_color)
        width = shutil.get_terminal_size((100, 24)).columns
        if os.environ.get("COLUMNS", "").isdigit():
            width = int(os.environ["COLUMNS"])
        return cls(is_tty=is_tty, color=color, width=max(40, width))

    def console(self, stream: TextIO | None = None):  # -> rich.console.Console
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
