"""customs-rules: declarative customs risk rules that say hold, inspect or release.

The public API is `__all__` below; everything else is internal and may move.

    from customs_rules import Screener, Store, read_all

    store = Store("sqlite:///customs.db")
    screener = Screener.open(store)             # rules, policy and a registry snapshot
    for outcome in screener.screen_inputs(read_all(["day.csv"])):
        ...                                     # a Screening or a Rejected, in input order

The code is laid out by stage (README, "How it works"): `contract` (the models),
`io` (readers and writers), `rules`, `engine`, `entities`, `screening` (the core),
`store` (all SQL), `workflow`, `report` and `cli`.

Names are imported on first use (PEP 562): `import customs_rules` and the command line's
`--help` load none of pydantic, polars, SQLAlchemy or the engine (tests/test_cold_start.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .runtime import lazy_exports

__version__ = "0.1.0"

_WHERE = {
    # screening, one declaration or many, and the officer workflow
    "Screener": ".workflow.screener", "Screening": ".workflow.screener", "default_rules_dir": ".workflow.screener",
    "load_registry": ".workflow.screener", "check_registry": ".workflow.screener",
    "screen_files": ".workflow.batch", "submit": ".workflow.officer", "rescreen": ".workflow.officer",
    # the store
    "Store": ".store", "default_db_url": ".store",
    # inputs
    "read_declarations": ".io.declarations", "read_all": ".io.declarations", "Parsed": ".io.parsing",
    "Rejected": ".io.parsing", "read_chunks": ".io",
    # the contract
    "Declaration": ".contract.models", "Item": ".contract.models", "Party": ".contract.models",
    "CompanyRecord": ".contract.registry_rows", "PersonRecord": ".contract.registry_rows",
    "WatchlistRecord": ".contract.registry_rows",
    "Decision": ".contract.decision", "Finding": ".contract.decision",  # what a Screening decided
    # rules and policy
    "Rule": ".rules.model", "RulePack": ".rules.model", "load_pack": ".rules.loader", "Policy": ".rules.policy",
    "policy_from": ".rules.policy",
    # the registry
    "RegistryIndex": ".entities.registry", "CompiledRegistry": ".entities.compiled",
    # errors
    "CustomsRulesError": ".contract.errors", "InputError": ".contract.errors", "RuleError": ".contract.errors",
    "StorageError": ".contract.errors", "RegistryMissingError": ".contract.errors",
    "LocatedError": ".contract.errors", "Location": ".contract.errors",
}  # fmt: skip

if TYPE_CHECKING:
    from .contract.decision import Decision, Finding
    from .contract.errors import (
        CustomsRulesError,
        InputError,
        LocatedError,
        Location,
        RegistryMissingError,
        RuleError,
        StorageError,
    )
    from .contract.models import Declaration, Item, Party
    from .contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
    from .entities.compiled import CompiledRegistry
    from .entities.registry import RegistryIndex
    from .io import read_chunks
    from .io.declarations import read_all, read_declarations
    from .io.parsing import Parsed, Rejected
    from .rules.loader import load_pack
    from .rules.model import Rule, RulePack
    from .rules.policy import Policy, policy_from
    from .store import Store, default_db_url
    from .workflow.batch import screen_files
    from .workflow.officer import rescreen, submit
    from .workflow.screener import Screener, Screening, check_registry, default_rules_dir, load_registry


__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "CompanyRecord",
    "CompiledRegistry",
    "CustomsRulesError",
    "Decision",
    "Declaration",
    "Finding",
    "InputError",
    "Item",
    "LocatedError",
    "Location",
    "Parsed",
    "Party",
    "PersonRecord",
    "Policy",
    "RegistryIndex",
    "RegistryMissingError",
    "Rejected",
    "Rule",
    "RuleError",
    "RulePack",
    "Screener",
    "Screening",
    "StorageError",
    "Store",
    "WatchlistRecord",
    "__version__",
    "check_registry",
    "default_db_url",
    "default_rules_dir",
    "load_pack",
    "load_registry",
    "policy_from",
    "read_all",
    "read_chunks",
    "read_declarations",
    "rescreen",
    "screen_files",
    "submit",
]
