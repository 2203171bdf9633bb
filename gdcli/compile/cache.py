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

from gdcli.compile.arrays import ArrayCompiled
from gdcli.compile.files import _sha256, read_entry, write_entry
from gdcli.compile.runtime import Compiled
from gdcli.limits import MAX_CACHE_ENTRY

FORMAT = 8  # bump when the generated source or the entry layout changes
MAX_ENTRY = MAX_CACHE_ENTRY  # bytes of one entry; a larger file is not read


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
    return str(_sha256()("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest())


class Cache:
    """Compiled losses in `directory` (None: no cache at all)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory

    def load(self, key: str) -> Compiled | ArrayCompiled | None:
        """The entry for `key`, or None when absent, foreign, corrupt or unsafe."""
        if self.directory is None:
            return None
        path = os.path.join(self.directory, f"{key}.json")
        try:
            data = read_entry(self.directory, path, key, FORMAT, MAX_ENTRY)
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
            data = {"key": key, "format": FORMAT, "compiled": compiled.to_json()}
            write_entry(self.directory, f"{key}.json", json.dumps(data))
        except (OSError, ValueError, RecursionError):  # a path too deep recurses in makedirs
            return


NO_CACHE = Cache(None)
