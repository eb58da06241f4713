"""Rows of the registry snapshot found by key, without decoding whole parts (issue #13).

Since migration 0014 the name keys, person pairs and company edges live only in the
snapshot (`store.registry_snapshot`). One officer's submit and `registry match` need a
few of their rows: a part's key column is read alone (Arrow IPC keeps each column's
buffers apart: ~4 ms for 344k hashes, ~15 ms for 565k short strings at 100k companies),
the positions of the wanted keys found in it, and only the record batches holding those
positions decoded (a slice of the file: polars reads the batches it overlaps).

Each part's data is fetched once per lookup, in the caller's session (one transaction:
one snapshot of the registry).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable
from typing import Any

import polars as pl
from sqlmodel import Session

from . import registry_snapshot, snapshot_files

AT = "at"  # the column `rows` adds: each row's position in its part (its load order)
# `touching` decodes a part's other columns whole when its rows fall in more than one in
# WHOLE_FROM of its record batches (a batch alone costs about eight times its share of a pass)
WHOLE_FROM = 8


class SnapshotLookup:
    """Reads of the snapshot's parts by position and by key, in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._data: dict[str, bytes | None] = {}
        self._columns: dict[tuple[str, str], pl.Series] = {}
        self._batches: dict[tuple[str, int], pl.DataFrame] = {}
        self._whole: dict[str, pl.DataFrame] = {}

    def _part(self, name: str) -> bytes | None:
        if name not in self._data:
            self._data[name] = registry_snapshot.read_part(self.session, name)
        return self._data[name]

    def column(self, name: str, column: str) -> pl.Series:
        """One column of part `name`, whole (decoded once per lookup)."""
        if (name, column) not in self._columns:
            data = self._part(name)
            if name in self._whole:
                found = self._whole[name][column]
            elif data is None:
                found = snapshot_files.empty(name)[column]
            else:
                found = pl.read_ipc(data, columns=[column])[column]
            self._columns[(name, column)] = found
        return self._columns[(name, column)]

    def frame(self, name: str, columns: Iterable[str] | None = None) -> pl.DataFrame:
        """Part `name` whole (or these columns of it)."""
        data = self._part(name)
        chosen = None if columns is None else list(columns)
        if data is None:
            found = snapshot_files.empty(name)
            return found if chosen is None else found.select(chosen)
        return pl.read_ipc(data, columns=chosen)

    def rows(self, name: str, positions: Iterable[int]) -> pl.DataFrame:
        """The rows of part `name` at these positions, each once, in their order in the
        part, with their position (`AT`)."""
        wanted = sorted(set(positions))
        data = self._part(name)
        if not wanted or data is None:
            return snapshot_files.empty(name).with_columns(pl.Series(AT, [], dtype=pl.Int64))
        size = registry_snapshot.BATCH_ROWS
        runs = _runs(wanted, size)
        frames = [self._batch(name, data, group[0] // size)[[at % size for at in group]] for group in runs]
        return pl.concat(frames).with_columns(pl.Series(AT, wanted, dtype=pl.Int64))

    def _batch(self, name: str, data: bytes, number: int) -> pl.DataFrame:
        """Rows number * BATCH_ROWS onwards (BATCH_ROWS of them, as the part's record
        batches were written), decoded once per lookup: a submit asks for the same
        companies and people several times as its part grows."""
        if (name, number) not in self._batches:
            size = registry_snapshot.BATCH_ROWS
            self._batches[(name, number)] = pl.scan_ipc(io.BytesIO(data)).slice(number * size, size).collect()
        return self._batches[(name, number)]

    def touching(self, name: str, columns: Iterable[str], values: Collection[Any]) -> pl.DataFrame:
        """The rows of part `name` where any of `columns` is one of `values`, as `rows`
        gives them (each once, in their order in the part, with their position `AT`).

        The rows found in a few record batches are decoded batch by batch; found in many
        (the links around a submit's parties touch 56 of the 69 batches of person pairs
        at 100k companies by the second step), the part's other columns are decoded in
        one pass beside the key columns already read: decoding most batches one by one
        cost about twice that."""
        columns = list(columns)
        found = sorted({at for column in columns for at in self.positions(name, column, values)})
        data = self._part(name)
        size = registry_snapshot.BATCH_ROWS
        batches = -(-len(self.column(name, columns[0])) // size)
        if data is None or len({at // size for at in found}) * WHOLE_FROM <= batches:
            return self.rows(name, found)
        if name not in self._whole:
            kept = [c for c in snapshot_files.SCHEMAS[name] if (name, c) in self._columns]
            rest = pl.read_ipc(data, columns=[c for c in snapshot_files.SCHEMAS[name] if c not in kept])
            whole = rest.with_columns(self._columns[(name, c)] for c in kept)
            self._whole[name] = whole.select(list(snapshot_files.SCHEMAS[name]))
        return self._whole[name][found].with_columns(pl.Series(AT, found, dtype=pl.Int64))

    def where(self, name: str, column: str, values: Collection[Any]) -> pl.DataFrame:
        """The rows of part `name` whose `column` is one of `values` (as `rows`)."""
        if not values:
            return self.rows(name, ())
        found = self.column(name, column)
        return self.rows(name, found.is_in(pl.Series(list(values), dtype=found.dtype).implode()).arg_true().to_list())

    def positions(self, name: str, column: str, values: Collection[Any]) -> list[int]:
        """The positions in part `name` whose `column` is one of `values`."""
        if not values:
            return []
        found = self.column(name, column)
        return found.is_in(pl.Series(list(values), dtype=found.dtype).implode()).arg_true().to_list()


def _runs(positions: list[int], size: int) -> list[list[int]]:
    """Sorted positions grouped by the record batch (of `size` rows) they fall in: one
    slice read each."""
    runs: list[list[int]] = []
    for at in positions:
        if runs and at // size == runs[-1][0] // size:
            runs[-1].append(at)
        else:
            runs.append([at])
    return runs
