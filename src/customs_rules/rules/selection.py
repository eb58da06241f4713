"""Random selection: a set share of otherwise released declarations sent to inspection.

    # rules/policy.yaml
    random_selection:
      share: 0.02          # 0 < share <= 0.5

A declaration is selected when HMAC-SHA256(seed, declaration id), read as a number in
[0, 1), falls below the share: the same seed and id always give the same answer (a
rescreen, a replay, another worker, another chunking), and without the seed nobody can
tell which ids will be drawn. The seed is a secret kept outside the rule pack (never in
its files, so never in the stored rule set): `$CUSTOMS_RULES_RANDOM_SEED`, or the first
line of the file named by `$CUSTOMS_RULES_RANDOM_SEED_FILE`, at least 16 characters.
Without a seed the selection is off, and a run says so once. The finding it adds says
"random selection" and nothing of the seed or the draw.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..contract.decision import Finding
from ..contract.errors import LocatedError, Location, RuleError
from .yamlfile import line_of

ENV_SEED = "CUSTOMS_RULES_RANDOM_SEED"
ENV_SEED_FILE = "CUSTOMS_RULES_RANDOM_SEED_FILE"
MIN_SEED = 16  # characters: shorter secrets can be guessed
MAX_SHARE = 0.5
RULE_ID = "random-selection"
TITLE = "Random selection"
SECTION = "random_selection"

NO_SEED_WARNING = (
    f"warning: the policy's random_selection is OFF: no seed in ${ENV_SEED} or ${ENV_SEED_FILE}; no declaration "
    "is selected at random"
)


def draw(seed: bytes, declaration_id: str) -> float:
    """The declaration's number in [0, 1): the first 64 bits of HMAC-SHA256(seed, id)."""
    digest = hmac.new(seed, declaration_id.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def selected(seed: bytes, declaration_id: str, share: float) -> bool:
    return share > 0 and draw(seed, declaration_id) < share


def finding(share: float) -> Finding:
    """What a selected declaration's decision shows: inspect, no score, no secret."""
    evidence = {"random_selection": {"share": share, "why": "selected at random for inspection among the "
                                                            "declarations the rules released"}}  # fmt: skip
    return Finding(RULE_ID, TITLE, "inspect", 0.0, None, evidence)


def seed_from_environment(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The secret seed, or None when none is set. A seed too short, or a seed file that
    cannot be read, is refused (RuleError, exit 2): someone meant to set one."""
    environ = os.environ if environ is None else environ
    text = environ.get(ENV_SEED)
    where = f"${ENV_SEED}"
    if not text and environ.get(ENV_SEED_FILE):
        path = Path(environ[ENV_SEED_FILE])
        where = f"${ENV_SEED_FILE} ({path})"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as exc:
            raise _refused(where, f"cannot read the seed file: {getattr(exc, 'strerror', None) or exc}") from None
        text = lines[0].strip() if lines else ""
    if not text:
        return None
    if len(text) < MIN_SEED:
        raise _refused(where, f"the random-selection seed must be at least {MIN_SEED} characters, got {len(text)}")
    return text.encode("utf-8")


def _refused(where: str, message: str) -> RuleError:
    return RuleError("random selection cannot start", [LocatedError(Location(where), message)],
                     f"set ${ENV_SEED} to a long random secret, e.g. `openssl rand -hex 32`")  # fmt: skip


def selection_problems(doc: dict[str, Any], source: str) -> list[LocatedError]:
    """`random_selection: {share: S}` in the policy, 0 < S <= 0.5."""
    settings = doc.get(SECTION)
    if settings is None:
        return []
    if not isinstance(settings, dict) or set(settings) != {"share"}:
        return [LocatedError(Location(source, line_of(doc, SECTION), field=SECTION), f"{SECTION} takes one key: share")]
    share = settings["share"]
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= MAX_SHARE:
        where = Location(source, line_of(settings, "share"), field=f"{SECTION}.share")
        return [LocatedError(where, f"share must be a number above 0 and at most {MAX_SHARE}, got {share!r}")]
    return []


def share_of(doc: dict[str, Any]) -> float:
    """The policy's share (0: no random selection)."""
    settings = doc.get(SECTION)
    return float(settings.get("share", 0)) if isinstance(settings, dict) else 0.0
