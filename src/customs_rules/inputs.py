"""Input files as streams: plain or gzip-compressed, a path or stdin, UTF-8 checked.

Readers make two passes over a file (the first checks it is readable and learns where
each declaration ends), so stdin is first copied to a temporary file, in chunks: memory
stays flat whatever the size. Positions in the underlying file feed the progress bar.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, TextIO, cast

from .errors import InputError, LocatedError, Location

# a long field is its record's problem (validation refuses it), not the whole file's:
# batch CSVs and registry files alike (both import this module)
MAX_CSV_FIELD = 1 << 26
csv.field_size_limit(MAX_CSV_FIELD)

GZIP_MAGIC = b"\x1f\x8b"
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class Source:
    """One input: where it is, how it is compressed, and what format it holds."""

    tracked: Source | None = None  # the input whose records are being handed on now
    finished_bytes = 0  # of the inputs already handed on, for progress across files

    def __init__(self, path: str, stream: TextIO | None = None) -> None:
        self.name = "<stdin>" if path == "-" else path
        self._temp: str | None = None
        if path == "-":
            self.path = Path(self._spool(stream or sys.stdin))
        else:
            self.path = Path(path)
            if not self.path.is_file():
                problem = "no such file" if not self.path.exists() else "not a regular file"
                raise InputError(f"cannot read {path}", [LocatedError(Location(path), problem)])
        try:
            with self.path.open("rb") as handle:
                self.gzipped = handle.read(2) == GZIP_MAGIC
            self.size = self.path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read {self.name}", [LocatedError(Location(self.name), str(exc))]) from None
        self._raw: IO[bytes] | None = None

    def _spool(self, stream: Any) -> str:
        handle, name = tempfile.mkstemp(prefix="customs-rules-stdin-")
        self._temp = name
        with os.fdopen(handle, "wb") as out:
            raw = getattr(stream, "buffer", None)
            if raw is not None:
                shutil.copyfileobj(raw, out, 1 << 20)
            else:  # a text stream without bytes underneath (tests, embedding programs)
                for chunk in iter(lambda: stream.read(1 << 20), ""):
                    out.write(chunk.encode("utf-8"))
        return name

    def open(self, track: bool = False) -> TextIO:
        """A fresh text stream from the start (the BOM dropped, line endings kept);
        `track` marks the pass whose position the progress bar follows."""
        self._raw = self.path.open("rb")
        if track:
            Source.tracked = self
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=self._raw) if self.gzipped else self._raw)
        # bytes that are not UTF-8 become lone surrogates: the record holding them is
        # rejected (with its line), not the whole file
        return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")

    def position(self) -> int:
        """Bytes of the file (compressed bytes for gzip) read so far by the last `open`."""
        try:
            return self._raw.tell() if self._raw is not None and not self._raw.closed else self.size
        except (OSError, ValueError):
            return self.size

    def kind(self) -> str:
        """The format: from the extension (ignoring .gz), else sniffed from the content."""
        name = self.name.removesuffix(".gz") if self.name != "<stdin>" else ""
        by_suffix = SUFFIXES.get(Path(name).suffix.lower())
        if by_suffix:
            return by_suffix
        with self.open() as text:
            head = text.read(65536)
        stripped = head.lstrip()
        if not stripped:
            return "csv"
        if stripped[0] == "[":
            return "json"
        if stripped[0] == "{":
            first, _, rest = stripped.partition("\n")
            return "jsonl" if rest.strip() and first.rstrip().endswith("}") else "json"
        return "csv"

    def close(self) -> None:
        if Source.tracked is self:
            Source.finished_bytes += self.size
            Source.tracked = None
        if self._raw is not None:
            self._raw.close()
        if self._temp:
            Path(self._temp).unlink(missing_ok=True)
            self._temp = None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bytes_done() -> int:
    """Bytes of input handed on so far in this process (for the progress bar)."""
    current = Source.tracked
    return Source.finished_bytes + (current.position() if current is not None else 0)


def unreadable(source: str, exc: Exception, line: int | None = None) -> InputError:
    """A decoding or I/O failure as a located input error."""
    if isinstance(exc, UnicodeDecodeError):
        problem = "not UTF-8 text; save the file as UTF-8"
    elif isinstance(exc, EOFError | gzip.BadGzipFile):
        problem = f"damaged gzip data ({exc})"
    else:
        problem = str(exc)
    return InputError(f"cannot read {source}", [LocatedError(Location(source, line), problem)])
