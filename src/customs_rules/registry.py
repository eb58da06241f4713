"""The registry: companies, their people, and the watchlist of reported companies.

CSV files are validated row by row with located errors (a file loads whole or not at
all: see `storage.replace_registry`). `RegistryIndex` is the in-memory snapshot that
enrichment queries: parties by id first, then by name and aliases across scripts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from . import names
from .errors import InputError, LocatedError, Location
from .models import IsoDate, OptCountry, Party


class Role(StrEnum):
    DIRECTOR = "director"
    FOUNDER = "founder"
    SHAREHOLDER = "shareholder"
    BENEFICIAL_OWNER = "beneficial_owner"


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    return value or []


def _role(value: Any) -> Any:
    return value.strip().lower().replace(" ", "_").replace("-", "_") if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v), Field(min_length=1)]
OptText = Annotated[str | None, BeforeValidator(_blank)]
OptDate = Annotated[IsoDate | None, BeforeValidator(_blank)]
TextList = Annotated[list[str], BeforeValidator(_split)]


class CompanyRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    company_id: Text
    name: Text
    country: OptCountry = None
    registered_on: OptDate = None
    activity_codes: TextList = Field(default_factory=list)
    aliases: TextList = Field(default_factory=list)


class PersonRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    company_id: Text
    person_name: Text
    role: Annotated[Role, BeforeValidator(_role)]
    person_id: OptText = None
    birth_date: OptDate = None


class WatchlistRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Text
    company_id: OptText = None
    country: OptCountry = None
    reason: Text
    source: OptText = None
    listed_on: OptDate = None


R = TypeVar("R", bound=BaseModel)
REQUIRED_COLUMNS = {
    CompanyRecord: ("company_id", "name", "country", "registered_on", "activity_codes", "aliases"),
    PersonRecord: ("company_id", "person_name", "role"),
    WatchlistRecord: ("name", "company_id", "country", "reason", "source", "listed_on"),
}


def read_registry_csv(path: Path, model: type[R]) -> list[R]:
    """Every row of a registry file, or an InputError listing every bad row with its line."""
    display = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {display}", [LocatedError(Location(display), str(exc))]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS[model] if c not in columns]
    if missing:
        error = LocatedError(Location(display, 1), f"missing column(s): {', '.join(missing)}")
        raise InputError(f"{display} was not loaded", [error], "check the header row (README, 'Registry')")
    reader.fieldnames = columns
    rows: list[R] = []
    errors: list[LocatedError] = []
    for row in reader:
        try:
            rows.append(model.model_validate(row))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                column = ".".join(str(p) for p in err["loc"])
                message = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "enum":
                    message = f"unknown role {row.get('role')!r}; roles: {', '.join(r.value for r in Role)}"
                errors.append(LocatedError(Location(display, reader.line_num, field=column), message))
    if errors:
        raise InputError(f"{display} was not loaded: nothing from it was stored", errors)
    return rows


def normalize_id(value: str | None) -> str | None:
    if not value:
        return None
    compact = "".join(ch for ch in value if ch.isalnum()).upper()
    return compact or None


@dataclass(frozen=True)
class PartyMatch:
    company: CompanyRecord | None
    method: str  # id, name, alias or none
    score: float
    detail: str


@dataclass(frozen=True)
class SharedPerson:
    exporter_person: str
    exporter_role: str
    consignee_person: str
    consignee_role: str
    score: float
    method: str
    detail: str


class RegistryIndex:
    """An in-memory snapshot of the registry, indexed for fast party lookups."""

    def __init__(
        self,
        companies: Iterable[CompanyRecord],
        people: Iterable[PersonRecord],
        watchlist: Iterable[WatchlistRecord],
        threshold: float = names.DEFAULT_THRESHOLD,
    ) -> None:
        self.threshold = threshold
        self.companies: dict[str, CompanyRecord] = {}
        self._by_key: dict[str, set[str]] = defaultdict(set)
        for company in companies:
            key = normalize_id(company.company_id) or company.company_id
            self.companies[key] = company
            for name in (company.name, *company.aliases):
                for block in names.blocking_keys(name):
                    self._by_key[block].add(key)
        self.people: dict[str, list[PersonRecord]] = defaultdict(list)
        for person in people:
            self.people[normalize_id(person.company_id) or person.company_id].append(person)
        self.watchlist = list(watchlist)
        self._cache: dict[tuple[str | None, str, str | None], PartyMatch] = {}

    def resolve(self, party: Party) -> PartyMatch:
        """Find the declared party in the registry: by id first, then by name and aliases."""
        key = (party.id, party.name, party.country)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(party)
            self._cache[key] = found
        return found

    def _resolve(self, party: Party) -> PartyMatch:
        ident = normalize_id(party.id)
        if ident and ident in self.companies:
            return PartyMatch(self.companies[ident], "id", 1.0, f"id {party.id} in the registry")
        best: PartyMatch | None = None
        for key in self._candidates(party.name):
            company = self.companies[key]
            if party.country and company.country and party.country != company.country:
                continue  # same name in another country is another company
            for method, name in [("name", company.name), *(("alias", a) for a in company.aliases)]:
                match = names.compare(party.name, name)
                if match.score >= self.threshold and (best is None or match.score > best.score):
                    detail = f"{party.name!r} ~ {method} {name!r}: {match.detail}"
                    best = PartyMatch(company, method, round(match.score, 3), detail)
        return best or PartyMatch(None, "none", 0.0, f"{party.name!r} not found in the registry")

    def _candidates(self, name: str) -> set[str]:
        found: set[str] = set()
        for block in names.blocking_keys(name):
            found |= self._by_key.get(block, set())
        return found

    def shared_persons(self, a: CompanyRecord, b: CompanyRecord) -> list[SharedPerson]:
        """Persons who hold any role in both companies (director of one, founder of the other)."""
        shared = []
        for pa in self.people.get(normalize_id(a.company_id) or a.company_id, []):
            for pb in self.people.get(normalize_id(b.company_id) or b.company_id, []):
                link = _same_person(pa, pb, self.threshold)
                if link is not None:
                    shared.append(link)
        return shared

    def watchlisted(self, party: Party, company: CompanyRecord | None) -> tuple[WatchlistRecord, str] | None:
        """The watchlist entry for a party (by id, then by name), with why it matched."""
        ids = {normalize_id(party.id), normalize_id(company.company_id) if company else None} - {None}
        country = party.country or (company.country if company else None)
        spellings = [party.name, *([company.name, *company.aliases] if company else [])]
        for entry in self.watchlist:
            if entry.company_id and normalize_id(entry.company_id) in ids:
                return entry, f"id {entry.company_id} is on the watchlist"
            if entry.country and country and entry.country != country:
                continue
            for spelling in spellings:
                match = names.compare(spelling, entry.name)
                if match.score >= self.threshold:
                    return entry, f"{spelling!r} ~ {entry.name!r} ({match.score:.2f}): {match.detail}"
        return None


def _same_person(pa: PersonRecord, pb: PersonRecord, threshold: float) -> SharedPerson | None:
    if pa.person_id and pb.person_id:
        if normalize_id(pa.person_id) != normalize_id(pb.person_id):
            return None  # two different official ids are two people, whatever the names
        score, method, detail = 1.0, "person_id", f"same person id {pa.person_id}"
    else:
        if pa.birth_date and pb.birth_date and pa.birth_date != pb.birth_date:
            return None
        match = names.compare(pa.person_name, pb.person_name)
        if match.score < threshold:
            return None
        score, method, detail = match.score, "name", match.detail
    return SharedPerson(
        pa.person_name, pa.role.value, pb.person_name, pb.role.value, round(score, 3), method, detail
    )


def registered_before(company: CompanyRecord | None, day: dt.date) -> bool | None:
    if company is None or company.registered_on is None:
        return None
    return company.registered_on < day
