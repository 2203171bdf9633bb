"""The on-disk cache of compiled losses.

Entries are JSON data holding source that gdcli generated, keyed by gdcli's
version, the normalised expression and the names' roles, shapes and fixed values.
They live in a directory only the user can write (0700, checked for owner and
mode); every source is verified again before it runs; anything corrupt, foreign
or unsafe is ignored (and rebuilt), never an error. The directory is chosen by the
caller (the CLI reads the environment), None meaning no cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from gdcli.compile.arrays import ArrayCompiled
from gdcli.compile.runtime import Compiled

FORMAT = 6  # bump when the generated source or the entry layout changes
MAX_ENTRY = 10_000_000  # bytes of one entry; a larger file is not read


def _sha256() -> Any:
    """The bare SHA-256 module: hashlib would load OpenSSL, a cost at every start-up."""
    import importlib

    for name in ("_sha2", "_sha256"):  # Python >= 3.12, <= 3.11
        try:
            return importlib.import_module(name).sha256
        except ImportError:
            continue
    import hashlib

    return hashlib.sha256


def cache_key(text: str, shapes: Mapping[str, tuple[int, ...]], inputs: Mapping[str, str]) -> str:
    """The key of an entry: the loss as gdcli reads it, the weights' shapes and the
    inputs' value texts (so two losses that compile differently never share one)."""
    from gdcli import version

    parts = [
        f"gdcli {version()} format {FORMAT}",
        text,
        json.dumps(sorted((k, list(v)) for k, v in shapes.items())),
        json.dumps(sorted(inputs.items())),
    ]
    return str(_sha256()("\0".join(parts).encode()).hexdigest())


def _private(path: str, directory: bool) -> bool:
    """A regular file (or a real directory) owned by this user, writable by nobody else."""
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return False
    kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    return kind and st.st_uid == os.getuid() and not st.st_mode & 0o077


def _tighten(directory: str) -> None:
    """A real directory of this user's that others may read is made private (0700);
    anything else (a symlink, another user's) is left alone, and then not used."""
    import stat

    st = os.lstat(directory)
    if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077:
        os.chmod(directory, 0o700)


class Cache:
    """Compiled losses in `directory` (None: no cache at all)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    def load(self, key: str) -> Compiled | ArrayCompiled | None:
        """The entry for `key`, or None when absent, foreign, corrupt or unsafe."""
        if self.directory is None:
            return None
        path = os.path.join(self.directory, f"{key}.json")
        if not (_private(self.directory, True) and _private(path, False)):
            return None
        try:
            if os.path.getsize(path) > MAX_ENTRY:
                return None
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            if data.get("key") != key or data.get("format") != FORMAT:
                return None
            entry = data["compiled"]
            if entry.get("kind") == ArrayCompiled.kind:
                return ArrayCompiled.from_json(entry)
            return Compiled.from_json(entry)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, SyntaxError):
            return None
        except (RecursionError, MemoryError):
            return None

    def store(self, key: str, compiled: Compiled | ArrayCompiled) -> None:
        """Write an entry atomically; a cache that cannot be written is silently skipped."""
        if self.directory is None:
            return
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            _tighten(self.directory)
            if not _private(self.directory, True):
                return
            data = {"key": key, "format": FORMAT, "compiled": compiled.to_json()}
            temporary = os.path.join(self.directory, f".{key}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(temporary, os.path.join(self.directory, f"{key}.json"))
        except (OSError, ValueError, RecursionError):  # a path too deep recurses in makedirs
            return


NO_CACHE = Cache(None)
