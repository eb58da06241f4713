"""Ask for a declaration field by field, like a form (`customs-rules submit` on a terminal).

Each answer is checked by the same pydantic types that `Declaration` uses, so what the
form accepts the model accepts too: a typo is re-asked at once instead of losing every
answer to a failed validation at the end.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import click
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..contract.models import Declaration, Item, Party

TRANSIT_SEPARATORS = re.compile(r"[\s,;]+")
PROCEDURES = "export, import, re-export, transit"
NUMBER_FIELDS = ("quantity", "value", "net_mass_kg")
# a space of any kind (no-break, thin) or an apostrophe between groups of three digits
GROUP_MARKS = re.compile(r"[\s\u00a0\u2009\u202f']")
NUMBER_EXAMPLES = "e.g. 20000, 20 000 or 20 000.50 (a point or a comma before the decimals)"


def _to_stderr(message: str) -> None:
    """Default `echo`: design.md §4 keeps stdout for decisions only."""
    click.echo(message, err=True)


@lru_cache(maxsize=64)
def _adapter(model: type[BaseModel], field: str) -> TypeAdapter[Any]:
    """A validator for one model field, with the field's own constraints and normalisers."""
    return TypeAdapter(model.model_fields[field].rebuild_annotation())


def _reason(label: str, answer: str, error: ValidationError) -> str:
    """The first error as a short sentence: our own ValueError text (it quotes the answer),
    else pydantic's message after the answer."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if first["type"] == "value_error" and cause is not None:
        return f"{label}: {cause}"
    return f"{label} {answer!r}: {first['msg']}"


def _checker(model: type[BaseModel], field: str, label: str, required: bool = False) -> Callable[[str], Any]:
    """A click `value_proc`: "" means none (or is refused when required), anything else
    must pass the model field's validation; click.prompt re-asks on `click.UsageError`."""

    def check(answer: str) -> Any:
        answer = answer.strip()
        if not answer:
            if required:
                raise click.UsageError(f"{label} is required")
            return None
        try:
            return _adapter(model, field).validate_python(answer)
        except ValidationError as error:
            raise click.UsageError(_reason(label, answer, error)) from None

    return check


def plain_number(answer: str) -> str:
    """A number as people write it, as plain digits with a point: `20 000`, `20,000.50`,
    `20.000,50`, `20 000,50`, `1,5` and `0,125` are read; `1,500` and `1.500` (1500 or 1.5?) and anything
    else are refused with what to write instead, in plain words."""
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in answer.strip())
    if text.startswith("-"):
        raise ValueError("must be 0 or more")
    spaced = GROUP_MARKS.search(text) is not None
    if spaced:
        if not re.fullmatch(r"[0-9]{1,3}( [0-9]{3})+([.,][0-9]+)?", GROUP_MARKS.sub(" ", text)):
            raise ValueError(f"spaces may only separate groups of three digits, {NUMBER_EXAMPLES}")
        text = GROUP_MARKS.sub("", text)
    if "." in text and "," in text:
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if decimal == "." else "."
        if not re.fullmatch(rf"[0-9]{{1,3}}(\{group}[0-9]{{3}})+\{decimal}[0-9]+", text):
            raise ValueError(f"is not a number: {NUMBER_EXAMPLES}")
        text = text.replace(group, "").replace(decimal, ".")
    elif text.count(",") > 1 or text.count(".") > 1:
        mark = "," if "," in text else "."
        if not re.fullmatch(rf"[0-9]{{1,3}}(\{mark}[0-9]{{3}})+", text):
            raise ValueError(f"is not a number: {NUMBER_EXAMPLES}")
        text = text.replace(mark, "")
    elif "," in text or "." in text:
        # one mark before exactly three digits groups thousands in half the world and
        # marks decimals in the other half: `1.500` and `1,500` are asked, never guessed
        # (a value read 1000 times too small would pass unseen)
        mark = "," if "," in text else "."
        if re.fullmatch(rf"[1-9][0-9]{{0,2}}\{mark}[0-9]{{3}}", text) and not spaced:
            whole, part = text.split(mark)
            decimal = f"{whole}.{part.rstrip('0') or '0'}"
            raise ValueError(f"could mean {whole}{part} or {decimal}: write {whole}{part}, or {decimal}")
        text = text.replace(",", ".")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise ValueError(f"is not a number: {NUMBER_EXAMPLES}")
    return text


def _number(field: str, label: str) -> Callable[[str], Any]:
    """A `value_proc` for quantity, value and net mass: empty means none."""
    check = _checker(Item, field, label)

    def parse(answer: str) -> Any:
        if not answer.strip():
            return None
        try:
            return check(plain_number(answer))
        except ValueError as error:
            raise click.UsageError(f"{label} {answer.strip()!r} {error}") from None

    return parse


def _transit(answer: str) -> list[str]:
    """Several country codes separated by spaces, commas or semicolons; each one checked."""
    codes = [code for code in TRANSIT_SEPARATORS.split(answer.strip()) if code]
    try:
        return _adapter(Declaration, "transit_countries").validate_python(codes)
    except ValidationError as error:
        raise click.UsageError(_reason("transit countries", answer.strip(), error)) from None


def _given(answers: dict[str, Any]) -> dict[str, Any]:
    """Only the answered fields: an unanswered one is left to the model's default (None),
    because an explicit None trips pydantic on `str | None` fields with a max_length."""
    return {key: value for key, value in answers.items() if value is not None}


class _Form:
    """Asks through `prompt` on stderr, so a redirected stdout still gets only decisions."""

    def __init__(self, prompt: Callable[..., Any]) -> None:
        self.prompt = prompt

    def ask(self, text: str, model: type[BaseModel], field: str, required: bool) -> Any:
        # default="" so an empty answer reaches the checker: None, or a reason instead of a silent re-ask
        check = _checker(model, field, text.split(" (")[0], required)
        return self.prompt(text, default="", show_default=False, value_proc=check, err=True)

    def required(self, text: str, model: type[BaseModel], field: str) -> Any:
        return self.ask(text, model, field, required=True)

    def optional(self, text: str, model: type[BaseModel], field: str) -> Any:
        return self.ask(text, model, field, required=False)

    def number(self, text: str, field: str) -> Any:
        check = _number(field, text.split(" (")[0])
        return self.prompt(text, default="", show_default=False, value_proc=check, err=True)

    def party(self, role: str) -> dict[str, Any]:
        return _given(
            {
                "name": self.required(f"{role} name", Party, "name"),
                "id": self.optional(f"{role} id (optional)", Party, "id"),
                "country": self.optional(f"{role} country (optional, e.g. KZ)", Party, "country"),
            }
        )

    def item(self, line: int) -> dict[str, Any]:
        return _given(
            {
                "line": line,
                "hs_code": self.required("HS code (e.g. 8806.21)", Item, "hs_code"),
                "description": self.optional("description (optional)", Item, "description"),
                "quantity": self.number("quantity (optional)", "quantity"),
                "unit": self.optional("unit (optional)", Item, "unit"),
                "value": self.number("value (optional)", "value"),
                "currency": self.optional("currency (optional, e.g. USD)", Item, "currency"),
                "origin_country": self.optional("origin country (optional)", Item, "origin_country"),
                "net_mass_kg": self.number("net mass, kg (optional)", "net_mass_kg"),
            }
        )

    def another(self) -> bool:
        # a prompt with type=BOOL rather than click.confirm, so one `prompt` fake drives the whole form
        answer = self.prompt("Add another item? [y/N]", default=False, show_default=False, type=click.BOOL, err=True)
        return bool(answer)

    def store(self) -> bool:
        answer = self.prompt("Store and screen it? [Y/n]", default=True, show_default=False, type=click.BOOL, err=True)
        return bool(answer)


def summary(declaration: Declaration) -> str:
    """The declaration as it will be stored (normalised: HS digits, upper-case codes, plain
    numbers), in the table `decisions show` prints, with the countries' names."""
    import io

    import pycountry
    from rich.console import Console

    from ..report.tables import declaration_table

    content = declaration.canonical()
    codes = {content["dispatch_country"], content["destination_country"], *content["transit_countries"]}
    codes |= {p["country"] for p in (content["exporter"], content["consignee"]) if p.get("country")}
    codes |= {i["origin_country"] for i in content["items"] if i.get("origin_country")}
    out = io.StringIO()
    console = Console(file=out, width=120, highlight=False, color_system=None)
    console.print(declaration_table(content))
    names = ", ".join(f"{c} {getattr(pycountry.countries.get(alpha_2=c), 'name', '?')}" for c in sorted(codes))
    return f"To be stored:\n{out.getvalue().rstrip()}\ncountries: {names}"


def ask_declaration(
    prompt: Callable[..., Any] = click.prompt,
    echo: Callable[[str], None] = _to_stderr,
    today: dt.date | None = None,
) -> Declaration:
    """Ask for one declaration question by question and return it validated.

    `prompt` must behave like `click.prompt` (re-asking while `value_proc` raises
    `click.UsageError`); `echo` gets the item headings and the summary of what will be
    stored, which the officer confirms. Declining, Ctrl-C or end of input raises
    `click.Abort`: nothing is stored.
    """
    form = _Form(prompt)
    day = (today or dt.date.today()).isoformat()
    data: dict[str, Any] = {"declaration_id": form.required("declaration id", Declaration, "declaration_id")}
    data["date"] = prompt(
        "date (YYYY-MM-DD)", default=day, value_proc=_checker(Declaration, "date", "date", True), err=True
    )
    procedure = _checker(Declaration, "procedure", "procedure", True)
    # officers type "Export" as often as "export"; the enum values are lower-case
    data["procedure"] = prompt(
        f"procedure ({PROCEDURES})", default="export", value_proc=lambda a: procedure(a.lower()), err=True
    )
    data["document_type"] = form.optional("document type (optional)", Declaration, "document_type")
    data["exporter"] = form.party("exporter")
    data["consignee"] = form.party("consignee")
    data["dispatch_country"] = form.required("dispatch country (e.g. KZ)", Declaration, "dispatch_country")
    data["destination_country"] = form.required("destination country", Declaration, "destination_country")
    data["transit_countries"] = prompt(
        "transit countries (optional, e.g. RU KG)", default="", show_default=False, value_proc=_transit, err=True
    )
    items: list[dict[str, Any]] = []
    while True:
        echo(f"item {len(items) + 1}")
        items.append(form.item(len(items) + 1))
        if not form.another():
            break
    data["items"] = items
    declaration = Declaration.model_validate(_given(data))
    echo(f"declaration {declaration.declaration_id}: {len(declaration.items)} item(s)")
    echo(summary(declaration))
    if not form.store():
        echo("Not stored: nothing was screened or recorded.")
        raise click.Abort
    return declaration
