"""Input files as streams: plain or gzip-compressed, a path or stdin, UTF-8 checked.

Readers make two passes over a file (the first checks it is readable and learns where
each declaration ends), so stdin is first copied to a temporary file, in chunks: memory
stays flat whatever the size. Positions in the underlying file feed the progress bar.
Lines are read with a bound (`LineReader`): a line too long to be a declaration's is
read through in pieces and rejected, so a gzip bomb of one endless line costs no memory.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TextIO, cast

from ..contract.errors import InputError, LocatedError, Location

# a long field is its record's problem (validation refuses it), not the whole file's:
# batch CSVs and registry files alike (both import this module). It also bounds a line:
# a longer one is read through and rejected (`LineReader`), so no field on a line that is
# read can pass the csv module's limit; only a quoted field spanning lines can.
MAX_CSV_FIELD = 1 << 26
csv.field_size_limit(MAX_CSV_FIELD)

GZIP_MAGIC = b"\x1f\x8b"
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
ACCEPTED = (
    "declarations are read from JSON, JSON Lines or batch CSV (UTF-8 text, optionally gzip-compressed), "
    ".xlsx workbooks and Parquet files"
)
# formats read as they are (by columns, `customs_rules.io.sheets`), never compressed
READABLE = {"an Excel workbook (.xlsx)": "xlsx", "a Parquet file": "parquet"}
HEAD = 1 << 16  # bytes looked at to tell a file's format; characters kept of a line too long

# Files that are not text, by their first bytes: said by name instead of reading them as
# CSV ("missing column(s): declaration_id ...") or as bytes that are not UTF-8.
MAGIC: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive (empty)"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or another old Office file"),
    (b"PAR1", "a Parquet file"),
    (b"ARROW1", "an Arrow/Feather file"),
    (b"%PDF-", "a PDF document"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (GZIP_MAGIC, "gzip-compressed data"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
]
# inside a ZIP, the first entries' names tell what the archive is
ZIP_KINDS = [
    (b"application/vnd.oasis.opendocument.spreadsheet", "an OpenDocument spreadsheet (.ods)"),
    (b"xl/", "an Excel workbook (.xlsx)"),
    (b"word/", "a Word document (.docx)"),
]


def file_format(head: bytes) -> str | None:
    """What a file whose first bytes are `head` is, when it is not text we read: None for
    text (the readers then say what is wrong with it, line by line)."""
    for magic, name in MAGIC:
        if head.startswith(magic):
            if name.startswith("a ZIP"):
                return next((kind for marker, kind in ZIP_KINDS if marker in head), name)
            return name
    # all or mostly NUL bytes (a disk image, a bomb of zeros): a stray NUL in a field
    # is that row's problem, not the file's
    if head and (head[0] == 0 or head.count(0) * 4 > len(head)):
        # ASCII letters in UTF-16: every other byte NUL, the others not
        zeros = sorted((head[0::2].count(0), head[1::2].count(0)))
        utf16 = zeros[0] * 8 < len(head) // 2 < zeros[1] * 2
        return "UTF-16 text without a byte-order mark" if utf16 else "binary data"
    return None


def not_text(name: str, kind: str, accepted: str = ACCEPTED) -> InputError:
    """The refusal of a file that is not text we read: what it is, and what is accepted."""
    if "UTF-16" in kind or "UTF-32" in kind:
        hint = "save it as UTF-8 (e.g. iconv -f utf-16 -t utf-8)"
    elif ("Excel" in kind or "spreadsheet" in kind) and accepted != ACCEPTED:
        hint = "save the sheet as CSV UTF-8 (Excel and ODS files are not read directly yet)"
    elif "inside gzip" in kind and any(readable in kind for readable in READABLE):
        hint = "decompress it first: workbooks and Parquet files are read as they are"
    elif "Excel" in kind or "spreadsheet" in kind:
        hint = "save it as an .xlsx workbook, or the sheet as CSV UTF-8"
    else:
        hint = None
    return InputError(f"cannot read {name}", [LocatedError(Location(name), f"{kind}; {accepted}")], hint)


def os_problem(exc: OSError) -> str:
    """An operating-system failure in the words every command uses for files."""
    words = {
        errno.ENOENT: "no such file",
        errno.EISDIR: "is a directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "no such file (a part of the path is not a directory)",
    }
    return words.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def path_problem(path: Path) -> str | None:
    """What keeps `path` from being read as an input file, or None when it can be read."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            return "is a directory"
        if not stat.S_ISREG(mode):
            # readers make two passes over a file: a pipe can be read only once
            return "not a regular file (to read a pipe, give '-' and redirect it to stdin)"
        with path.open("rb"):
            return None
    except OSError as exc:
        return os_problem(exc)


def cannot_read(name: str, problem: str, line: int | None = None, hint: str | None = None) -> InputError:
    return InputError(f"cannot read {name}", [LocatedError(Location(name, line), problem)], hint)


def empty_input(name: str) -> InputError:
    """Nothing to read: stdin got no input, or a file holds no declarations."""
    return cannot_read(name, "no input" if name == "<stdin>" else "empty file: no declarations")


def check_inputs(paths: list[str]) -> None:
    """Refuse before anything is screened when a path cannot be read (a mistyped path,
    a directory) or holds another format (a workbook, an archive): every one is named.
    stdin (`-`) is checked when it is read."""
    errors: list[LocatedError] = []
    hints: dict[str, None] = {}
    for path in dict.fromkeys(p for p in paths if p != "-"):
        try:
            Source(path).close()
        except InputError as exc:
            errors += exc.errors
            hints.update({exc.hint: None} if exc.hint else {})
    if errors:
        what = f"cannot read {errors[0].location.source}" if len(errors) == 1 else f"cannot read {len(errors)} inputs"
        raise InputError(what, errors, "; ".join([*hints, "nothing was screened: check the path(s) and screen again"]))


class Source:
    """One input: where it is, how it is compressed, and what format it holds."""

    tracked: Source | None = None  # the input whose records are being handed on now
    binary_kind: str | None = None  # "xlsx" or "parquet": a file read by columns, not as text
    finished_bytes = 0  # of the inputs already handed on, for progress across files

    def __init__(self, path: str, stream: TextIO | None = None) -> None:
        self.name = "<stdin>" if path == "-" else path
        self._temp: str | None = None
        if path == "-":
            self.path = Path(self._spool(stream or sys.stdin))
        else:
            self.path = Path(path)
            problem = path_problem(self.path)
            if problem:
                raise cannot_read(path, problem)
        self._raw: IO[bytes] | None = None
        try:
            with self.path.open("rb") as handle:
                self.gzipped = handle.read(2) == GZIP_MAGIC
            self.size = self.path.stat().st_size
            kind = file_format(self._head())
        except OSError as exc:
            self.close()
            raise cannot_read(self.name, os_problem(exc)) from None
        if kind in READABLE and not self.gzipped:
            self.binary_kind = READABLE[kind]
        elif kind:
            self.close()
            twice = self.gzipped and "gzip" in kind
            inside = " inside gzip" if self.gzipped and kind in READABLE else ""
            raise not_text(self.name, kind + (" inside gzip (compressed twice)" if twice else inside))

    def _head(self) -> bytes:
        """The first bytes of the content (decompressed): damaged gzip data is left for
        the readers to locate."""
        with self.path.open("rb") as raw:
            if not self.gzipped:
                return raw.read(HEAD)
            try:
                return gzip.GzipFile(fileobj=raw).read(HEAD)
            except (EOFError, gzip.BadGzipFile, OSError):
                return b""

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
    elif isinstance(exc, OSError):
        problem = os_problem(exc)
    else:
        problem = str(exc)
    return cannot_read(source, problem, line)


class CutLine(str):
    """Stands in for a line too long to read (see `LineReader`): its text is what the
    reader was asked to put in its place; `head` is the line's beginning."""

    number: int
    length: int  # characters, without the line ending
    head: str

    def problem(self) -> str:
        return (
            f"line {self.number} is {self.length:,} characters long, past the limit of {MAX_CSV_FIELD:,}: "
            "too big for a declaration; it was not read"
        )


class LineReader:
    """The physical lines of a text stream (line endings kept, as `for line in text`),
    none longer than `MAX_CSV_FIELD` characters: a longer line is read through in pieces
    and comes as a `CutLine`, so memory stays flat whatever the line (a gzip bomb of one
    endless line). `stand_in` makes the text a `CutLine` carries from the line's head."""

    PIECE = 1 << 20

    def __init__(self, text: TextIO, stand_in: Any = None) -> None:
        self.text, self.stand_in = text, stand_in
        self.number = 0  # lines read so far
        self.cut: list[CutLine] = []  # the cut lines not yet taken (see `take_cut`)
        self._pending: str | None = None  # read past a cut line's '\r', to hand on next

    def __iter__(self) -> Iterator[str]:
        limit = MAX_CSV_FIELD
        size, readline = limit + 2, self.text.readline  # a line of `limit` plus '\r\n' comes whole
        while True:
            line = readline(size) if self._pending is None else self._unread(size)
            if not line:
                return
            self.number += 1
            if len(line) > limit and len(line.rstrip("\r\n")) > limit:
                yield self._read_through(line)
            else:
                yield line

    def _unread(self, size: int) -> str:
        line, self._pending = cast(str, self._pending), None
        if not line.endswith(("\n", "\r")):
            line += self.text.readline(size - len(line))
        return line

    def _read_through(self, line: str) -> CutLine:
        length, piece = len(line.rstrip("\r\n")), line
        while not piece.endswith(("\n", "\r")):
            piece = self.text.readline(self.PIECE)
            if not piece:
                break
            length += len(piece.rstrip("\r\n"))
        if piece.endswith("\r"):  # a '\r\n' ending may have been split between two pieces
            # read as a line is read, so a line that follows comes whole, its ending too
            after = self.text.readline(MAX_CSV_FIELD + 2)
            if after and after != "\n":
                self._pending = after.removeprefix("\n") or None
        head = line[: min(HEAD, MAX_CSV_FIELD)]  # parsing it must not meet the csv field limit
        cut = CutLine(self.stand_in(head) if self.stand_in else head)
        cut.number, cut.length, cut.head = self.number, length, head
        self.cut.append(cut)
        return cut

    def take_cut(self, upto: int) -> list[CutLine]:
        """The cut lines up to line `upto` (those of the record just read)."""
        if not self.cut or self.cut[0].number > upto:
            return []
        taken = [c for c in self.cut if c.number <= upto]
        self.cut = self.cut[len(taken) :]
        return taken
