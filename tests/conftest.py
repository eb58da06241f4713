from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from customs_rules.entities.registry import RegistryIndex
from customs_rules.rules.loader import load_pack
from customs_rules.rules.model import RulePack
from customs_rules.store import Store
from customs_rules.workflow.screener import Screener, default_rules_dir

# No per-example deadline: a shared CI machine's load makes a timed example fail at random
# (a test here asserts behaviour, never speed; benchmarks/ measure that).
settings.register_profile("customs-rules", deadline=None)
settings.load_profile("customs-rules")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
PG_ENV = "CUSTOMS_RULES_TEST_PG"
# chips from a known Kazakh trader to Kyrgyzstan, covered by its activities: a release
CLEAN_CHIPS_DECLARATION: dict[str, Any] = {
    "declaration_id": "C-1",
    "date": "2024-02-01",
    "exporter": {"name": "Skyline Components LLP", "country": "KZ"},
    "consignee": {"name": "Tenir Tech", "country": "KG"},
    "dispatch_country": "KZ",
    "destination_country": "KG",
    "items": [{"hs_code": "8542.31", "value": 1000, "currency": "USD"}],
}
# a clean declaration (wheat from a known Kazakh trader to China): a release; tests change what they need
GOOD_DECLARATION: dict[str, Any] = {
    "declaration_id": "D-1",
    "date": "2024-01-15",
    "exporter": {"name": "Dala Grain LLP", "country": "KZ"},
    "consignee": {"name": "Harbin Grain Import Co"},
    "dispatch_country": "KZ",
    "destination_country": "CN",
    "items": [{"hs_code": "1001.99", "value": 100}],
}


@pytest.fixture(scope="session")
def pack() -> RulePack:
    return load_pack(default_rules_dir())


@pytest.fixture(scope="session")
def small_registry() -> RegistryIndex:
    """A hand-made registry: the seed story, clean traders and decoys."""
    companies = [
        CompanyRecord.model_validate(row)
        for row in [
            {"company_id": "190540012345", "name": "ТОО «Аспан Арба»", "country": "KZ",
             "registered_on": "2019-05-14", "activity_codes": "24.10;46.72;01.61;84.25",
             "aliases": "Aspan Arba LLP;Aspan Arba TOO"},
            {"company_id": "7707083893", "name": "ООО «Небесная механика»", "country": "RU",
             "registered_on": "2015-02-01", "activity_codes": "30.30;46.69", "aliases": "Nebesnaya Mekhanika"},
            {"company_id": "100140000003", "name": "Kazakh Microelectronics LLP", "country": "KZ",
             "registered_on": "2010-01-20", "activity_codes": "46.52", "aliases": ""},
            {"company_id": "DE811", "name": "Elektronik Handel GmbH", "country": "DE",
             "registered_on": "2001-03-01", "activity_codes": "46.52", "aliases": ""},
            {"company_id": "150340000011", "name": "Dala Grain LLP", "country": "KZ",
             "registered_on": "2015-03-01", "activity_codes": "46.21", "aliases": ""},
            {"company_id": "CN91", "name": "Harbin Grain Import Co", "country": "CN",
             "registered_on": "2005-01-01", "activity_codes": "46.21", "aliases": ""},
            {"company_id": "220640000022", "name": "Qazaq Tech Trade LLP", "country": "KZ",
             "registered_on": "2022-06-15", "activity_codes": "46.90", "aliases": ""},
            {"company_id": "KG1", "name": "Bishkek Components", "country": "KG",
             "registered_on": "2012-01-01", "activity_codes": "46.52", "aliases": ""},
            {"company_id": "AE1", "name": "Gulf Electronics FZE", "country": "AE",
             "registered_on": "2012-01-01", "activity_codes": "46.52", "aliases": ""},
        ]
    ]  # fmt: skip
    people = [
        PersonRecord.model_validate(row)
        for row in [
            {"company_id": "190540012345", "person_name": "Шапошников Михаил Андреевич", "role": "director"},
            {"company_id": "190540012345", "person_name": "Гольдберг Илья Маркович", "role": "founder"},
            {"company_id": "7707083893", "person_name": "Goldberg Ilya", "role": "director"},
            {"company_id": "100140000003", "person_name": "Aigerim Bekova", "role": "director"},
            {"company_id": "DE811", "person_name": "Hans Becker", "role": "director"},
            {"company_id": "150340000011", "person_name": "Yerlan Sadykov", "role": "director"},
            {"company_id": "CN91", "person_name": "Li Wei", "role": "director"},
            {"company_id": "KG1", "person_name": "Ruslan Akhmetov", "role": "beneficial_owner"},
            {"company_id": "AE1", "person_name": "Ахметов Руслан", "role": "director"},
        ]
    ]  # fmt: skip
    watch = [
        WatchlistRecord.model_validate(
            {"name": "Radiokomplekt", "company_id": "", "country": "RU",
             "reason": "reported supplier of radio components", "source": "test", "listed_on": "2023-06-01"}
        )
    ]  # fmt: skip
    return RegistryIndex(companies, people, watch)


@pytest.fixture(scope="session")
def screener(pack: RulePack, small_registry: RegistryIndex) -> Screener:
    return Screener(pack, small_registry)


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


def _pg_url() -> str | None:
    return os.environ.get(PG_ENV)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on SQLite, and on the real PostgreSQL server when
    CUSTOMS_RULES_TEST_PG is set (each test in a database of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = _pg_url()
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests need a server URL")
    url = _new_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(url)


def _admin() -> str:
    return (_pg_url() or "").replace("postgresql+psycopg://", "postgresql://")


def _new_pg_database() -> str:
    import psycopg

    name = f"cr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{(_pg_url() or '').rpartition('/')[0]}/{name}"


def _drop_pg_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


Build = Callable[..., None]


class Prepared:
    """Databases built once per test process and copied for each test that starts from
    them: a test that tampers with a stored run need not store the run again. SQLite
    copies by the backup API (WAL and all); PostgreSQL by `CREATE DATABASE ... TEMPLATE`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[tuple[str, str], str] = {}

    def copy(self, db: str, build: Build, *args: Any) -> None:
        """Make the (empty, new) database `db` hold what `build(url, *args)` stores in a new one."""
        scheme = db.split(":", 1)[0]
        key = (scheme, f"{build.__module__}.{build.__qualname__}{args!r}")
        if key not in self.built:
            self.built[key] = self._base(scheme, len(self.built))
            build(self.built[key], *args)
        base = self.built[key]
        if scheme == "sqlite":
            import sqlite3

            source, target = (sqlite3.connect(url.removeprefix("sqlite:///")) for url in (base, db))
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            return
        import psycopg

        name, base_name = db.rsplit("/", 1)[1], base.rsplit("/", 1)[1]
        with psycopg.connect(_admin(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base_name}"')

    def _base(self, scheme: str, number: int) -> str:
        if scheme == "sqlite":
            return f"sqlite:///{self.folder / f'base{number}.db'}"
        return _new_pg_database()

    def drop(self) -> None:
        for url in self.built.values():
            if not url.startswith("sqlite"):
                _drop_pg_database(url)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    made = Prepared(tmp_path_factory.mktemp("prepared"))
    yield made
    made.drop()


def load_fixture_registry(db: str) -> None:
    """Load the bundled fixture registry into the store at `db`, as the README's quick start
    does: screening refuses a store with no registry loaded."""
    from click.testing import CliRunner

    from customs_rules.cli.base import main

    registry = FIXTURES / "registry"
    loaded = CliRunner().invoke(main, ["--db", db, "-q", "registry", "load",
                                       "--companies", str(registry / "companies.csv"),
                                       "--people", str(registry / "people.csv"),
                                       "--watchlist", str(registry / "watchlist.csv")])  # fmt: skip
    assert loaded.exit_code == 0, loaded.output


def sql(db: str, *statements: str) -> None:
    """Change the database behind the tool's back, as someone tampering would."""
    from sqlalchemy import text

    store = Store(db)
    try:
        with store.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        store.close()


@pytest.fixture()
def store(sqlite_url: str) -> Iterator[Store]:
    s = Store(sqlite_url)
    yield s
    s.close()
