"""Declaration models: HS codes, countries, currencies and the contract's rules."""

from __future__ import annotations

import copy

import pytest
from conftest import GOOD_DECLARATION
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from customs_rules.contract.codes import normalize_country, normalize_currency, normalize_hs
from customs_rules.contract.models import Declaration


def declaration(**overrides: object) -> dict[str, object]:
    return copy.deepcopy(GOOD_DECLARATION) | overrides


@pytest.mark.parametrize("written", ["8806.21", "8806 21", "880621", "8806 21 000 0", " 8806.21.00 "])
def test_hs_code_forms_are_normalised(written: str) -> None:
    assert normalize_hs(written).startswith("880621")


@given(st.text(alphabet="0123456789", min_size=6, max_size=10))
def test_any_6_to_10_digits_is_an_hs_code(digits: str) -> None:
    assert normalize_hs(digits) == digits
    spaced = " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    assert normalize_hs(spaced) == digits


@given(st.text(alphabet="0123456789", max_size=5) | st.text(alphabet="0123456789", min_size=11, max_size=14))
def test_too_short_or_long_hs_codes_are_refused(digits: str) -> None:
    with pytest.raises(ValueError, match="6 to 10 digits"):
        normalize_hs(digits)


@given(st.text(min_size=1, max_size=12).filter(lambda s: any(c.isalpha() for c in s)))
def test_hs_codes_with_letters_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_hs(text)


@given(st.sampled_from(["kz", "RU", "by", " de ", "Cn"]))
def test_countries_are_case_insensitive(code: str) -> None:
    assert normalize_country(code) == code.strip().upper()


@given(st.text(max_size=4))
def test_country_parsing_never_crashes(text: str) -> None:
    try:
        code = normalize_country(text)
    except ValueError as exc:
        assert "unknown country" in str(exc)
    else:
        assert len(code) == 2 and code.isupper()


@pytest.mark.parametrize("code", ["XX", "RUS", "SU", ""])
def test_unknown_countries_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="unknown country"):
        normalize_country(code)


def test_currencies_are_checked() -> None:
    assert normalize_currency("usd") == "USD"
    with pytest.raises(ValueError, match="ISO 4217"):
        normalize_currency("XYZ")


def test_a_valid_declaration() -> None:
    decl = Declaration.model_validate(declaration())
    assert decl.items[0].hs_code == "100199"
    assert decl.items[0].line == 1  # defaults to its position in JSON
    assert decl.procedure.value == "export"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"items": []}, "items", "at least 1"),
        ({"destination_country": "XX"}, "destination_country", "unknown country"),
        ({"items": [{"hs_code": "85A231"}]}, "items.0.hs_code", "6 to 10 digits"),
        ({"items": [{"hs_code": "854231", "value": -5}]}, "items.0.value", "greater than or equal to 0"),
        ({"items": [{"hs_code": "854231", "line": 1}, {"hs_code": "1001", "line": 1}]}, "items", ""),
        ({"date": "15.01.2024"}, "date", "YYYY-MM-DD"),
        ({"procedure": "smuggling"}, "procedure", ""),
        ({"exporter": {"country": "KZ"}}, "exporter.name", ""),
        ({"transit_country": ["RU"]}, "", "did you mean 'transit_countries'?"),
        ({"items": [{"hs_code": 854231}]}, "items.0.hs_code", "must be written as text"),
        ({"items": [{"hs_code": "854231", "line": True}]}, "items.0.line", "whole number"),
        ({"items": [{"hs_code": "854231", "value": float("inf")}]}, "items.0.value", "finite number"),
    ],
)
def test_invalid_declarations_name_the_field(overrides: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Declaration.model_validate(declaration(**overrides))
    locations = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert any(loc.startswith(field) for loc in locations), locations
    assert message in str(info.value)


def test_duplicate_item_lines_are_refused() -> None:
    items = [{"hs_code": "854231", "line": 2}, {"hs_code": "100199", "line": 2}]
    with pytest.raises(ValidationError, match="line 2 appears twice"):
        Declaration.model_validate(declaration(items=items))


def test_extra_fields_are_kept_and_blank_numbers_are_missing() -> None:
    data = declaration(remarks="urgent", items=[{"hs_code": "854231", "value": None, "quantity": "", "lot": "A7"}])
    decl = Declaration.model_validate(data)
    assert decl.canonical()["remarks"] == "urgent"
    assert decl.items[0].value is None and decl.items[0].quantity is None
    assert decl.items[0].model_extra == {"lot": "A7"}


@pytest.mark.parametrize("field", ["value", "quantity", "net_mass_kg"])
@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_no_number(field: str, flag: bool) -> None:
    with pytest.raises(ValidationError) as exc:
        Declaration.model_validate(declaration(items=[{"hs_code": "1001.99", field: flag}]))
    (error,) = exc.value.errors()
    assert error["loc"] == ("items", 0, field) and f"expected a number, got {str(flag).lower()}" in error["msg"]


def test_null_optional_header_fields_take_their_defaults() -> None:
    decl = Declaration.model_validate(declaration(procedure=None, transit_countries=None, document_type=None))
    assert (decl.procedure.value, decl.transit_countries, decl.document_type) == ("export", [], None)
