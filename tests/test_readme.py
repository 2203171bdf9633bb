"""The README's examples stay true: every `$ gdcli ...` line runs with the exit
code its comment promises, and the shell scripts run in bash."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, int]]:
    examples = []
    for line in TEXT.splitlines():
        if line.startswith("$ gdcli "):
            command, _, comment = line[2:].partition("   # ")
            match = re.search(r"exit (\d+)", comment)
            examples.append((command.strip(), int(match.group(1)) if match else 0))
    return examples


def shell_blocks() -> list[str]:
    return [
        b for b in re.findall(r"```sh\n(.*?)```", TEXT, re.S) if "gdcli " in b and "make" not in b
    ]


@pytest.mark.parametrize(("command", "code"), console_examples())
def test_console_example(command, code, monkeypatch):
    monkeypatch.chdir(README.parent)  # files the examples name (examples/) are the repository's
    r = run_cli(shlex.split(command)[1:])
    assert r.code == code, r.err
    assert r.out.strip(), "an example should print something"
    assert "Traceback" not in r.err


def test_every_command_has_examples_in_the_readme():
    import gdcli.cli.commands  # noqa: F401  (registers the commands)
    from gdcli.cli.app import COMMANDS

    for name in COMMANDS:
        assert f"### `gdcli {name}`" in TEXT
        assert any(c.startswith(f"gdcli {name}") for c, _ in console_examples()), name


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("script", shell_blocks())
def test_shell_script(script, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "gdcli"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gdcli "$@"\n')
    wrapper.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120,
        cwd=README.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip()
