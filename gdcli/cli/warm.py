"""Warm calls: a command asked again with the same arguments answers from the result
cache (`gdcli.compile.results`), without importing SymPy.

`@warm("derive", read_expression)`, placed below `@output_options()`, adds `--no-cache` to a command
and wraps it: the key is the command, every argument as given (the expression
already read from stdin or $GDCLI_LOSS), the time budget and whether plots are
drawn; a hit is written as the first call wrote it, a miss runs the command and
keeps its report. The first call writes the report it keeps, so that both calls
print the same bytes by construction.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

from gdcli.cli import env
from gdcli.cli.declare import Option
from gdcli.cli.options import Output, _Deferred, _keyword


class _Recording:
    """An Output whose report is kept (by `keep`) before it is written: writing may
    end in an error that is part of the result (a quiet value that does not exist)."""

    def __init__(self, out: Output, keep: Callable[[dict[str, Any]], None], seen: str) -> None:
        self.out = out
        self.keep = keep
        self.seen = seen
        self.frozen: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.out, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("out", "keep", "seen", "frozen"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.out, name, value)

    def emit(self, report: Any) -> None:
        from gdcli.reports.saved import freeze, thaw

        frozen = freeze(report, 0, self.out.plot, self.seen)
        thawed = thaw(frozen) if frozen is not None else None
        if frozen is None or thawed is None:  # not plain data: written, not kept
            self.out.emit(report)
            return
        self.frozen = frozen
        self.keep(frozen)
        self.out.emit(thawed[0])


def warm(
    command: str, read_expression: Callable[[str | None], str]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer `command` from the result cache when it was asked before.
    `read_expression` reads the loss's text (stdin for `-`, the default loss)."""

    def extra() -> list[inspect.Parameter]:
        out = [
            _keyword(
                "no_cache",
                Annotated[
                    bool,
                    Option(
                        "--no-cache",
                        help="Do not read or write the result cache (also GDCLI_NO_CACHE=1).",
                    ),
                ],
                False,
            )
        ]
        return out

    def call(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        directory = env.cache_dir(kwargs.pop("no_cache"))
        out = kwargs.pop("out")
        if directory is None or kwargs.get("batch") is not None or kwargs.get("data") is not None:
            # a batch, or training data: a file that may change between calls
            return function(out=out, **kwargs)
        from gdcli.compile.results import Results, result_key
        from gdcli.reports.saved import thaw, view

        if "expr" in kwargs and (kwargs["expr"] is not None or command != "check"):
            kwargs["expr"] = read_expression(kwargs["expr"])
        arguments = json.dumps(kwargs, sort_keys=True, default=str)
        from gdcli.render.output import resolve_format

        seen = view(resolve_format(out.fmt, out.term), out.quiet)  # what the call writes
        key = result_key(command, [arguments, repr(env.time_limit()), repr(out.plot), seen])
        results = Results(directory)
        stored = results.load(key)
        hit = thaw(stored) if stored is not None else None
        if hit is not None:
            report, code, plot = hit
            out.plot = out.plot and plot
            out.emit(report)
            return code
        recording = _Recording(out, lambda frozen: results.store(key, frozen), seen)
        code = function(out=recording, **kwargs)
        if recording.frozen is not None and int(code or 0) != recording.frozen["code"]:
            recording.frozen["code"] = int(code or 0)
            results.store(key, recording.frozen)
        return code

    return lambda function: _Deferred(function, extra, call)
