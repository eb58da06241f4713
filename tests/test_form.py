"""The interactive declaration form, driven through click's CliRunner like a typing officer."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from customs_rules.cli.form import ask_declaration

TODAY = dt.date(2024, 3, 1)


@click.command()
def form_command() -> None:
    """A stand-in for `customs-rules submit` without a file: ask, then print the declaration."""
    declaration = ask_declaration(today=TODAY)
    click.echo(declaration.model_dump_json())


def run(*answers: str) -> Result:
    return CliRunner().invoke(form_command, input="".join(f"{answer}\n" for answer in answers))


def declaration(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    # prompts, errors and the summary go to stderr: stdout holds the declaration alone
    return json.loads(result.stdout)


HEADER = [
    "D-77",  # declaration id
    "2024-02-10",  # date
    "import",  # procedure
    "goods_invoice",  # document type
    "Dala Grain LLP",  # exporter name
    "150340000011",  # exporter id
    "kz",  # exporter country
    "Harbin Grain Import Co",  # consignee name
    "",  # consignee id
    "cn",  # consignee country
    "kz",  # dispatch country
    "cn",  # destination country
    "ru; kg,uz mn",  # transit countries
]
ITEM_1 = ["1001 99 000 0", "wheat", "20", "t", "5000.5", "usd", "kz", "20000", "y"]
ITEM_2 = ["8806.21", "", "", "", "", "", "", "", "n"]
MINIMAL_HEADER = ["D-1", "", "", "", "Exporter", "", "", "Consignee", "", "", "KZ", "CN", ""]
ONE_ITEM = ["8806.21", "", "", "", "", "", "", "", ""]
STORE = ["y"]  # the answer to "Store and screen it?" after the summary


def test_happy_path_with_two_items() -> None:
    result = run(*HEADER, *ITEM_1, *ITEM_2, *STORE)
    data = declaration(result)
    assert data["declaration_id"] == "D-77"
    assert data["date"] == "2024-02-10"
    assert data["procedure"] == "import"
    assert data["document_type"] == "goods_invoice"
    assert data["exporter"] == {"name": "Dala Grain LLP", "id": "150340000011", "country": "KZ"}
    assert data["consignee"] == {"name": "Harbin Grain Import Co", "id": None, "country": "CN"}
    assert (data["dispatch_country"], data["destination_country"]) == ("KZ", "CN")
    assert data["transit_countries"] == ["RU", "KG", "UZ", "MN"]
    first, second = data["items"]
    assert first == {
        "line": 1,
        "hs_code": "1001990000",
        "description": "wheat",
        "quantity": 20.0,
        "unit": "t",
        "value": 5000.5,
        "currency": "USD",
        "origin_country": "KZ",
        "net_mass_kg": 20000.0,
    }
    assert second["line"] == 2
    assert second["hs_code"] == "880621"
    assert all(second[key] is None for key in second if key not in ("line", "hs_code"))
    assert "declaration D-77: 2 item(s)" in result.stderr
    assert "item 2" in result.stderr


def test_wrong_answers_are_asked_again_with_a_reason() -> None:
    header = list(MINIMAL_HEADER)
    header[1:2] = ["2024-13-01", "01.03.2024", "2024-02-29"]  # a bad month, a bad format, then right
    header[header.index("KZ")] = "XX\nkz"  # an unknown dispatch country, then right
    item = list(ONE_ITEM)
    item[0] = "8806.2a\n8806.21"  # a letter in the HS code, then right
    item[4] = "-5\nabc\n12.5"  # a negative value, not a number, then right
    result = run(*header, *item, *STORE)
    data = declaration(result)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    # our own messages exactly; pydantic's wording only by its gist (it varies by version)
    assert len(errors) == 6, errors
    assert errors[0].startswith("Error: date '2024-13-01': ") and "month" in errors[0]
    assert errors[1] == "Error: date: date '01.03.2024' must be written YYYY-MM-DD"
    assert errors[2] == "Error: dispatch country: unknown country 'XX': expected an ISO 3166-1 alpha-2 code"
    assert errors[3] == (
        "Error: HS code: HS code '8806.2a' must have 6 to 10 digits (dots and spaces allowed), e.g. 8806.21 or 8806 21 000 0"
    )
    assert errors[4] == "Error: value '-5' must be 0 or more"
    assert errors[5] == (
        "Error: value 'abc' is not a number: e.g. 20000, 20 000 or 20 000.50 (a point or a comma before the decimals)"
    )
    assert data["date"] == "2024-02-29"
    assert data["dispatch_country"] == "KZ"
    assert data["items"][0]["hs_code"] == "880621"
    assert data["items"][0]["value"] == 12.5


def test_empty_optional_answers_give_none_and_defaults() -> None:
    data = declaration(run(*MINIMAL_HEADER, *ONE_ITEM, *STORE))
    assert data["date"] == TODAY.isoformat()  # empty date takes today
    assert data["procedure"] == "export"  # empty procedure takes the default
    assert data["document_type"] is None
    assert data["exporter"] == {"name": "Exporter", "id": None, "country": None}
    assert data["consignee"] == {"name": "Consignee", "id": None, "country": None}
    assert data["transit_countries"] == []
    (item,) = data["items"]  # an empty "Add another item?" means no
    assert item["line"] == 1
    assert all(item[key] is None for key in item if key not in ("line", "hs_code"))


def test_required_answers_and_choices_are_insisted_on() -> None:
    header = list(MINIMAL_HEADER)
    header[0] = "\n  \nD-1"  # empty, blank, then an id
    header[2] = "exprt\nRe-Export"  # a typo, then a capitalised procedure
    header[4] = "\nExporter"  # the exporter name is required
    header[-1] = "RU XX"  # one bad code among the transit countries
    item = list(ONE_ITEM)
    item[0] = "\n8806.21"
    item[5] = "usdollar\nEUR"
    item[-1] = "maybe\nno"
    result = run(*header, "RU", *item, *STORE)
    data = declaration(result)
    output = result.output
    assert output.count("Error: declaration id is required") == 2
    assert "Error: procedure 'exprt': " in output and "'re-export'" in output
    assert "Error: exporter name is required" in output
    assert "Error: transit countries: unknown country 'XX': expected an ISO 3166-1 alpha-2 code" in output
    assert "Error: HS code is required" in output
    assert "Error: currency: unknown currency 'usdollar': expected an ISO 4217 code such as USD" in output
    assert "Error: 'maybe' is not a valid boolean" in output  # click's own BOOL message
    assert data["declaration_id"] == "D-1"
    assert data["procedure"] == "re-export"
    assert data["transit_countries"] == ["RU"]
    assert data["items"][0]["currency"] == "EUR"
    assert len(data["items"]) == 1


def test_end_of_input_aborts_without_a_traceback() -> None:
    result = run("D-1", "2024-01-01")
    assert result.exit_code == 1
    assert "Aborted!" in result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""


def test_a_fake_prompt_can_drive_the_form() -> None:
    """Without a terminal: any callable with click.prompt's signature will do."""
    answers = iter([*MINIMAL_HEADER, *ONE_ITEM, *STORE])
    asked: list[str] = []

    def fake_prompt(text: str, default: Any = None, value_proc: Any = None, **_: Any) -> Any:
        asked.append(text)
        answer = next(answers) or default
        return value_proc(answer) if value_proc else bool(answer)

    printed: list[str] = []
    decl = ask_declaration(prompt=fake_prompt, echo=printed.append, today=TODAY)
    assert decl.declaration_id == "D-1" and decl.date == TODAY
    assert asked[0] == "declaration id" and asked[-2:] == ["Add another item? [y/N]", "Store and screen it? [Y/n]"]
    assert printed[:2] == ["item 1", "declaration D-1: 1 item(s)"] and printed[2].startswith("To be stored:")


def errors_of(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("Error: ")]


def test_country_names_get_the_codes_they_probably_mean() -> None:
    header = list(MINIMAL_HEADER)
    header[6] = "Kazakstan\nkz"  # exporter country
    header[10] = "Russia\nRU"  # dispatch country
    header[-1] = "UAE Turkey\nAE TR"  # transit countries
    item = list(ONE_ITEM)
    item[6] = "Казахстан\nKZ"  # origin country, as typed in Russian
    result = run(*header, *item, *STORE)
    data = declaration(result)
    assert errors_of(result) == [
        "Error: exporter country: unknown country 'Kazakstan': expected an ISO 3166-1 alpha-2 code; "
        "did you mean KZ (Kazakhstan)?",
        "Error: dispatch country: unknown country 'Russia': expected an ISO 3166-1 alpha-2 code; "
        "did you mean RU (Russian Federation)?",
        "Error: transit countries: unknown country 'UAE': expected an ISO 3166-1 alpha-2 code; "
        "did you mean AE (United Arab Emirates)?",
        "Error: origin country: unknown country 'Казахстан': expected an ISO 3166-1 alpha-2 code; "
        "did you mean KZ (Kazakhstan)?",
    ]
    assert (data["exporter"]["country"], data["dispatch_country"]) == ("KZ", "RU")
    assert data["transit_countries"] == ["AE", "TR"] and data["items"][0]["origin_country"] == "KZ"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("20 000", 20000.0),
        ("20\u00a0000", 20000.0),  # a no-break space, as spreadsheets copy it
        ("20,000.50", 20000.5),
        ("20.000,50", 20000.5),
        ("20 000,50", 20000.5),
        ("1 234 567.8", 1234567.8),
        ("1,234,567", 1234567.0),
        ("1,5", 1.5),
        ("0,25", 0.25),
        ("12.5", 12.5),
        ("0.125", 0.125),  # no one groups thousands after a leading zero
        ("0,125", 0.125),
    ],
)
def test_numbers_are_read_as_people_write_them(typed: str, stored: float) -> None:
    item = list(ONE_ITEM)
    item[2] = item[4] = item[7] = typed  # quantity, value, net mass
    data = declaration(run(*MINIMAL_HEADER, *item, *STORE))
    assert [data["items"][0][k] for k in ("quantity", "value", "net_mass_kg")] == [stored] * 3


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1,500", "value '1,500' could mean 1500 or 1.5: write 1500, or 1.5"),
        ("1.500", "value '1.500' could mean 1500 or 1.5: write 1500, or 1.5"),  # a value 1000x too small passed
        ("20.000", "value '20.000' could mean 20000 or 20.0: write 20000, or 20.0"),
        ("20 00", "value '20 00' spaces may only separate groups of three digits, e.g. 20000, 20 000 or 20 000.50 "
                  "(a point or a comma before the decimals)"),
        ("1e5", "value '1e5' is not a number: e.g. 20000, 20 000 or 20 000.50 (a point or a comma before the decimals)"),
        ("12,5.3", "value '12,5.3' is not a number: e.g. 20000, 20 000 or 20 000.50 (a point or a comma before the decimals)"),
        ("-0,5", "value '-0,5' must be 0 or more"),
    ],
)  # fmt: skip
def test_numbers_that_cannot_be_read_are_explained_in_plain_words(typed: str, message: str) -> None:
    item = list(ONE_ITEM)
    item[4] = f"{typed}\n7"
    result = run(*MINIMAL_HEADER, *item, *STORE)
    assert declaration(result)["items"][0]["value"] == 7.0
    assert errors_of(result) == [f"Error: {message}"]


def test_the_form_shows_what_it_will_store_before_storing() -> None:
    result = run(*HEADER, *ITEM_1, *ITEM_2, *STORE)
    declaration(result)
    summary = result.stderr[result.stderr.index("To be stored:") :]
    assert "Declaration D-77 of 2024-02-10: import (goods_invoice), KZ -> RU -> KG -> UZ -> MN -> CN" in summary
    assert "exporter Dala Grain LLP id 150340000011 KZ; consignee Harbin Grain Import Co CN" in summary
    # as stored: normalised, every field the form asked
    assert (
        "│    1 │ 1001990000 │ wheat       │       20 │ t    │ 5000.5 │ USD      │ KZ             │       20000 │"
        in summary
    )
    assert "│    2 │ 880621     │" in summary
    assert (
        "countries: CN China, KG Kyrgyzstan, KZ Kazakhstan, MN Mongolia, RU Russian Federation, UZ Uzbekistan"
        in summary
    )
    assert summary.rstrip().endswith("Store and screen it? [Y/n]: y")  # the runner echoes the answer


@pytest.mark.parametrize("answer", ["n", "no"])
def test_declining_the_summary_stores_nothing(answer: str) -> None:
    result = run(*MINIMAL_HEADER, *ONE_ITEM, answer)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Not stored: nothing was screened or recorded." in result.stderr and "Aborted!" in result.stderr
