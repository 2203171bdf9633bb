"""The operating system's edges: closed and full streams, undecodable input.
Each is one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

GDCLI = [sys.executable, "-m", "gdcli"]


def run_shell(command: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, GDCLI_NO_CACHE="1")
    return subprocess.run(
        ["bash", "-c", command], input=stdin, capture_output=True, env=env, timeout=60
    )


def gdcli_line() -> str:
    return " ".join(f"'{a}'" for a in GDCLI)


pytestmark = pytest.mark.slow


def test_a_full_disk_is_exit_74():
    r = run_shell(f"{gdcli_line()} descend --steps 5 > /dev/full")
    assert r.returncode == 74
    assert r.stderr == b"gdcli: error: input/output error: No space left on device\n"


def test_a_closed_stdout_is_exit_74():
    r = run_shell(f"{gdcli_line()} descend -f json >&-")
    assert r.returncode == 74
    assert r.stderr == b"gdcli: error: stdout is closed: nowhere to write the output\n"


def test_a_closed_stdin_is_bad_input():
    r = run_shell(f"{gdcli_line()} derive - <&-")
    assert r.returncode == 2
    assert r.stderr == b"gdcli: error: stdin is closed: there is no expression to read\n"


def test_undecodable_bytes_on_stdin_are_bad_input():
    r = run_shell(f"{gdcli_line()} descend -", stdin=b"\xff\xfew")
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr == b"gdcli: error: stdin is not text (UTF-8)\n"


def test_undecodable_bytes_in_an_argument_are_shown_escaped():
    r = run_shell(f"{gdcli_line()} derive $'w\\xff'")
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert r.stderr.startswith(b"gdcli: error: ") and r.stderr.count(b"\n") == 1


def test_a_closed_pipe_is_a_normal_end():
    r = run_shell(f"{gdcli_line()} descend --steps 200000 -f csv | head -2")
    assert r.stdout == (
        b"step,w,loss,grad_w,update_w,direction\n0,1.0,4.0,-4.0,0.3999999999999999,"
        b'"slope < 0, so w increases"\n'
    )
    assert r.stderr == b""
    status = run_shell(f"{gdcli_line()} descend --steps 200000 -f csv | head -1; "
                       "echo ${PIPESTATUS[0]}")  # fmt: skip
    assert status.stdout.splitlines()[-1] == b"0"


def test_a_closed_stderr_still_gives_the_exit_code():
    r = run_shell(f"{gdcli_line()} descend --steps 0 2>&-")
    assert r.returncode == 2 and r.stdout == b""
