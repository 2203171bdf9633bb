"""The plain parser (gdcli.cli.plain) against Typer: for every command, the same
options read the same way, and for every call it takes, the same arguments Typer
would give the command. A call it does not take goes to Typer, so the only thing
that can go wrong is taking a call and reading it differently: that is what these
tests look for."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from enum import Enum
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcli.cli import (
    commands,  # noqa: F401  (registers the commands)
    plain,
    protect_negative,
)
from gdcli.cli.app import COMMANDS, build_app
from gdcli.cli.options import typed_numbers


class Recorder:
    """A stand-in for a command with its signature: Typer calls it, it keeps the
    arguments."""

    def __init__(self, function: Any) -> None:
        self.__signature__ = inspect.signature(function, eval_str=True)
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__doc__ = function.__doc__
        self.__module__ = function.__module__
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def typer_kwargs(name: str, args: list[str]) -> dict[str, Any] | None:
    """What Typer calls command `name` with for `args` (after the name); None when
    Typer refuses the call (a usage error)."""
    function, options = COMMANDS[name]
    recorder = Recorder(function)
    COMMANDS[name] = (recorder, options)
    try:
        command = typed_numbers(typer.main.get_command(build_app(name)))
        try:
            command(args=[name, *args], prog_name="gdcli", standalone_mode=False)
        except (typer.Exit, typer.Abort, typer.TyperException):
            return None
    finally:
        COMMANDS[name] = (function, options)
    return recorder.calls[0] if recorder.calls else None


def comparable(kwargs: dict[str, Any] | None) -> Any:
    """Arguments with enum members as (enum name, value): schedules build their
    enum per signature."""
    if kwargs is None:
        return None
    return {k: (type(v).__name__, v.value) if isinstance(v, Enum) else v for k, v in kwargs.items()}


def click_params(name: str) -> dict[str, Any]:
    command = typer.main.get_command(build_app(name))
    return {p.name: p for p in command.commands[name].params}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_declared_as_click_reads_it(name: str) -> None:
    """Names, flags, repeatability, choices and requiredness of every parameter
    agree with the Click command Typer builds."""
    ours = {p.name: p for p in plain.params_of(COMMANDS[name][0])}
    theirs = click_params(name)
    assert list(ours) == list(theirs)
    for key, p in ours.items():
        c = theirs[key]
        assert p.argument == (c.param_type_name == "argument"), key
        assert p.required == c.required, key
        if p.argument:
            continue
        assert (p.opts, p.secondary) == (list(c.opts), list(c.secondary_opts)), key
        assert p.flag == c.is_flag, key
        assert p.multiple == c.multiple, key
        choices = getattr(c.type, "choices", None)
        if choices is not None:
            assert not p.flag
            for text in choices:
                assert p.convert(str(text)).value == text


# calls, each in several spellings; the plain parser must take every one of these
PLAIN_CALLS = {
    "derive": [
        ["(w-3)**2"],
        [],
        ["(w-3)**2", "--at", "2", "--format", "json"],
        ["--at=2", "-f", "csv", "w**3", "--scheme", "CENTRAL", "--h-max", "1e-2"],
        ["-q", "--latex", "--steps", "--limit", "--plot", "--no-plot", "--color"],
        ["w*x", "--set", "x=2", "--set", "y=[1,2]", "--wrt", "w", "--no-cache"],
        ["--", " -w**2"],
        ["sum(W)", "--shape", "W=2x2", "--start", "W=0", "--h-min", "1e-8"],
    ],
    "descend": [
        ["--lr", "0.1", "--steps", "50"],
        ["-o", "adam", "--lr", "1e-3", "--beta1", "0.8", "--beta2=0.9", "--amsgrad", "-q"],
        ["--optimizer", "SGD", "--momentum", "0.9", "--nesterov", "--dampening", "0"],
        ["--scheduler", "step", "--step-size", "3", "--gamma", "0.5", "-f", "json"],
        ["--data", "d.csv", "--batch-size", "2", "--shuffle", "--seed", "4", "--epochs", "3"],
        ["--data", "d.csv", "--no-shuffle", "--vector", "x=a,b", "--full"],
        ["--tol", "1e-9", "--steps", "7", "--start", "w=2"],
    ],
    "sweep": [
        ["--lr", "0.1,0.2", "-q"],
        ["w**4", "--lr", "1e-3:1:5", "--log", "--start", "-2:2:5"],
    ],
    "compare": [["--run", "sgd", "--run", "adam lr=0.1", "--steps", "9"]],
    "grad": [
        [
            "sum((W @ x - y)**2)",
            "--set",
            "x=[1,2]",
            "--set",
            "y=[3,4]",
            "--at",
            "W=0",
            "--shape",
            "W=2x2",
        ],
    ],
    "check": [["w**2", "2*w"], ["w**2", "2*w", "--at", "3", "--rtol", "1e-9", "--atol", "0"]],
    "slope": [["--h", "1e-3"], ["w**3", "--at", "2", "--h", "1,0.1"]],
    "plot": [["-f", "csv"], ["w**2", "--range", "-2:2"]],
    "schedule": [["step", "--step-size", "2"], ["COSINE", "--t-max", "10", "--steps", "20"]],
    "exercise": [["derivative", "--seed", "3"], ["matrix", "--seed", "1", "--key", "--level", "2"]],
    "backprop": [[], ["-q", "--format", "dot"]],
}


def calls() -> list[tuple[str, list[str]]]:
    """The calls as `run` receives them (a leading minus sign protected)."""
    return [
        (name, protect_negative(args))
        for name, spellings in PLAIN_CALLS.items()
        for args in spellings
    ]


@pytest.mark.parametrize(("name", "args"), calls())
def test_plain_calls_are_taken_and_read_as_typer_reads_them(name: str, args: list[str]) -> None:
    expected = typer_kwargs(name, args)
    if expected is None:
        pytest.fail(f"Typer refuses {args}: not a plain call, fix the test")
    got = plain.parse(COMMANDS[name][0], args)
    assert got is not None, "a plain call left to Typer"
    assert comparable(got) == comparable(expected)


NOT_PLAIN = [
    ("derive", ["--help"]),
    ("derive", ["-h"]),
    ("derive", ["--nope"]),
    ("derive", ["--at"]),
    ("derive", ["--at", "--quiet"]),
    ("derive", ["-qf", "json"]),
    ("derive", ["-fjson"]),
    ("derive", ["--quiet=1"]),
    ("derive", ["a", "b"]),
    ("derive", ["--scheme", "sideways"]),
    ("derive", ["--h-max", "abc"]),
    ("derive", ["--h-max", "1e400"]),
    ("descend", ["--steps", "2.5"]),
    ("exercise", ["derivative"]),
    ("schedule", []),
]


@pytest.mark.parametrize(("name", "args"), NOT_PLAIN)
def test_calls_that_are_not_plain_go_to_typer(name: str, args: list[str]) -> None:
    assert plain.parse(COMMANDS[name][0], args) is None


def _tokens(name: str) -> st.SearchStrategy[list[str]]:
    """Argument lists from a command's own options, with values good and bad."""
    params = plain.params_of(COMMANDS[name][0])
    names = [o for p in params for o in (*p.opts, *p.secondary)]
    values = st.sampled_from(
        [
            "1",
            "0.5",
            "-1",
            " -1",
            "2.5",
            "1e-3",
            "1e400",
            "inf",
            "nan",
            "x",
            "json",
            "CSV",
            "adam",
            "step",
            "derivative",
            "cosine",
            "w=2",
            "x=[1,2]",
            "W=2x2",
            "(w-3)**2",
            "-",
            "--",
            "",
            "0x10",
            "1_0",
        ]
    )
    token = st.one_of(
        st.sampled_from(names),
        values,
        st.builds(lambda n, v: f"{n}={v}", st.sampled_from(names), values),
    )
    return st.lists(token, max_size=8)


@pytest.mark.parametrize("name", sorted(COMMANDS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_call_it_takes_typer_reads_the_same(name: str, data: st.DataObject) -> None:
    args = protect_negative(data.draw(_tokens(name)))
    got = plain.parse(COMMANDS[name][0], args)
    if got is None:
        return
    assert comparable(got) == comparable(typer_kwargs(name, args))


def test_a_plain_call_imports_no_typer(tmp_path: Any) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = (
        "import sys; from gdcli.cli import run; "
        "code = run(['derive', 'w**2', '--at', '2', '-q']); "
        "print(code, 'typer' in sys.modules, 'click' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split()[-3:] == ["0", "False", "False"], out.stdout + out.stderr


def _outcome(call: Any, capsys: Any) -> tuple[int, str, str]:
    code = call()
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("name", "args"), calls())
def test_a_plain_call_does_what_the_typer_call_does(
    name: str, args: list[str], capsys: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    """The whole call, both ways: the same output, the same errors, the same exit code."""
    from gdcli.cli import run

    monkeypatch.setenv("GDCLI_NO_CACHE", "1")
    monkeypatch.chdir(tmp_path)  # --data d.csv: the same missing file both ways
    plain_way = _outcome(lambda: run([name, *args]), capsys)
    typer_way = _outcome(lambda: run([name, *args], plain=False), capsys)
    assert plain_way == typer_way
