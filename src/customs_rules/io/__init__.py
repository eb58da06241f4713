"""Readers and writers: input files as streams (`inputs`), records parsed and validated one
by one (`parsing`, `csv_input`, `json_input`), the columnar readers that hand on chunks of
whole declarations (`DeclarationSet`) and their rejections in the order the record-by-record
readers do (`reader`, `csv_read`, `sheets`), and text written safely (`safe_text`).

Names are imported on first use (PEP 562): the command line imports `io.safe_text` before
it knows whether polars will be needed (tests/test_cold_start.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..runtime import lazy_exports

_WHERE = {"Chunk": ".chunk", "from_records": ".chunk", "CHUNK_LINES": ".reader", "read_chunks": ".reader",
          "read_input": ".reader"}  # fmt: skip

if TYPE_CHECKING:
    from .chunk import Chunk, from_records
    from .reader import CHUNK_LINES, read_chunks, read_input


__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = ["CHUNK_LINES", "Chunk", "from_records", "read_chunks", "read_input"]
