"""The registry contract: companies, their people and the watchlist, one validated row each."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .input_text import ascii_digits, check_code, check_text
from .models import IsoDate, OptCountry, date_range


class Role(StrEnum):
    DIRECTOR = "director"
    FOUNDER = "founder"
    SHAREHOLDER = "shareholder"
    BENEFICIAL_OWNER = "beneficial_owner"


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    return value or []


def _role(value: Any) -> Any:
    return value.strip().lower().replace(" ", "_").replace("-", "_") if isinstance(value, str) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _texts(values: list[str]) -> list[str]:
    return [check_text(v) for v in values]


Text = Annotated[str, BeforeValidator(_strip), BeforeValidator(check_text), Field(min_length=1)]


OptText = Annotated[str | None, BeforeValidator(_blank), BeforeValidator(check_text)]


# ids are matched against declared party ids: ASCII digits, no look-alike letters (models.Party)
Id = Annotated[str, BeforeValidator(_strip), BeforeValidator(check_code("id")), Field(min_length=1)]


OptId = Annotated[str | None, BeforeValidator(_blank), BeforeValidator(check_code("id"))]


# sane ranges (README, 'Registry CSV'): a birth date is never in the future; foreign
# companies may have been registered long ago
RegisteredOn = Annotated[IsoDate | None, BeforeValidator(_blank), date_range(dt.date(1800, 1, 1), 10)]


BirthDate = Annotated[IsoDate | None, BeforeValidator(_blank), date_range(dt.date(1900, 1, 1), 0)]


ListedOn = Annotated[IsoDate | None, BeforeValidator(_blank), date_range(dt.date(1990, 1, 1), 10)]


TextList = Annotated[list[str], BeforeValidator(split_list), AfterValidator(_texts)]


ACTIVITY_CODE = re.compile(r"[0-9]{2}(\.?[0-9]{1,3}){0,3}")


def _activity_codes(codes: list[str]) -> list[str]:
    codes = [ascii_digits(code) for code in codes]
    for code in codes:
        if not ACTIVITY_CODE.fullmatch(code):
            raise ValueError(f"activity code {code!r} is not a NACE/OKED code such as 46.52")
    return codes


class CompanyRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    company_id: Id
    name: Text
    country: OptCountry = None
    registered_on: RegisteredOn = None
    activity_codes: Annotated[TextList, AfterValidator(_activity_codes)] = Field(default_factory=list)
    aliases: TextList = Field(default_factory=list)
    address: OptText = None  # optional column: the registered address


class PersonRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    company_id: Id
    person_name: Text
    role: Annotated[Role, BeforeValidator(_role)]
    person_id: OptId = None
    birth_date: BirthDate = None
    # optional column: the role is held by this company of the registry (a founder that
    # is itself a company); person_name then gives that company's name as written
    person_company_id: OptId = None


class WatchlistRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Text
    company_id: OptId = None
    country: OptCountry = None
    reason: Text
    source: OptText = None
    listed_on: ListedOn = None
