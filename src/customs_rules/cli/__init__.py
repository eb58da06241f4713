"""The command line, click only: `main` is the `customs-rules` group (`base`), and each
module registers its commands on it. The library is imported inside the commands, so
that `--help` and argument errors answer at once (tests/test_cold_start.py)."""

from . import audit, backtest, decisions, officer, packs, registry, rules, screen, snooze  # noqa: F401 - they register their commands
from .base import main

__all__ = ["main"]
