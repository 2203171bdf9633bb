"""A time limit that holds: gdcli's `time_limit`, with its alarm repeated.

`time_limit` raises an exception from a single alarm signal. When that alarm lands
where Python ignores exceptions (a generator being closed, a finaliser: SymPy
makes many of both), the guarded block runs on to its end, which with SymPy can be
minutes later. Here, while the guarded call is still running, the alarm comes
again every REPEAT seconds until one lands where it counts; outside the call it
does nothing (so no alarm can escape the block).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from gdcli.derivation._imports import time_limit

T = TypeVar("T")

REPEAT = 0.05  # seconds between alarms once the time is up


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
        import signal

        signal.setitimer(signal.ITIMER_REAL, REPEAT)  # again, if this one is ignored
        super()._expired(signum, frame)

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
