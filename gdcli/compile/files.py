"""Files of a cache: a user-only directory, regular files owned by the user, and the
hash that names entries (shared by the compiled-loss cache and the result cache,
without importing either)."""

from __future__ import annotations

import os
from typing import Any


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


def read_entry(directory: str, path: str, key: str, fmt: int, limit: int) -> dict[str, Any]:
    """A cache entry's JSON envelope: read only from a private directory and a private
    regular file of at most `limit` bytes, and only when it is a dict naming `key` and its
    `fmt`. Anything else raises ValueError (or OSError), for the caller to ignore."""
    import json

    if not (_private(directory, True) and _private(path, False)):
        raise ValueError("not a private entry")
    if os.path.getsize(path) > limit:
        raise ValueError("too large")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("key") != key or data.get("format") != fmt:
        raise ValueError("a foreign or stale entry")
    return data


def write_entry(directory: str, name: str, text: str) -> None:
    """Write `text` as the entry `name` in `directory`, atomically (a temporary file of
    this process, then a rename), the directory made private first; a directory that
    is not this user's own (a symlink, another user's) is left alone. OSError and
    ValueError are the caller's to ignore."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    _tighten(directory)
    if not _private(directory, True):
        return
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, os.path.join(directory, name))
