"""Readers and writers: input files as streams (`inputs`), records parsed and validated one
by one (`parsing`, `csv_input`, `json_input`), the columnar readers that hand on chunks of
whole declarations (`DeclarationSet`) and their rejections in the order the record-by-record
readers do (`reader`, `csv_read`, `sheets`), and text written safely (`safe_text`).

Names are imported on first use (PEP 562): the command line imports `io.safe_text` before
it knows whether polars will be needed (tests/test_cold_start.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {"Chunk": ".chunk", "from_records": ".chunk", "CHUNK_LINES": ".reader", "read_chunks": ".reader",
          "read_input": ".reader"}  # fmt: skip

if TYPE_CHECKING:
    from .chunk import Chunk, from_records
    from .reader import CHUNK_LINES, read_chunks, read_input


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        # an AttributeError lets `from customs_rules.io import parsing` find the submodule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


__all__ = ["CHUNK_LINES", "Chunk", "from_records", "read_chunks", "read_input"]
