"""Official identifiers and their check digits."""

from __future__ import annotations

import pytest

from customs_rules.entities.identifiers import check_id, kz_check_digit


@pytest.mark.parametrize(
    ("value", "country", "scheme", "valid"),
    [
        ("100140000003", "KZ", "BIN", True),
        ("100140000004", "KZ", "BIN", False),
        ("1001 4000 0003", "KZ", "BIN", True),
        ("7707083893", "RU", "INN", True),
        ("7707083894", "RU", "INN", False),
        ("1027700132195", "RU", "OGRN", True),
        ("1027700132196", "RU", "OGRN", False),
        ("DE811", "DE", None, None),
        (None, "KZ", None, None),
        ("123456789012", None, None, None),
    ],
)
def test_check_id(value: str | None, country: str | None, scheme: str | None, valid: bool | None) -> None:
    result = check_id(value, country)
    assert (result.scheme, result.valid) == (scheme, valid), result.detail


def test_iin_is_told_from_bin_by_its_fifth_digit() -> None:
    body = "85010130012"  # born 1985-01-01: the fifth digit is the tens of the day
    digit = kz_check_digit(body)
    assert digit is not None
    result = check_id(body + str(digit), "KZ")
    assert (result.scheme, result.valid) == ("IIN", True)
