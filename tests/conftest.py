"""Shared test helpers: run the CLI in-process with captured streams."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from gdcli.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def run_cli(
    args: list[str],
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    tty: bool = False,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> Result:
    """Call gdcli's entry point as a shell would, with stdout a pipe (or a fake tty)."""
    out, err = _Stream(tty), _Stream(False)
    saved = sys.stdin, sys.stdout, sys.stderr
    saved_env = dict(os.environ)
    os.environ.update({"COLUMNS": "100", "GDCLI_NO_CACHE": "1"})
    os.environ.pop("NO_COLOR", None)
    os.environ.pop("GDCLI_LOSS", None)
    os.environ.update(env or {})
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


@pytest.fixture
def run():
    return run_cli


def run_process(args: list[str], stdin: str | None = None, timeout: float = 20) -> Result:
    """Start gdcli as a separate process (for start-up, stdin and pipe behaviour)."""
    env = dict(os.environ, GDCLI_NO_CACHE="1")
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "gdcli", *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
