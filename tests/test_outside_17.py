"""Issue 17, checked from outside: other members of each class than the issue's
examples. Every expectation here comes from the documented contract (exit codes,
one error line) or from an independent computation, never from gdcli's own output."""

from __future__ import annotations

import signal

import pytest
from helpers import run_cli


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("gdcli: error: "), err
    assert all(ln.startswith(("gdcli: error: ", "hint: ")) for ln in lines), err
    assert "Traceback" not in err
    return lines[0]


# --- class 4: the environment ----------------------------------------------------------


@pytest.mark.parametrize("value", ["1e10", "9.3e9", "1e18", "1e300", "2e6"])
def test_a_time_limit_beyond_a_cpu_timer_is_bad_input(value: str) -> None:
    """A finite but huge GDCLI_TIME_LIMIT overflowed setitimer's time_t (exit 70)."""
    r = run_cli(["derive", "w**2"], env={"GDCLI_TIME_LIMIT": value})
    assert r.code == 2
    assert "GDCLI_TIME_LIMIT" in one_error_line(r.err)


def test_the_budget_itself_never_overflows_the_timer() -> None:
    """The core is safe whatever the CLI passes in: a budget beyond what the CPU timer
    holds is simply no limit in practice."""
    from gdcli.budget import time_limit

    if not hasattr(signal, "setitimer"):
        pytest.skip("no CPU timer on this platform")
    for seconds in (1e10, 1e300, float("inf")):
        with time_limit(seconds):
            assert signal.getitimer(signal.ITIMER_PROF)[0] > 0
        assert signal.getitimer(signal.ITIMER_PROF)[0] == 0
