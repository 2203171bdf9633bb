"""A budget of CPU time for symbolic work, so a small but hostile expression ends
quickly (exit 4) instead of hanging.

The budget counts the CPU time of this process (an `ITIMER_PROF` timer), not the
wall clock: a result must not depend on what else the machine is doing. The CLI
decides how many seconds a command gets and passes them in.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from gdcli.errors import TooSlow
from gdcli.limits import MAX_TIME_LIMIT

REPEAT = 0.05  # CPU seconds between alarms once the time is up


class _Expired(BaseException):
    """Raised by the timer. A BaseException, so that no `except Exception` on the way
    (SymPy has some) can swallow it; `time_limit` turns it into TooSlow."""


class time_limit:
    """Raise TooSlow when the block uses more than `seconds` of CPU time. Nests: an
    inner limit never outlasts an outer one. A timer that fires where Python can only
    ignore the exception (a finaliser) still ends the block, when it exits. Main
    thread only; elsewhere it does not limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False
        self.fired = False

    def _expired(self, signum: int, frame: Any) -> None:
        self.fired = True
        # again soon, in case this one lands where Python ignores exceptions (a
        # finaliser, a generator being closed: SymPy has many) and the work runs on
        signal.setitimer(signal.ITIMER_PROF, REPEAT)
        raise _Expired

    def _unraisable(self, info: Any) -> None:
        if not isinstance(info.exc_value, _Expired):
            self.previous_hook(info)

    def __enter__(self) -> time_limit:
        if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"
        ):
            return self
        self.outer, _ = signal.getitimer(signal.ITIMER_PROF)
        self.started = time.process_time()
        budget = min(self.seconds, self.outer) if self.outer > 0 else self.seconds
        budget = min(budget, MAX_TIME_LIMIT)  # a timer holds no more (time_t)
        self.previous = signal.signal(signal.SIGPROF, self._expired)
        self.previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        signal.setitimer(signal.ITIMER_PROF, max(budget, 1e-6))
        self.armed = True
        return self

    def __exit__(self, kind: Any, exc: object, traceback: object) -> None:
        if not self.armed:
            return
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, self.previous)
        sys.unraisablehook = self.previous_hook
        elapsed = time.process_time() - self.started
        if self.outer > 0:
            signal.setitimer(signal.ITIMER_PROF, max(self.outer - elapsed, 1e-3))
        if self.fired or kind is _Expired:
            raise TooSlow(elapsed) from None
