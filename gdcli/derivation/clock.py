"""gdcli's `time_limit` around one call: its alarm (repeated until one lands where
it counts) stops only that call; outside the call it does nothing, so no alarm can
escape the block."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from gdcli.derivation._imports import time_limit

T = TypeVar("T")


class Limit(time_limit):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.inside: FrameType | None = None

    def __enter__(self) -> Limit:
        super().__enter__()
        return self

    def run(self, fn: Callable[[], T]) -> T:
        """fn(), the call the alarm interrupts."""
        self.inside = sys._getframe()
        try:
            return fn()
        finally:
            self.inside = None

    def _expired(self, signum: int, frame: Any) -> None:
        if not self._within(frame):
            return  # the call is over: too late to stop it, nothing to stop
        super()._expired(signum, frame)  # which repeats the alarm, if this one is ignored

    def _within(self, frame: FrameType | None) -> bool:
        while frame is not None:
            if frame is self.inside:
                return True
            frame = frame.f_back
        return False


def run_within(fn: Callable[[], T], seconds: float) -> T:
    """fn() within `seconds`, or ResourceLimit."""
    with Limit(seconds) as limit:
        return limit.run(fn)
