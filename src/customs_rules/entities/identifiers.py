"""Official identifiers: Kazakh BIN/IIN and Russian INN/OGRN, with their check digits.

An id that fails its own checksum was mistyped or made up: either way a risk signal
(a rule reads `exporter.id_valid`). Russian numbers are checked by python-stdnum; the
Kazakh algorithm (not in stdnum) follows domain-notes.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.ru import inn, ogrn

KZ_WEIGHTS = (tuple(range(1, 12)), (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2))


@dataclass(frozen=True)
class IdCheck:
    scheme: str | None  # BIN, IIN, INN, OGRN, OGRNIP, or None when no scheme applies
    valid: bool | None  # None: no scheme to check against
    detail: str


def kz_check_digit(digits: str) -> int | None:
    """The BIN/IIN check digit of the first 11 digits; None when no valid digit exists."""
    for weights in KZ_WEIGHTS:
        remainder = sum(int(d) * w for d, w in zip(digits[:11], weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def check_kz(number: str) -> IdCheck:
    # a BIN has the type digit (4 resident, 5 non-resident, 6 joint) where an IIN has
    # the tens of the birth day (0 to 3)
    scheme = "BIN" if number[4] in "456" else "IIN"
    expected = kz_check_digit(number)
    if expected is None or expected != int(number[11]):
        return IdCheck(scheme, False, f"{scheme} {number}: the check digit does not match")
    return IdCheck(scheme, True, f"{scheme} {number}: check digit valid")


def check_ru(number: str) -> IdCheck:
    if len(number) in (10, 12):
        ok = inn.is_valid(number)
        return IdCheck("INN", ok, f"INN {number}: " + ("check digits valid" if ok else "the check digits do not match"))
    scheme = "OGRN" if len(number) == 13 else "OGRNIP"
    ok = ogrn.is_valid(number) if len(number) == 13 else _ogrnip_valid(number)
    return IdCheck(
        scheme, ok, f"{scheme} {number}: " + ("check digit valid" if ok else "the check digit does not match")
    )


def _ogrnip_valid(number: str) -> bool:
    return int(number[:14]) % 13 % 10 == int(number[14])


def check_id(value: str | None, country: str | None) -> IdCheck:
    """Check a declared id by the scheme its country and length imply."""
    if not value:
        return IdCheck(None, None, "no id declared")
    number = "".join(ch for ch in value if ch.isalnum())
    if not (number.isascii() and number.isdigit()):  # int() would read any script's digits
        return IdCheck(None, None, f"{value}: no checked scheme for this form")
    if country == "KZ" and len(number) == 12:
        return check_kz(number)
    if country == "RU" and len(number) in (10, 12, 13, 15):
        return check_ru(number)
    where = country or "an unknown country"
    return IdCheck(None, None, f"{value}: no checked scheme for {where} and {len(number)} digits")
