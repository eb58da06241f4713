"""Rule packs kept as data (a published pack's files, as the database holds them) made
back into a pack, and the backtest summary a publication carries.

A stored pack is materialised safely: each file name must be a plain relative path to a
`.yaml`/`.yml` file (no `..`, no absolute path, no control character), the files are
written to a private temporary folder, read by the same loader as any `--rules` folder
(safe YAML only: nothing is ever executed), and the folder is removed at once. The files
must still hash to the version they were stored under.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from ..contract.errors import LocatedError, Location, PackError
from ..contract.input_text import control_problem
from .loader import load_pack
from .model import RulePack

NAME = re.compile(r"[^\\:*?\"<>|]+\.ya?ml")  # and no part is empty, `.` or `..`
BACKTEST_LIMIT = 1 << 20  # bytes of a backtest summary
BACKTEST_DEPTH = 32  # nested objects and arrays in it


def unsafe_name(name: str) -> str | None:
    """Why a stored file name may not be written under a pack's folder, or None."""
    path = PurePosixPath(name)
    if not NAME.fullmatch(name) or control_problem(name):
        return "is not a rule file name (a relative path ending .yaml or .yml)"
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return "leaves the pack's folder"
    return None


@contextmanager
def materialised(contents: dict[str, str], label: str) -> Iterator[Path]:
    """The files written to a fresh private folder named `label` (errors read
    `label/drones/drones.yaml:4`), removed when the block ends."""
    for name in contents:
        problem = unsafe_name(name)
        if problem:
            raise PackError(f"{label}: the stored file name {name!r} {problem}: the pack is refused")
    with tempfile.TemporaryDirectory(prefix="customs-rules-pack-") as folder:
        root = Path(folder) / label
        root.mkdir()
        for name, text in contents.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        yield root


def pack_from_contents(contents: dict[str, str], label: str, version: str | None = None) -> RulePack:
    """A stored pack loaded and validated (RuleError when broken), refused (PackError)
    when its files no longer hash to `version`."""
    with materialised(contents, label) as root:
        pack = load_pack(root)
    if version is not None and pack.version != version:
        raise PackError(
            f"{label}: its stored files no longer hash to {version}: the pack is refused",
            "customs-rules audit verify names what was altered",
        )
    return pack


def read_backtest(path: Path, version: str) -> dict[str, Any]:
    """A backtest summary: one JSON object (strict JSON, at most 1 MiB, nested at most 32
    levels). Its optional `candidate_version` must be the version being published: a
    summary of another pack is refused, with its location."""
    where = Location(str(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _refused(where, f"cannot read it: {exc.strerror or exc}") from None
    if len(raw) > BACKTEST_LIMIT:
        raise _refused(where, f"larger than {BACKTEST_LIMIT} bytes: give the summary, not the declarations")
    try:
        summary = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise _refused(where, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _refused(Location(str(path), exc.lineno), f"not JSON: {exc.msg} (column {exc.colno})") from None
    except ValueError as exc:
        raise _refused(where, str(exc)) from None
    if not isinstance(summary, dict):
        raise _refused(where, f"a backtest summary is a JSON object, not {type(summary).__name__}")
    if _depth(summary) > BACKTEST_DEPTH:
        raise _refused(where, f"nested deeper than {BACKTEST_DEPTH} levels")
    candidate = summary.get("candidate_version")
    if candidate is not None and candidate != version:
        field = Location(str(path), field="candidate_version")
        raise _refused(field, f"the backtest ran on {candidate!r}, not on the pack being published ({version})")
    return summary


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _refused(where: Location, message: str) -> PackError:
    return PackError(f"backtest summary refused: {LocatedError(where, message)}; nothing was stored")
