"""The gdcli command line: options in, exit code out.

`main` runs one command and turns every error into one line on stderr (plus an
optional hint) and its exit code; a traceback only ever means a bug (and only
with GDCLI_DEBUG=1).
"""

from __future__ import annotations

import os
import signal


def _interrupted_early(signum: int, frame: object) -> None:
    """Ctrl-C while the program starts: one line and exit 130 (ExitCode.INTERRUPTED,
    not imported yet), no traceback."""
    os.write(2, b"gdcli: error: interrupted\n")
    os._exit(130)


# first of all, before any other import: the window for a traceback is Python's own start
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_early)

import re  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from gdcli.errors import ExitCode, GdcliError  # noqa: E402

_OPTION = re.compile(r"^--?[A-Za-z][\w-]*(=.*)?$")
_SHORT_FLAGS = {"-q", "-h", "-f", "-o"}


def protect_negative(args: list[str]) -> list[str]:
    """An expression or value that starts with a minus sign works as typed:
    Click would take `-w**2 + 1` or `-2/3` for an option, so such arguments get a
    leading space (every parser of ours strips it)."""
    out = []
    for arg in args:
        looks_like_option = arg in ("-", "--") or (
            _OPTION.match(arg) is not None and (arg.startswith("--") or arg in _SHORT_FLAGS)
        )
        out.append(arg if not arg.startswith("-") or looks_like_option else " " + arg)
    return out


def _printable(text: str) -> str:
    """Text as stderr can take it: bytes that were not UTF-8 shown as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_line(message: str, hint: str | None = None) -> None:
    from gdcli.cli.app import PROG

    try:
        sys.stderr.write(_printable(f"{PROG}: error: {message}\n"))
        if hint:
            sys.stderr.write(_printable(f"hint: {hint}\n"))
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # nowhere left to say it


def main(argv: list[str] | None = None) -> None:
    if signal.getsignal(signal.SIGINT) is _interrupted_early:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.stderr is None:  # started with stderr closed: the notes and errors go nowhere,
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # the exit code still tells
    if sys.stdout is None:  # started with stdout closed: nowhere to write the data
        error_line("stdout is closed: nowhere to write the output")
        sys.exit(int(ExitCode.IO))
    try:
        code = run(protect_negative(sys.argv[1:] if argv is None else list(argv)))
        code = _flush(code)
    except KeyboardInterrupt:
        error_line("interrupted")
        code = int(ExitCode.INTERRUPTED)
    sys.exit(code)


def _flush(code: int) -> int:
    """Flush stdout now, so that a full disk or a closed stream is an error we word
    (exit 74), not a complaint of the interpreter at exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError) as exc:
        _silence_stdout()
        error_line(f"cannot write the output: {_os_reason(exc)}")
        return int(ExitCode.IO)
    return code


def _silence_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _os_reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _command_name(args: list[str]) -> str | None:
    """The command a call runs, if plain to see (shell completion needs them all)."""
    from gdcli.cli import env
    from gdcli.cli.app import COMMANDS

    if env.completing():
        return None
    first = next((a for a in args if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def run(args: list[str], *, plain: bool = True) -> int:
    """Run one command; return its exit code. Errors are written here, once. A plain
    call is parsed by `gdcli.cli.plain` (no Typer imported), any other by Typer
    (every call, with `plain` False: the tests hold the two ways to each other)."""
    from gdcli.cli import (
        commands,  # noqa: F401  (registers the commands)
        env,
    )
    from gdcli.cli.app import COMMANDS
    from gdcli.render.output import PipeClosed

    name = _command_name(args)
    try:
        if not plain or name is None or args[0] != name:
            return _run_typer(args, name)
        from gdcli.cli.plain import parse

        function = COMMANDS[name][0]
        kwargs = parse(function, args[1:])
        if kwargs is None:
            return _run_typer(args, name)
        result = function(**kwargs)
        return int(result) if isinstance(result, int) else 0
    except PipeClosed:
        # what the reader took was all it wanted: end quietly, as `yes | head` does
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        error_line("interrupted")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if env.debug():
            raise
        return report(exc)


def _run_typer(args: list[str], name: str | None) -> int:
    """Run one command parsed by Typer (Click's usage errors raised for `report`)."""
    import typer

    from gdcli.cli.app import PROG, build_app
    from gdcli.cli.options import typed_numbers

    try:
        command = typed_numbers(typer.main.get_command(build_app(name)))
        result = command(args=args, prog_name=PROG, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        raise KeyboardInterrupt from None
    code = int(result) if isinstance(result, int) else 0
    if code == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C into a silent Exit(130)
        error_line("interrupted")
    return code


def _no_such_option(exc: Any, hint: str) -> tuple[str, str]:
    """An unknown option, and the option of this command it most likely meant."""
    from gdcli.cli.words import nearest_option

    typed = str(exc.option_name)
    params = getattr(getattr(getattr(exc, "ctx", None), "command", None), "params", [])
    options = [o for p in params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
    nearest = nearest_option(typed, options)
    if nearest is None:
        return f"no such option: {typed}", hint
    return f"no such option: {typed} (did you mean {nearest}?)", hint


def report(exc: BaseException) -> int:
    """One line (and maybe a hint) on stderr for an error; its exit code."""
    from gdcli.cli.app import PROG
    from gdcli.cli.words import words

    if isinstance(exc, GdcliError):
        message, hint = words(exc)
        error_line(message, hint)
        return int(exc.exit_code)
    typer = sys.modules.get("typer")  # not imported: the call was parsed without it
    if typer is not None and isinstance(exc, typer.TyperException):  # Click's usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `gdcli`: the help, as it is
            sys.stderr.write(getattr(exc, "format_message", exc.__str__)() + "\n")
            return int(ExitCode.BAD_INPUT)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        command = getattr(getattr(exc, "ctx", None), "command_path", PROG)
        hint = f"see '{command} --help'"
        if type(exc).__name__ == "NoSuchOption":
            message, hint = _no_such_option(exc, hint)
        error_line(" ".join(message.split()), hint)
        return int(getattr(exc, "exit_code", ExitCode.BAD_INPUT))
    if isinstance(exc, RecursionError):
        error_line("expression too deeply nested to handle")
        return int(ExitCode.RESOURCE)
    if isinstance(exc, MemoryError):
        error_line("out of memory: the expression or the run is too large")
        return int(ExitCode.RESOURCE)
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return 0
    if isinstance(exc, OSError) and exc.errno is not None:
        _silence_stdout()
        error_line(f"input/output error: {_os_reason(exc)}")
        return int(ExitCode.IO)
    error_line(  # a bug: one line, and a request for a report
        f"internal error ({type(exc).__name__}: {exc}); this is a bug in gdcli",
        "please report it with the command you ran (GDCLI_DEBUG=1 shows the traceback)",
    )
    return int(ExitCode.INTERNAL)
