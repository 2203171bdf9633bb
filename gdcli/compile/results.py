"""The on-disk cache of results: a repeated derive, grad, check or slope is answered
from what the first call computed, without SymPy.

An entry is data only (JSON: numbers, texts, lists; never code), keyed by
everything that decides the result: the command and every argument as given (the
expression already read from stdin or the environment), the time budget, gdcli's
version and the state of its sources, and the installed SymPy, mpmath and NumPy
(their printing decides texts). Entries live beside the compiled losses, under the same
rules: a directory only the user can write (0700, owner and mode checked), a
regular file owned by the user, a size limit, anything odd or corrupt ignored (the
call then computes again, and writes a fresh entry), never an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from gdcli.compile.files import _sha256, read_entry, write_entry
from gdcli.limits import MAX_RESULT_ENTRY

FORMAT = 3  # bump when the layout of an entry changes
MAX_ENTRY = MAX_RESULT_ENTRY  # bytes of one entry; a larger file is not read
PREFIX = "result-"


def _stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def fingerprint() -> str:
    """gdcli's version and sources, and the SymPy and NumPy installed: a change in
    any of them makes every entry a miss (no import of either is needed)."""
    import importlib.util

    from gdcli import version

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stamps = [version()]
    for root, dirs, files in os.walk(here):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        stamps += [
            f"{f}={_stamp(os.path.join(root, f))}" for f in sorted(files) if f.endswith(".py")
        ]
    installed = {
        "sympy": ("release.py", "__init__.py"),
        "mpmath": ("__init__.py",),  # its printing writes a counterexample's digits
        "numpy": ("version.py",),
    }
    for package, names in installed.items():
        spec = importlib.util.find_spec(package)
        origin = spec.origin if spec is not None else None
        folder = os.path.dirname(origin) if origin else ""
        stamps += [f"{package}/{n}={_stamp(os.path.join(folder, n))}" for n in names]
    return "\n".join(stamps)


def result_key(command: str, parts: Sequence[str]) -> str:
    """The key of a command's result: the command, its arguments, the fingerprint."""
    text = "\0".join([f"gdcli results format {FORMAT}", fingerprint(), command, *parts])
    return str(_sha256()(text.encode("utf-8", "surrogatepass")).hexdigest())


class Results:
    """Results in `directory` (None: no cache at all)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    def _path(self, key: str) -> str:
        assert self.directory is not None
        return os.path.join(self.directory, f"{PREFIX}{key}.json")

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored result for `key` (a dict, unchecked beyond its envelope), or None
        when absent, foreign, corrupt or unsafe."""
        if self.directory is None:
            return None
        try:
            data = read_entry(self.directory, self._path(key), key, FORMAT, MAX_ENTRY)
            if not isinstance(data.get("result"), dict):
                return None
            result: dict[str, Any] = data["result"]
            return result
        except (OSError, ValueError, RecursionError, MemoryError):
            return None

    def store(self, key: str, result: dict[str, Any]) -> None:
        """Write an entry atomically; a cache that cannot be written is skipped."""
        if self.directory is None:
            return
        try:
            text = json.dumps({"key": key, "format": FORMAT, "result": result})
            if len(text) > MAX_ENTRY:
                return
            write_entry(self.directory, os.path.basename(self._path(key)), text)
        except (OSError, ValueError, TypeError, RecursionError):
            return
