"""The environment, read in one place: the core never reads it; the CLI passes
what it finds here (a time budget, a cache directory, a default loss) inward."""

from __future__ import annotations

import math
import os

from gdcli.errors import BadInput
from gdcli.limits import DEFAULT_TIME_LIMIT, MAX_TIME_LIMIT


def time_limit() -> float:
    """GDCLI_TIME_LIMIT: CPU seconds of symbolic work per command (3 by default)."""
    text = os.environ.get("GDCLI_TIME_LIMIT", "").strip()
    if not text:
        return DEFAULT_TIME_LIMIT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIME_LIMIT):
        raise BadInput(
            f"GDCLI_TIME_LIMIT={text!r} is not a positive number of seconds "
            f"(at most {MAX_TIME_LIMIT:g})",
            hint=f"unset it for the default, {DEFAULT_TIME_LIMIT:g} s",
        )
    return seconds


def default_loss() -> str | None:
    return os.environ.get("GDCLI_LOSS") or None


def debug() -> bool:
    return os.environ.get("GDCLI_DEBUG") == "1"


def cache_dir(no_cache: bool) -> str | None:
    """$XDG_CACHE_HOME/gdcli, else ~/.cache/gdcli; None when turned off (the option,
    or GDCLI_NO_CACHE=1) or without an absolute home: no cache, rather than one in
    the current directory (a relative XDG_CACHE_HOME is ignored, as the spec says)."""
    if no_cache or os.environ.get("GDCLI_NO_CACHE", "") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.environ.get("HOME", "")
        if not os.path.isabs(home) or not os.path.isdir(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "gdcli")


def completing() -> bool:
    """Is the shell asking for completions? (It needs every command.)"""
    return any(k.endswith("_COMPLETE") for k in os.environ)


def environ() -> dict[str, str]:
    return dict(os.environ)
