"""What the tests share: run gdcli as a shell would, and read its output strictly.

Import with `from helpers import ...`: pytest puts this folder on sys.path when it
loads the rootdir conftest (tests/ has no __init__.py), so no configuration is needed.
`conftest.py` holds fixtures only.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gdcli.cli import main

# The environment every call starts from: a terminal 100 columns wide (Typer's and
# Rich's output depends on it), no cache, no colour forced or refused, the default loss.
FIXED_ENV = {"COLUMNS": "100", "GDCLI_NO_CACHE": "1"}
# Variables that would change what gdcli prints; a test that wants one passes it in `env`.
CLEARED_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM", "GDCLI_LOSS", "GDCLI_TIME_LIMIT", "GDCLI_DEBUG")


@dataclass
class Result:
    """One call of gdcli: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _clean(environ: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in CLEARED_ENV}
    # shell completion (any *_COMPLETE variable) changes how gdcli builds its app
    env = {k: v for k, v in env.items() if not k.endswith("_COMPLETE")}
    return {**env, **FIXED_ENV}


def run_cli(
    args: list[str],
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    tty: bool = False,
) -> Result:
    """Call gdcli's entry point in this process as a shell would: stdout a pipe (or a
    fake terminal with `tty=True`), the environment `FIXED_ENV` plus `env`."""
    out, err = _Stream(tty), _Stream(False)
    saved = sys.stdin, sys.stdout, sys.stderr
    saved_env = dict(os.environ)
    fresh = _clean(saved_env)
    os.environ.clear()
    os.environ.update({**fresh, **(env or {})})
    sys.stdin = io.StringIO(stdin or "")
    sys.stdout, sys.stderr = out, err
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(saved_env)
    return Result(code, out.getvalue(), err.getvalue())


def run_process(args: list[str], stdin: str | None = None, timeout: float = 20) -> Result:
    """Start gdcli as a separate process (for start-up, stdin and pipe behaviour)."""
    proc = subprocess.run(
        [sys.executable, "-m", "gdcli", *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_clean(dict(os.environ)),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


# --- reading the output --------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"non-strict JSON token {name!r} in the output (the contract says null)")


def strict_json(text: str) -> Any:
    """Parse one JSON document, refusing NaN / Infinity / -Infinity."""
    return json.loads(text, parse_constant=_reject_constant)


def json_output(r: Result, code: int = 0) -> Any:
    """The strict JSON document of a call that ended with `code`, free of escapes."""
    assert r.code == code, (r.code, r.out, r.err)
    assert "\x1b" not in r.out
    return strict_json(r.out)


def error_lines(err: str) -> list[str]:
    """The `gdcli: error:` lines of stderr."""
    return [line for line in err.splitlines() if line.startswith("gdcli: error:")]


def assert_one_error(err: str, *needles: str) -> str:
    """Exactly one `gdcli: error:` line (notes may come before it, only `hint:` lines
    after it), each needle in it, no traceback and no Python or NumPy warning.
    Returns the error line."""
    lines = err.splitlines()
    errors = error_lines(err)
    assert len(errors) == 1, err
    k = lines.index(errors[0])
    assert all(line.startswith("hint:") for line in lines[k + 1 :]), err
    for needle in needles:
        assert needle in errors[0], (needle, err)
    assert "Traceback" not in err
    assert "Warning" not in err, err
    return errors[0]


def assert_clean_failure(r: Result, code: int, *needles: str) -> str:
    """The call ended with `code`, printed nothing on stdout, and said why in exactly one
    `gdcli: error:` line (optionally followed by one `hint:` line) and nothing else."""
    assert r.code == code, (r.code, r.out, r.err)
    assert r.out == ""
    lines = r.err.splitlines()
    assert lines, "no error message"
    assert lines[0].startswith("gdcli: error:"), lines
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint:")), lines
    return assert_one_error(r.err, *needles)


# --- references ----------------------------------------------------------------------------------


def hand_descent(
    f: Callable[[float], float],
    df: Callable[[float], float],
    w: float,
    lr: float,
    steps: int,
    tol: float = 1e-8,
) -> tuple[str, int, float, float]:
    """Plain gradient descent with the design's rules: (status, steps used, w, loss)."""
    loss, g = f(w), df(w)
    limit = 1e12 * max(1.0, abs(loss))
    for k in range(1, steps + 1):
        if abs(g) <= tol:
            return "converged", k - 1, w, loss
        w = w - lr * g
        try:
            loss, g = f(w), df(w)
        except (OverflowError, ValueError):
            return "diverged", k, w, math.nan
        if not (math.isfinite(w) and math.isfinite(loss) and math.isfinite(g)) or abs(loss) > limit:
            return "diverged", k, w, loss
    return ("converged" if abs(g) <= tol else "max_steps"), steps, w, loss


def step_loop(descent: Any) -> tuple[Any, Any]:
    """The last step of a descent's step loop (`Descent.run`), and its outcome."""
    gen, last = descent.run(), None
    try:
        while True:
            last = next(gen)
    except StopIteration as stop:
        return last, stop.value
