"""Readers by columns: every input as chunks of whole declarations (`DeclarationSet`)
and their rejections, in the order the record-by-record readers hand them on."""

from .chunk import Chunk, from_records
from .reader import CHUNK_LINES, read_chunks, read_input

__all__ = ["CHUNK_LINES", "Chunk", "from_records", "read_chunks", "read_input"]
