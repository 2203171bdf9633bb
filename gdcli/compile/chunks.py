"""Rows in chunks: what a trace loop hands a writer, so that the writer formats many
rows in one go (one template, one write). No imports: the writers load it at start."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple


class Chunk(NamedTuple):
    """`rows` rows, their values one after the other (`width` values a row)."""

    rows: int
    values: list[Any]


INT, FLOAT, TEXT = "int", "float", "text"  # the kinds of value in a chunk's rows


class Chunked:
    """Rows (or JSON records) that may also come in chunks. Iterating gives them one by
    one. `chunked(encode)` gives the same rows as `Chunk`s, each row laid out as
    `kinds` (or as the leaves of `skeleton`, a record whose leaves are kinds, in
    order), and single rows or records where no chunk can be had; a text value in a
    chunk has passed through `encode` (the writer's quoting) already. Every float in a
    chunk of records is finite."""

    def __init__(
        self,
        rows: Iterable[Any],
        chunked: Callable[[Callable[[str], str]], Iterator[Any]],
        kinds: list[str] | None = None,
        skeleton: dict[str, Any] | None = None,
    ) -> None:
        self.rows = rows
        self.chunked = chunked
        self.kinds = kinds
        self.skeleton = skeleton

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)
