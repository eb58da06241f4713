#!/usr/bin/env python3
"""Write the seed article's story as two years of declarations (2021-2022), with labels.

    python benchmarks/generate_history.py --out DIR [--seed 1] [--companies 400] [--background 4000]

DIR gets `registry/companies.csv` and `registry/people.csv` (load them with `registry
load`), `history.csv` (the batch CSV, in date order), `labels.csv` (declaration_id, actor,
flow, company_id) and `aggregates.json`. The aggregates match the article's figures exactly
(values in EUR; the article's figures are Kazakhstan's national statistics):

| flow | 2021 | 2022 |
| --- | --- | --- |
| imports of microchips (HS 8542) | EUR 32M | EUR 70M |
| exports of microchips to Russia | EUR 230k | EUR 16M |
| imports of drones (HS 8806) | none | EUR 4M |
| exports of drones to Russia | none | EUR 1.1M |

Who does what:
- **honest background** (`actor` honest): the companies of a synthetic registry trading
  their usual goods (`generate_shipments.ShipmentGenerator`), listed goods never to Russia
  or Belarus; electronics distributors importing chips as in earlier years (EUR 32M, then
  33M); one distributor's pre-war chip exports to Russia (EUR 230k in 2021, none after).
- **the scheme** (`actor` scheme): Kazakh firms registered years ago for steel, farming or
  emergency supplies (the Aspan Arba profile), each sharing a founder with a Russian firm
  (the Goldberg/Shaposhnikov link). From March 2022 they import chips (the EUR 37M
  growth) and drones (EUR 4M), and re-export part of them to their Russian partner 5 to 45
  days later (EUR 16M of chips, EUR 1.1M of drones). They also ship chips to front
  companies in Kyrgyzstan and Armenia run by the Russian partner's director: those
  exports are not "to Russia" in the statistics, so they come on top of the article's
  figures (`flow` chips-export-front).

Standard library only, deterministic for a seed; reuses generate_shipments' registry and
catalogue. Summaries go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_shipments as gs  # noqa: E402

WAR = dt.date(2022, 2, 24)
YEARS = (2021, 2022)
CHIPS = tuple(g for g in gs.CATALOGUE if g.hs.startswith("8542"))
DRONES = tuple(g for g in gs.CATALOGUE if g.hs.startswith("8806"))
# the article's figures, EUR; keys are flows of `labels.csv`
ARTICLE = {
    "chips-import": {2021: 32_000_000, 2022: 70_000_000},
    "chips-export-ru": {2021: 230_000, 2022: 16_000_000},
    "drones-import": {2021: 0, 2022: 4_000_000},
    "drones-export-ru": {2021: 0, 2022: 1_100_000},
}
HONEST_CHIP_IMPORTS_2022 = 33_000_000  # "as in earlier years": the rest of 2022's 70M is the scheme's
FRONT_CHIP_EXPORTS = 3_000_000  # on top of the article's figures
SUPPLIER_COUNTRIES = ("CN", "HK", "TR", "AE", "KR", "TW")
SCHEME_PROFILES = (
    (("24.10", "46.72"), "Болат Снаб", "Bolat Snab"),
    (("01.11", "46.21"), "Агро Сервис", "Agro Servis"),
    (("84.25", "46.90"), "Спас Снаб", "Spas Snab"),
    (("46.72", "01.61"), "Аспан Жол", "Aspan Zhol"),
    (("24.10", "84.25"), "Металл Құрылыс", "Metall Kurylys"),
)
SURNAMES = ("Гольдберг", "Шапошников", "Левин", "Рябов", "Орлов", "Кравец", "Баранов", "Зуев")
GIVEN = ("Илья Маркович", "Михаил Андреевич", "Олег Петрович", "Павел Игоревич", "Денис Сергеевич")


@dataclass
class Row:
    """One declaration of the history: its CSV rows and its label."""

    date: dt.date
    rows: list[list[str]]
    actor: str
    flow: str
    company_id: str


@dataclass
class Scheme:
    firm: gs.Company
    partner: gs.Company  # Russian
    fronts: list[gs.Company]  # Kyrgyz and Armenian


class History:
    def __init__(self, rng: random.Random, companies: list[gs.Company], people: list[gs.Person]) -> None:
        self.rng = rng
        self.base = tuple(companies)  # the synthetic registry: the honest background
        self.companies = list(companies)  # with the story's companies added
        self.people = people
        self.held_by = [""] * len(people)  # person_company_id of each row of `people`
        self.serial = 0
        self.declarations: list[Row] = []

    # -- parts ---------------------------------------------------------------------------
    def declaration_id(self, date: dt.date) -> str:
        self.serial += 1
        return f"{self.rng.choice(gs.KZ_OFFICES)}/{date:%d%m%y}/9{self.serial:06d}"

    def company(
        self, country: str, name: str, latin: str, activities: Sequence[str], registered: dt.date
    ) -> gs.Company:
        if country == "KZ":
            company_id = gs.make_bin(registered, self.rng.randint(90000, 99999))
            name, alias = f"ТОО «{name}»", f"{latin} LLP"
        elif country == "RU":
            company_id = gs.make_inn(self.rng.choice(gs.RU_TAX_OFFICES), self.rng.randint(10000, 99999))
            name, alias = f"ООО «{name}»", f"{latin} LLC"
        else:
            company_id = gs.foreign_id(self.rng, country, registered)
            name, alias = f"ОсОО «{name}»" if country == "KG" else f"{latin} LLC", latin
        company = gs.Company(company_id, name, country, registered, list(activities), [alias])
        self.companies.append(company)
        return company

    def person(self, company: gs.Company, name: str, role: str, birth: str, held_by: gs.Company | None = None) -> None:
        """A person's role in `company`; with `held_by`, the role is held by that company."""
        self.people.append(gs.Person(company.company_id, name, role, "", birth))
        self.held_by.append(held_by.company_id if held_by else "")

    def add(self, date: dt.date, rows: list[list[str]], actor: str, flow: str, who: str) -> None:
        self.declarations.append(Row(date, rows, actor, flow, who))

    def items(self, goods: Sequence[gs.Goods], value: float) -> list[list[str]]:
        """One to three item lines of `goods` whose values sum to `value` (EUR)."""
        count = self.rng.choice((1, 1, 2, 3))
        weights = [self.rng.uniform(1, 3) for _ in range(count)]
        cents = [round(value * 100 * w / sum(weights)) for w in weights]
        cents[-1] = round(value * 100) - sum(cents[:-1])
        lines = []
        for line, amount in enumerate(cents, start=1):
            g = self.rng.choice(goods)
            price = self.rng.uniform(*g.price) * gs.FX_PER_USD["EUR"]
            qty = max(1, round(amount / 100 / price))
            description = g.ru if self.rng.random() < 0.5 else g.en
            lines.append(
                [str(line), gs.format_hs(self.rng, g.hs), description, str(qty), g.unit, f"{amount / 100:.2f}",
                 "EUR", self.rng.choice(g.origins), gs._fmt_number(round(qty * g.kg, 3))]
            )  # fmt: skip
        return lines

    def flow(self, total: float, count: int, start: dt.date, end: dt.date) -> list[tuple[dt.date, float]]:
        """`count` dated amounts between start and end that sum to `total` exactly."""
        weights = [self.rng.uniform(0.5, 1.5) for _ in range(count)]
        amounts = [round(total * w / sum(weights), 2) for w in weights]
        amounts[-1] = round(total - sum(amounts[:-1]), 2)
        days = (end - start).days
        return sorted((start + dt.timedelta(days=self.rng.randint(0, days)), a) for a in amounts)

    def trade(
        self, date: dt.date, procedure: str, exporter: gs.Company, consignee: gs.Company, goods: Sequence[gs.Goods],
        value: float, label: tuple[str, str, str],
    ) -> None:  # fmt: skip
        dispatch = "KZ" if procedure == "export" else exporter.country
        destination = consignee.country
        header = [
            self.declaration_id(date), date.isoformat(), procedure, "customs_declaration",
            exporter.name, exporter.company_id if self.rng.random() < 0.7 else "", exporter.country,
            consignee.name, consignee.company_id if self.rng.random() < 0.7 else "", consignee.country,
            dispatch, destination, "",
        ]  # fmt: skip
        self.add(date, [header + item for item in self.items(goods, value)], *label)


def _suppliers(history: History) -> list[gs.Company]:
    rng = history.rng
    return [
        history.company(c, f"Supplier {n}", f"Asia Chip Supply {n}", ("46.52",), dt.date(2010, 1, 1) + dt.timedelta(n))
        for n, c in enumerate(rng.choice(SUPPLIER_COUNTRIES) for _ in range(12))
    ]


def _schemes(history: History) -> list[Scheme]:
    schemes = []
    for n, (activities, name, latin) in enumerate(SCHEME_PROFILES):
        registered = dt.date(2015 + n % 5, 1 + n, 10 + n)
        firm = history.company("KZ", name, latin, activities, registered)
        partner = history.company("RU", f"Небесная Техника {n + 1}", f"Nebesnaya Tekhnika {n + 1}", ("46.52",),
                                  registered + dt.timedelta(days=200))  # fmt: skip
        founder = f"{SURNAMES[n]} {GIVEN[n % len(GIVEN)]}"
        director = f"{SURNAMES[(n + 3) % len(SURNAMES)]} {GIVEN[(n + 1) % len(GIVEN)]}"
        birth = f"19{70 + n}-0{1 + n}-1{n}"
        history.person(firm, director, "director", "")
        history.person(firm, founder, "founder", birth)
        history.person(partner, founder, "director", birth)  # the Goldberg link
        # the fronts share no person with the Kazakh firm: the Russian partner founded them,
        # so the firm reaches them in two steps (firm - founder - partner - role - front)
        fronts = []
        for k, country in enumerate(("KG", "AM")):
            front = history.company(country, f"Транзит Групп {n + 1}", f"Tranzit Group {n + 1} {country}", ("46.90",),
                                    dt.date(2022, 4, 1) + dt.timedelta(days=n))  # fmt: skip
            history.person(front, f"{SURNAMES[(n + 5 + k) % len(SURNAMES)]} {GIVEN[(n + 2 + k) % len(GIVEN)]}",
                           "director", f"198{n}-1{k}-2{n}")  # fmt: skip
            history.person(front, partner.name, "founder", "", held_by=partner)
            fronts.append(front)
        schemes.append(Scheme(firm, partner, fronts))
    return schemes


def _honest_chips(history: History, distributors: list[gs.Company], suppliers: list[gs.Company]) -> None:
    rng = history.rng
    totals = {2021: ARTICLE["chips-import"][2021], 2022: HONEST_CHIP_IMPORTS_2022}
    for year, total in totals.items():
        for date, value in history.flow(total, 160, dt.date(year, 1, 5), dt.date(year, 12, 28)):
            buyer = rng.choice(distributors)
            history.trade(
                date, "import", rng.choice(suppliers), buyer, CHIPS, value, ("honest", "chips-import", buyer.company_id)
            )
    seller = distributors[0]
    buyers = [c for c in history.base if c.country == "RU"] or [distributors[-1]]
    for date, value in history.flow(ARTICLE["chips-export-ru"][2021], 4, dt.date(2021, 2, 1), dt.date(2021, 11, 30)):
        history.trade(
            date, "export", seller, rng.choice(buyers), CHIPS, value, ("honest", "chips-export-ru", seller.company_id)
        )


def _scheme_flows(history: History, schemes: list[Scheme], suppliers: list[gs.Company]) -> None:
    rng = history.rng
    start, end = dt.date(2022, 3, 10), dt.date(2022, 12, 15)
    chips_in = ARTICLE["chips-import"][2022] - HONEST_CHIP_IMPORTS_2022
    flows = (
        (CHIPS, chips_in, 90, ARTICLE["chips-export-ru"][2022], 70, "chips"),
        (DRONES, ARTICLE["drones-import"][2022], 24, ARTICLE["drones-export-ru"][2022], 12, "drones"),
    )
    for goods, imported, n_in, exported, n_out, name in flows:
        imports = history.flow(imported, n_in, start, end - dt.timedelta(days=45))
        by_firm: dict[int, list[dt.date]] = defaultdict(list)
        for date, value in imports:
            k = rng.randrange(len(schemes))
            by_firm[k].append(date)
            firm = schemes[k].firm
            history.trade(
                date, "import", rng.choice(suppliers), firm, goods, value, ("scheme", f"{name}-import", firm.company_id)
            )
        for _, value in history.flow(exported, n_out, start, end):
            k = rng.choice(sorted(by_firm))
            scheme = schemes[k]
            date = rng.choice(by_firm[k]) + dt.timedelta(days=rng.randint(5, 45))
            history.trade(date, "export", scheme.firm, scheme.partner, goods, value,
                          ("scheme", f"{name}-export-ru", scheme.firm.company_id))  # fmt: skip
        if name == "chips":
            for _, value in history.flow(FRONT_CHIP_EXPORTS, 20, start, end):
                k = rng.choice(sorted(by_firm))
                scheme = schemes[k]
                date = rng.choice(by_firm[k]) + dt.timedelta(days=rng.randint(5, 45))
                history.trade(date, "export", scheme.firm, rng.choice(scheme.fronts), goods, value,
                              ("scheme", "chips-export-front", scheme.firm.company_id))  # fmt: skip


class Background(gs.ShipmentGenerator):
    """The registry's honest trade over 2021-2022: listed goods never to Russia or Belarus."""

    def _date(self, company: gs.Company | None) -> dt.date:
        start = dt.date(2021, 1, 1)
        if company and company.registered_on and company.registered_on > start:
            start = min(company.registered_on + dt.timedelta(days=30), dt.date(2022, 12, 1))
        return gs._random_date(self.rng, start, dt.date(2022, 12, 31))


def _background(history: History, count: int) -> None:
    generator = Background(history.rng, list(history.base), mismatch_share=0.0)
    made = 0
    while made < count:
        rows = generator.declaration()
        header = rows[0]
        codes = ["".join(ch for ch in r[14] if ch.isdigit()) for r in rows]
        if any(c.startswith(("8542", "8806")) for c in codes):
            continue  # the chip and drone flows are written on their own, to the article's figures
        if header[2] == "transit" or (
            any(map(gs.is_listed, codes)) and {header[11], *header[12].split(";")} & {"RU", "BY"}
        ):
            continue  # honest traders keep listed goods away from Russia and Belarus
        who = header[5] or header[8]
        history.add(dt.date.fromisoformat(header[1]), rows, "honest", "background", who)
        made += 1


def aggregates(history: History) -> dict[str, dict[int, float]]:
    """EUR per article flow and year, summed over the item lines written (fronts excluded)."""
    sums: dict[str, dict[int, float]] = {flow: dict.fromkeys(YEARS, 0.0) for flow in ARTICLE}
    for row in history.declarations:
        for line in row.rows:
            hs, procedure, destination = "".join(ch for ch in line[14] if ch.isdigit()), line[2], line[11]
            kind = "chips" if hs.startswith("8542") else "drones" if hs.startswith("8806") else None
            if kind is None:
                continue
            flow = f"{kind}-import" if procedure == "import" else f"{kind}-export-ru" if destination == "RU" else None
            if flow in sums:
                sums[flow][row.date.year] = round(sums[flow][row.date.year] + float(line[18]), 2)
    return sums


def build(seed: int, companies: int, background: int) -> History:
    rng = random.Random(seed)
    registry, people = gs.synthetic_registry(rng, companies)
    history = History(rng, registry, people)
    suppliers = _suppliers(history)
    schemes = _schemes(history)
    # established chip distributors: registered activity 46.52 (electronic parts) before 2020
    distributors = [
        c for c in registry
        if c.country == "KZ" and "46.52" in c.activity_codes and c.registered_on and c.registered_on.year < 2020
    ]  # fmt: skip
    if not distributors:
        raise SystemExit("generate_history: the registry has no electronics distributor; use more --companies")
    _background(history, background)
    _honest_chips(history, distributors, suppliers)
    _scheme_flows(history, schemes, suppliers)
    history.declarations.sort(key=lambda r: (r.date, r.rows[0][0]))
    return history


def write(history: History, out: Path) -> None:
    gs.write_registry(out / "registry", history.companies, [])
    with (out / "registry" / "people.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*gs.PEOPLE_COLUMNS, "person_company_id"])
        writer.writerows([*p.row(), held] for p, held in zip(history.people, history.held_by, strict=True))
    with (out / "history.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(gs.BATCH_COLUMNS)
        for row in history.declarations:
            writer.writerows(row.rows)
    with (out / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["declaration_id", "actor", "flow", "company_id"])
        writer.writerows([r.rows[0][0], r.actor, r.flow, r.company_id] for r in history.declarations)
    sums = aggregates(history)
    (out / "aggregates.json").write_text(json.dumps({"article": ARTICLE, "written": sums}, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--companies", type=int, default=400, help="companies of the background registry")
    parser.add_argument("--background", type=int, default=4000, help="honest background declarations")
    args = parser.parse_args(argv)
    history = build(args.seed, args.companies, args.background)
    write(history, args.out)
    for flow, years in aggregates(history).items():
        print(f"{flow}: " + ", ".join(f"{y} EUR {v:,.2f} (article {ARTICLE[flow][y]:,})" for y, v in years.items()),
              file=sys.stderr)  # fmt: skip
    actors = defaultdict(int)
    for row in history.declarations:
        actors[row.actor] += 1
    print(f"generate_history: {len(history.declarations)} declarations ({dict(actors)}) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
