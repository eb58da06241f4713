"""The public API: every name of `customs_rules.__all__` resolves, lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import customs_rules


def test_every_public_name_resolves() -> None:
    for name in customs_rules.__all__:
        assert getattr(customs_rules, name) is not None, name


def test_the_public_names_are_the_ones_their_modules_define() -> None:
    from customs_rules.store import Store
    from customs_rules.workflow.screener import Screener

    assert customs_rules.Screener is Screener
    assert customs_rules.Store is Store


def test_importing_the_package_loads_no_heavy_layer() -> None:
    probe = "import json, sys, customs_rules; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                           check=True).stdout))  # fmt: skip
    assert not loaded & {"pydantic", "polars", "sqlalchemy", "sqlmodel", "durable_rules_engine", "alembic"}
