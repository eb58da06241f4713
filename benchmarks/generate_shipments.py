#!/usr/bin/env python3
"""Write a synthetic batch CSV of shipment lines (and, optionally, a synthetic registry).

    python benchmarks/generate_shipments.py --lines 100000 --out /tmp/ship.csv [--seed 1]
        [--registry fixtures/registry] [--registry-out DIR --companies N] [--story]

The batch CSV follows the contract of design.md section 4: one row per goods item, rows of
one declaration consecutive and sharing its header values, 1 to 5 lines per declaration.
The mix: mostly exports from Kazakhstan, about 10% of declarations to RU or BY, about 5%
of lines of listed goods (CHPL codes, drones and drone parts), dates in 2023-2024, several
currencies, HS codes written in several formats. The output is the same for the same
--seed and options.

Parties come from a registry: `--registry DIR` reads DIR/companies.csv (exporters and
consignees are drawn from it, written by name or alias, sometimes with their id, and ship
goods that their activity codes cover most of the time); `--registry-out DIR --companies N`
writes a synthetic registry of N companies (companies.csv and people.csv, valid Kazakh
BINs and Russian INNs) and draws the shipments from it; with neither, an in-memory
synthetic registry is used. `--story` appends the seed story and the special cases
(Aspan Arba -> Nebesnaya Mekhanika, shell, watchlisted, decoys, linked pair, transit via
RU); it needs a registry that holds those companies, such as fixtures/registry.

Standard library only. Progress and a summary go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BATCH_COLUMNS = [
    "declaration_id",
    "date",
    "procedure",
    "document_type",
    "exporter_name",
    "exporter_id",
    "exporter_country",
    "consignee_name",
    "consignee_id",
    "consignee_country",
    "dispatch_country",
    "destination_country",
    "transit_countries",
    "line",
    "hs_code",
    "description",
    "quantity",
    "unit",
    "value",
    "currency",
    "origin_country",
    "net_mass_kg",
]
COMPANY_COLUMNS = ["company_id", "name", "country", "registered_on", "activity_codes", "aliases"]
PEOPLE_COLUMNS = ["company_id", "person_name", "role", "person_id", "birth_date"]

# --------------------------------------------------------------------------------------
# Reference data embedded on purpose: shared/ may not exist where this runs.

# The Common High Priority List (50 HS6 codes, tiers 1 to 4B).
CHPL_HS6 = frozenset(
    (
        "854231",
        "854232",
        "854233",
        "854239",  # tier 1
        "851762",
        "852691",
        "853221",
        "853224",
        "854800",  # tier 2
        "847150",
        "850440",
        "851769",
        "852589",
        "852910",
        "852990",
        "853669",
        "853690",
        "854110",
        "854121",
        "854129",
        "854130",
        "854149",
        "854151",
        "854159",
        "854160",  # tier 3A
        "848210",
        "848220",
        "848230",
        "848250",
        "880730",
        "901310",
        "901380",
        "901420",
        "901480",  # tier 3B
        "847180",
        "848610",
        "848620",
        "848640",
        "853400",
        "854320",
        "902750",
        "903020",
        "903032",
        "903039",
        "903082",  # tier 4A
        "845710",
        "845811",
        "845891",
        "845961",
        "846693",  # tier 4B
    )
)
DRONE_PREFIX = "8806"  # unmanned aircraft: not on the CHPL, listed on their own

# Which goods (HS prefixes) an activity code covers; the engine's map (rules/lists).
ACTIVITY_COVERS: dict[str, tuple[str, ...]] = {
    "01": ("06-14", "31", "3808", "8424", "8432-8437", "8701"),
    "01.61": ("8806",),
    "10": ("02-24",),
    "11": ("02-24",),
    "20.15": ("31",),
    "24": ("25-27", "72-81"),
    "25": ("72", "73", "76", "82", "83"),
    "26": ("8471", "8473", "8517", "8525-8529", "8532-8542", "9013-9031"),
    "27": ("8501-8516", "8536-8548"),
    "28": ("84",),
    "29": ("87",),
    "30.30": ("88",),
    "46.21": ("10", "12", "23"),
    "46.3": ("02-22",),
    "46.51": ("8471", "8473", "8523"),
    "46.52": ("8517", "8525-8529", "8532-8542", "8548"),
    "46.61": ("8424", "8432-8437", "8701"),
    "46.69": ("84", "85"),
    "46.71": ("27",),
    "46.72": ("26", "72-81"),
    "84.25": ("8424", "6307"),
}


def _expand(spec: str) -> tuple[str, ...]:
    if "-" not in spec:
        return (spec,)
    low, high = spec.split("-")
    return tuple(str(n).zfill(len(low)) for n in range(int(low), int(high) + 1))


_COVERS = {
    key.replace(".", ""): tuple(p for spec in specs for p in _expand(spec))
    for key, specs in ACTIVITY_COVERS.items()
}


def covered_prefixes(activity_codes: Sequence[str]) -> tuple[str, ...]:
    """HS prefixes the activity codes cover (a key covers every code it is a prefix of)."""
    out: list[str] = []
    for code in activity_codes:
        digits = code.replace(".", "").strip()
        for key, prefixes in _COVERS.items():
            if digits.startswith(key):
                out.extend(p for p in prefixes if p not in out)
    return tuple(out)


def is_listed(hs: str) -> bool:
    return hs[:6] in CHPL_HS6 or hs.startswith(DRONE_PREFIX)


# Goods catalogue: 10-digit code, English and Russian description, unit, quantity range,
# unit price range in USD, net kg per unit, countries of origin (KZ = made in Kazakhstan).
@dataclass(frozen=True)
class Goods:
    hs: str
    en: str
    ru: str
    unit: str
    qty: tuple[float, float]
    price: tuple[float, float]
    kg: float
    origins: tuple[str, ...]

    @property
    def listed(self) -> bool:
        return is_listed(self.hs)


_ASIA_ELEC = ("CN", "TW", "KR", "MY", "VN", "JP", "US")
_MACH = ("CN", "DE", "TR", "IT", "BY", "RU")
_G = Goods
CATALOGUE: tuple[Goods, ...] = (
    # agriculture and food
    _G(
        "1001990000",
        "Wheat, other than seed",
        "Пшеница мягкая",
        "t",
        (20, 2000),
        (190, 260),
        1000,
        ("KZ",),
    ),
    _G(
        "1003900000",
        "Barley, other than seed",
        "Ячмень",
        "t",
        (20, 1500),
        (170, 220),
        1000,
        ("KZ",),
    ),
    _G("1101001500", "Wheat flour", "Мука пшеничная", "t", (20, 600), (260, 340), 1000, ("KZ",)),
    _G(
        "1204009000",
        "Linseed (flax seed)",
        "Семена льна",
        "t",
        (20, 800),
        (420, 560),
        1000,
        ("KZ",),
    ),
    _G(
        "1206009900",
        "Sunflower seeds",
        "Семена подсолнечника",
        "t",
        (20, 900),
        (330, 420),
        1000,
        ("KZ",),
    ),
    _G(
        "0713409000", "Dried lentils", "Чечевица сушеная", "t", (20, 500), (550, 700), 1000, ("KZ",)
    ),
    _G("2302300000", "Wheat bran", "Отруби пшеничные", "t", (20, 1000), (110, 160), 1000, ("KZ",)),
    _G(
        "0409000000", "Natural honey", "Мед натуральный", "kg", (200, 20000), (3.5, 6.0), 1, ("KZ",)
    ),
    _G(
        "1512191000",
        "Refined sunflower oil",
        "Масло подсолнечное рафинированное",
        "t",
        (10, 400),
        (900, 1200),
        1000,
        ("KZ",),
    ),
    _G(
        "1902191000",
        "Pasta, uncooked",
        "Макаронные изделия",
        "t",
        (5, 120),
        (700, 950),
        1000,
        ("KZ",),
    ),
    _G("1806321000", "Chocolate bars", "Шоколад плиточный", "kg", (500, 20000), (4, 9), 1, ("KZ",)),
    _G("0703101900", "Onions", "Лук репчатый", "t", (10, 300), (150, 260), 1000, ("KZ",)),
    _G("3102101000", "Urea", "Карбамид", "t", (100, 5000), (290, 380), 1000, ("KZ",)),
    _G(
        "3102300000",
        "Ammonium nitrate",
        "Аммиачная селитра",
        "t",
        (100, 5000),
        (240, 330),
        1000,
        ("KZ",),
    ),
    _G(
        "3105200000", "NPK fertilisers", "Удобрения NPK", "t", (50, 3000), (380, 520), 1000, ("KZ",)
    ),
    _G("3808931500", "Herbicides", "Гербициды", "kg", (500, 20000), (6, 14), 1, ("CN", "DE", "IN")),
    # agricultural machinery
    _G(
        "8701929000",
        "Agricultural tractors, 37-75 kW",
        "Тракторы сельскохозяйственные",
        "pcs",
        (1, 20),
        (28000, 55000),
        3900,
        ("BY", "CN", "KZ", "TR"),
    ),
    _G(
        "8433510001",
        "Combine harvesters",
        "Комбайны зерноуборочные",
        "pcs",
        (1, 6),
        (120000, 260000),
        12000,
        ("BY", "RU", "DE", "KZ"),
    ),
    _G(
        "8432210000",
        "Disc harrows",
        "Бороны дисковые",
        "pcs",
        (1, 30),
        (6000, 18000),
        1400,
        ("KZ", "TR", "CN"),
    ),
    _G(
        "8424410000",
        "Portable agricultural sprayers",
        "Опрыскиватели переносные",
        "pcs",
        (10, 500),
        (60, 400),
        8,
        ("CN", "TR"),
    ),
    _G(
        "8436800000",
        "Other agricultural machinery",
        "Прочее сельхозоборудование",
        "pcs",
        (1, 20),
        (3000, 40000),
        900,
        ("TR", "IT", "CN"),
    ),
    # metals and minerals
    _G(
        "7208390000",
        "Flat-rolled steel, hot-rolled, < 3 mm",
        "Прокат плоский горячекатаный",
        "t",
        (50, 3000),
        (520, 700),
        1000,
        ("KZ",),
    ),
    _G(
        "7208510000",
        "Flat-rolled steel plate, > 10 mm",
        "Лист стальной толстый",
        "t",
        (50, 2000),
        (560, 760),
        1000,
        ("KZ",),
    ),
    _G(
        "7210490000",
        "Galvanised flat-rolled steel",
        "Прокат оцинкованный",
        "t",
        (20, 1500),
        (700, 950),
        1000,
        ("KZ",),
    ),
    _G(
        "7202411000",
        "Ferro-chromium, > 4% carbon",
        "Феррохром высокоуглеродистый",
        "t",
        (20, 2000),
        (1100, 1500),
        1000,
        ("KZ",),
    ),
    _G(
        "7403110000",
        "Refined copper cathodes",
        "Катоды медные",
        "t",
        (20, 500),
        (7800, 9200),
        1000,
        ("KZ",),
    ),
    _G(
        "7601200000",
        "Unwrought aluminium alloys",
        "Алюминий необработанный",
        "t",
        (20, 800),
        (2100, 2600),
        1000,
        ("KZ",),
    ),
    _G(
        "7901110000",
        "Unwrought zinc, >= 99.99%",
        "Цинк необработанный",
        "t",
        (20, 800),
        (2300, 3100),
        1000,
        ("KZ",),
    ),
    _G(
        "2601120000",
        "Iron ore pellets",
        "Окатыши железорудные",
        "t",
        (500, 20000),
        (90, 140),
        1000,
        ("KZ",),
    ),
    _G(
        "2701120000",
        "Bituminous coal",
        "Уголь каменный",
        "t",
        (500, 20000),
        (60, 120),
        1000,
        ("KZ",),
    ),
    _G(
        "2523290000",
        "Portland cement",
        "Цемент портландский",
        "t",
        (100, 5000),
        (45, 80),
        1000,
        ("KZ",),
    ),
    _G(
        "7306305000",
        "Welded steel tubes",
        "Трубы стальные сварные",
        "t",
        (10, 600),
        (800, 1100),
        1000,
        ("KZ", "CN", "RU"),
    ),
    _G(
        "7308909809",
        "Steel structures",
        "Металлоконструкции",
        "t",
        (5, 300),
        (1200, 2200),
        1000,
        ("KZ", "CN"),
    ),
    # fuel
    _G(
        "2710124500",
        "Motor petrol",
        "Бензин автомобильный",
        "t",
        (20, 3000),
        (650, 900),
        1000,
        ("KZ",),
    ),
    _G(
        "2710194200", "Diesel fuel", "Топливо дизельное", "t", (20, 3000), (600, 850), 1000, ("KZ",)
    ),
    _G(
        "2711129400",
        "Liquefied propane",
        "Пропан сжиженный",
        "t",
        (20, 1500),
        (380, 550),
        1000,
        ("KZ",),
    ),
    # machinery and electrical
    _G(
        "8413708100",
        "Centrifugal pumps",
        "Насосы центробежные",
        "pcs",
        (2, 80),
        (600, 9000),
        90,
        _MACH,
    ),
    _G(
        "8481809900",
        "Industrial valves",
        "Арматура запорная",
        "pcs",
        (10, 500),
        (40, 900),
        12,
        _MACH,
    ),
    _G(
        "8474209000",
        "Crushing machines for minerals",
        "Дробилки",
        "pcs",
        (1, 5),
        (40000, 180000),
        9000,
        ("CN", "DE", "RU"),
    ),
    _G(
        "8430490000",
        "Boring and sinking machinery",
        "Буровые машины",
        "pcs",
        (1, 4),
        (80000, 400000),
        15000,
        ("CN", "US", "RU"),
    ),
    _G(
        "8418102001",
        "Household refrigerators",
        "Холодильники бытовые",
        "pcs",
        (20, 400),
        (250, 600),
        60,
        ("KZ", "TR", "CN", "BY"),
    ),
    _G(
        "8501520093",
        "AC motors, 0.75-75 kW",
        "Электродвигатели переменного тока",
        "pcs",
        (5, 300),
        (150, 2500),
        40,
        ("CN", "RU", "DE"),
    ),
    _G(
        "8507600000",
        "Lithium-ion accumulators",
        "Аккумуляторы литий-ионные",
        "pcs",
        (50, 5000),
        (20, 180),
        1.2,
        _ASIA_ELEC,
    ),
    _G(
        "8516500000",
        "Microwave ovens",
        "Микроволновые печи",
        "pcs",
        (50, 1000),
        (60, 140),
        12,
        ("CN", "TR"),
    ),
    _G(
        "8544429007",
        "Insulated electric cables",
        "Кабели электрические",
        "kg",
        (200, 10000),
        (6, 14),
        1,
        ("KZ", "CN", "RU"),
    ),
    _G(
        "8703231940",
        "Passenger cars, 1500-3000 cc",
        "Автомобили легковые",
        "pcs",
        (1, 20),
        (14000, 38000),
        1400,
        ("KZ", "CN", "KR"),
    ),
    _G(
        "8704219100",
        "Light trucks, diesel",
        "Грузовики малотоннажные",
        "pcs",
        (1, 10),
        (18000, 45000),
        2600,
        ("CN", "RU", "TR"),
    ),
    _G(
        "8708999709",
        "Motor vehicle parts",
        "Запчасти автомобильные",
        "kg",
        (100, 5000),
        (5, 25),
        1,
        ("CN", "KR", "DE"),
    ),
    # computers and electronics
    _G(
        "8471300000",
        "Laptop computers",
        "Ноутбуки",
        "pcs",
        (20, 1500),
        (350, 1400),
        2.1,
        _ASIA_ELEC,
    ),
    _G(
        "8471410000",
        "Desktop computers",
        "Компьютеры настольные",
        "pcs",
        (10, 500),
        (400, 1200),
        8,
        _ASIA_ELEC,
    ),
    _G(
        "8473302008",
        "Parts of computers",
        "Части компьютеров",
        "kg",
        (50, 3000),
        (20, 90),
        1,
        _ASIA_ELEC,
    ),
    _G(
        "8523511000",
        "Solid-state storage (flash cards)",
        "Накопители флэш",
        "pcs",
        (100, 20000),
        (4, 40),
        0.01,
        _ASIA_ELEC,
    ),
    _G(
        "8517130000",
        "Smartphones",
        "Смартфоны",
        "pcs",
        (50, 5000),
        (120, 900),
        0.2,
        ("CN", "VN", "KR", "IN"),
    ),
    _G(
        "8528721000",
        "Television receivers",
        "Телевизоры",
        "pcs",
        (20, 800),
        (180, 700),
        11,
        ("CN", "KR", "TR", "KZ"),
    ),
    _G(
        "8539520000",
        "LED lamps",
        "Лампы светодиодные",
        "pcs",
        (500, 50000),
        (0.8, 3),
        0.05,
        ("CN",),
    ),
    _G(
        "8529109000",
        "Aerials and aerial reflectors",
        "Антенны",
        "pcs",
        (20, 2000),
        (8, 120),
        0.5,
        _ASIA_ELEC,
    ),
    # listed goods (CHPL, drones, drone parts)
    _G(
        "8542310001",
        "Electronic integrated circuits: processors and controllers",
        "Интегральные схемы: процессоры и контроллеры",
        "pcs",
        (500, 50000),
        (2, 60),
        0.002,
        _ASIA_ELEC,
    ),
    _G(
        "8542320001",
        "Electronic integrated circuits: memories",
        "Интегральные схемы: память",
        "pcs",
        (500, 50000),
        (1.5, 25),
        0.002,
        _ASIA_ELEC,
    ),
    _G(
        "8542330000",
        "Electronic integrated circuits: amplifiers",
        "Интегральные схемы: усилители",
        "pcs",
        (500, 30000),
        (0.5, 12),
        0.001,
        _ASIA_ELEC,
    ),
    _G(
        "8542390001",
        "Electronic integrated circuits, other",
        "Интегральные схемы прочие",
        "pcs",
        (500, 30000),
        (0.5, 20),
        0.002,
        _ASIA_ELEC,
    ),
    _G(
        "8541210000",
        "Transistors, < 1 W",
        "Транзисторы",
        "pcs",
        (1000, 100000),
        (0.05, 0.6),
        0.0005,
        _ASIA_ELEC,
    ),
    _G("8541100009", "Diodes", "Диоды", "pcs", (1000, 100000), (0.02, 0.3), 0.0003, _ASIA_ELEC),
    _G(
        "8532240000",
        "Multilayer ceramic capacitors",
        "Конденсаторы керамические",
        "pcs",
        (5000, 500000),
        (0.005, 0.08),
        0.00005,
        _ASIA_ELEC,
    ),
    _G(
        "8534001100",
        "Printed circuits",
        "Печатные платы",
        "pcs",
        (100, 10000),
        (2, 40),
        0.05,
        _ASIA_ELEC,
    ),
    _G(
        "8517620009",
        "Routers and switching apparatus",
        "Маршрутизаторы и коммутаторы",
        "pcs",
        (10, 2000),
        (40, 2500),
        1.5,
        _ASIA_ELEC,
    ),
    _G(
        "8525890000",
        "Digital cameras",
        "Камеры цифровые",
        "pcs",
        (10, 1000),
        (120, 1500),
        0.6,
        _ASIA_ELEC,
    ),
    _G(
        "8526910000",
        "Radio navigational aid apparatus (GNSS receivers)",
        "Аппаратура радионавигационная",
        "pcs",
        (10, 500),
        (150, 3000),
        0.4,
        _ASIA_ELEC,
    ),
    _G(
        "8504408300",
        "Static converters (inverters)",
        "Преобразователи статические",
        "pcs",
        (10, 1000),
        (60, 1500),
        3,
        _ASIA_ELEC,
    ),
    _G(
        "8548000000",
        "Electrical parts of machinery n.e.s.",
        "Электрические части машин",
        "kg",
        (10, 2000),
        (20, 150),
        1,
        _ASIA_ELEC,
    ),
    _G(
        "8471500000",
        "Processing units for computers (servers)",
        "Процессорные блоки",
        "pcs",
        (5, 500),
        (800, 9000),
        12,
        _ASIA_ELEC,
    ),
    _G(
        "8471800000",
        "Other units of computers",
        "Прочие блоки вычислительных машин",
        "pcs",
        (10, 2000),
        (50, 900),
        1.5,
        _ASIA_ELEC,
    ),
    _G(
        "8482100900",
        "Ball bearings",
        "Подшипники шариковые",
        "pcs",
        (100, 20000),
        (0.8, 40),
        0.3,
        ("CN", "DE", "RU", "JP"),
    ),
    _G(
        "9014208000",
        "Aeronautical navigation instruments",
        "Приборы навигационные авиационные",
        "pcs",
        (2, 200),
        (800, 12000),
        1.5,
        ("US", "CN", "DE", "FR"),
    ),
    _G(
        "9013800000",
        "Other optical devices",
        "Приборы оптические прочие",
        "pcs",
        (10, 1000),
        (30, 900),
        0.4,
        ("CN", "JP", "DE"),
    ),
    _G(
        "8458110000",
        "CNC horizontal lathes",
        "Станки токарные с ЧПУ",
        "pcs",
        (1, 6),
        (45000, 250000),
        4500,
        ("CN", "TW", "DE", "IT"),
    ),
    _G(
        "8806220000",
        "Unmanned aircraft, 250 g - 7 kg",
        "Беспилотные летательные аппараты",
        "pcs",
        (5, 200),
        (900, 6000),
        1.2,
        ("CN",),
    ),
    _G(
        "8807300000",
        "Parts of unmanned aircraft",
        "Части беспилотных летательных аппаратов",
        "pcs",
        (50, 2000),
        (10, 300),
        0.3,
        ("CN",),
    ),
    # instruments
    _G(
        "9015101000",
        "Electronic rangefinders",
        "Дальномеры электронные",
        "pcs",
        (5, 300),
        (150, 2000),
        0.8,
        ("CN", "DE", "JP"),
    ),
    _G(
        "9026102900",
        "Flow meters",
        "Расходомеры",
        "pcs",
        (5, 500),
        (200, 3500),
        4,
        ("DE", "CN", "RU"),
    ),
    _G(
        "9028301100",
        "Electricity meters",
        "Счетчики электроэнергии",
        "pcs",
        (50, 5000),
        (15, 120),
        0.8,
        ("CN", "KZ", "RU", "BY"),
    ),
    # other goods: covered by no specific activity (non-specialised trade)
    _G(
        "6307200000",
        "Lifejackets and lifebelts",
        "Жилеты спасательные",
        "pcs",
        (50, 3000),
        (12, 60),
        0.9,
        ("CN", "TR"),
    ),
    _G(
        "6203423500",
        "Men's cotton trousers",
        "Брюки мужские хлопковые",
        "pcs",
        (200, 10000),
        (6, 25),
        0.5,
        ("CN", "TR", "UZ", "KG"),
    ),
    _G(
        "6403999600",
        "Leather footwear",
        "Обувь кожаная",
        "pcs",
        (100, 5000),
        (15, 60),
        0.9,
        ("CN", "TR", "IT"),
    ),
    _G(
        "9403601000",
        "Wooden furniture",
        "Мебель деревянная",
        "pcs",
        (10, 500),
        (60, 600),
        30,
        ("CN", "TR", "BY", "RU"),
    ),
    _G(
        "3923300000",
        "Plastic bottles and containers",
        "Бутыли и контейнеры пластмассовые",
        "kg",
        (500, 20000),
        (1.5, 4),
        1,
        ("CN", "KZ", "TR"),
    ),
    _G(
        "9503007500",
        "Plastic toys",
        "Игрушки пластмассовые",
        "kg",
        (100, 5000),
        (4, 15),
        1,
        ("CN",),
    ),
)
_ALL_COVERED = tuple(p for prefixes in _COVERS.values() for p in prefixes)
# goods that no specific activity covers (what a non-specialised trader ships)
GENERAL_GOODS = tuple(g for g in CATALOGUE if not g.hs.startswith(_ALL_COVERED))

FX_PER_USD = {"USD": 1.0, "EUR": 0.92, "KZT": 460.0, "CNY": 7.2, "RUB": 90.0}

# Destinations of exports, with weights (RU and BY are drawn separately, ~10%).
RISK_DESTINATIONS = (("RU", 8), ("BY", 2))
OTHER_DESTINATIONS = (
    ("CN", 22),
    ("UZ", 20),
    ("KG", 15),
    ("TR", 12),
    ("DE", 8),
    ("AE", 8),
    ("IN", 5),
    ("IT", 4),
    ("PL", 4),
)
EAEU = frozenset({"AM", "BY", "KG", "KZ", "RU"})
MIDDLE_CORRIDOR = {"DE": "AZ;GE;TR", "IT": "AZ;GE;TR", "PL": "AZ;GE;TR", "TR": "AZ;GE"}
KZ_OFFICES = (
    "55201",
    "55203",
    "55301",
    "55401",
    "55501",
    "55601",
    "55701",
    "55801",
    "50410",
    "51901",
    "62002",
    "39901",
)

# --------------------------------------------------------------------------------------
# Identifiers


def kz_check_digit(first11: str) -> int | None:
    """Check digit of a Kazakh BIN/IIN, or None when the 11 digits cannot have one."""
    digits = [int(c) for c in first11]
    total = sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11
    if total == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        total = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if total == 10:
            return None
    return total


def kz_valid(number: str) -> bool:
    return len(number) == 12 and number.isdigit() and kz_check_digit(number[:11]) == int(number[11])


def make_bin(registered: dt.date, serial: int, kind: str = "4", division: str = "0") -> str:
    """A BIN: YYMM of registration, type, division, 5-digit serial, check digit."""
    while True:
        first = f"{registered:%y%m}{kind}{division}{serial % 100000:05d}"
        check = kz_check_digit(first)
        if check is not None:
            return first + str(check)
        serial += 1


def make_iin(birth: dt.date, male: bool, serial: int) -> str:
    """An IIN: YYMMDD, century/sex digit, 4-digit serial, check digit."""
    century = 1 if birth.year < 1900 else 3 if birth.year < 2000 else 5
    while True:
        first = f"{birth:%y%m%d}{century + (0 if male else 1)}{serial % 10000:04d}"
        check = kz_check_digit(first)
        if check is not None:
            return first + str(check)
        serial += 1


def make_inn(office: str, serial: int) -> str:
    """A Russian legal entity's INN: 4-digit tax office, 5-digit serial, check digit."""
    first = f"{office}{serial % 100000:05d}"
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(first, weights, strict=True)) % 11 % 10
    return first + str(check)


def inn_valid(number: str) -> bool:
    if len(number) != 10 or not number.isdigit():
        return False
    return make_inn(number[:4], int(number[4:9])) == number


def make_nip(rng: random.Random) -> str:
    """A Polish NIP with its check digit."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    while True:
        first = str(rng.randint(100, 999)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
        check = sum(int(d) * w for d, w in zip(first, weights, strict=True)) % 11
        if check != 10:
            return first + str(check)


RU_TAX_OFFICES = (
    "7701",
    "7703",
    "7707",
    "7714",
    "7728",
    "7743",
    "7804",
    "7816",
    "5406",
    "6658",
    "6316",
    "1655",
    "5405",
    "6164",
    "2310",
    "5902",
    "7453",
    "5260",
)
_ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def foreign_id(rng: random.Random, country: str, registered: dt.date) -> str:
    """A plausible official identifier for a company of `country`."""

    def digits(n: int) -> str:
        return "".join(str(rng.randint(0, 9)) for _ in range(n))

    if country == "RU":
        return make_inn(rng.choice(RU_TAX_OFFICES), rng.randint(0, 99999))
    if country == "BY":
        return str(rng.randint(1, 7)) + digits(8)
    if country == "KG":
        return f"0{registered:%d%m%Y}" + digits(5)
    if country == "UZ":
        return str(rng.choice((2, 3))) + digits(8)
    if country == "CN":
        return "91" + digits(6) + "".join(rng.choice(_ALNUM) for _ in range(10))
    if country == "TR":
        return str(rng.randint(1, 9)) + digits(9)
    if country == "DE":
        return "DE" + str(rng.randint(1, 3)) + digits(8)
    if country == "IT":
        return "IT" + digits(11)
    if country == "PL":
        return make_nip(rng)
    if country == "AE":
        return "100" + digits(12)
    if country == "IN":
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        pan = "".join(rng.choice(letters) for _ in range(5)) + digits(4) + rng.choice(letters)
        return f"{rng.randint(1, 37):02d}{pan}1Z{rng.choice(_ALNUM)}"
    return country + digits(9)


# --------------------------------------------------------------------------------------
# Registry


@dataclass
class Company:
    company_id: str
    name: str
    country: str
    registered_on: dt.date | None
    activity_codes: list[str]
    aliases: list[str] = field(default_factory=list)
    normal: list[Goods] = field(default_factory=list)  # covered, not listed
    listed: list[Goods] = field(default_factory=list)  # covered and listed

    def __post_init__(self) -> None:
        prefixes = covered_prefixes(self.activity_codes)
        covered = [g for g in CATALOGUE if g.hs.startswith(prefixes)] if prefixes else []
        self.normal = [g for g in covered if not g.listed]
        self.listed = [g for g in covered if g.listed and not g.hs.startswith(DRONE_PREFIX)]

    def row(self) -> list[str]:
        return [
            self.company_id,
            self.name,
            self.country,
            self.registered_on.isoformat() if self.registered_on else "",
            ";".join(self.activity_codes),
            ";".join(self.aliases),
        ]


@dataclass
class Person:
    company_id: str
    person_name: str
    role: str
    person_id: str = ""
    birth_date: str = ""

    def row(self) -> list[str]:
        return [self.company_id, self.person_name, self.role, self.person_id, self.birth_date]


def read_registry(directory: Path) -> list[Company]:
    path = directory / "companies.csv"
    companies = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            registered = row.get("registered_on") or ""
            companies.append(
                Company(
                    company_id=(row.get("company_id") or "").strip(),
                    name=row["name"].strip(),
                    country=(row.get("country") or "").strip().upper(),
                    registered_on=dt.date.fromisoformat(registered) if registered else None,
                    activity_codes=[
                        c.strip() for c in (row.get("activity_codes") or "").split(";") if c.strip()
                    ],
                    aliases=[a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()],
                )
            )
    return companies


# Names. Pairs are (native spelling, Latin spelling).
KZ_WORDS = (
    ("Береке", "Bereke"),
    ("Жулдыз", "Zhuldyz"),
    ("Шанырак", "Shanyrak"),
    ("Сункар", "Sunkar"),
    ("Тулпар", "Tulpar"),
    ("Байтерек", "Baiterek"),
    ("Кайнар", "Kainar"),
    ("Ак Жол", "Ak Zhol"),
    ("Достык", "Dostyk"),
    ("Кокше", "Kokshe"),
    ("Ертис", "Ertis"),
    ("Жетысу", "Zhetysu"),
    ("Алатау", "Alatau"),
    ("Сарыарка", "Saryarka"),
    ("Каспий", "Kaspiy"),
    ("Арман", "Arman"),
    ("Бирлик", "Birlik"),
    ("Мерей", "Merey"),
    ("Атамекен", "Atameken"),
    ("Болашак", "Bolashak"),
    ("Кыран", "Kyran"),
    ("Еркин", "Erkin"),
    ("Ырыс", "Yrys"),
    ("Талап", "Talap"),
    ("Ынтымак", "Yntymak"),
    ("Самал", "Samal"),
    ("Айдын", "Aidyn"),
    ("Кызылжар", "Kyzylzhar"),
)
RU_WORDS = (
    ("Север", "Sever"),
    ("Вектор", "Vektor"),
    ("Альянс", "Alyans"),
    ("Урал", "Ural"),
    ("Сибирь", "Sibir"),
    ("Техно", "Tekhno"),
    ("Прогресс", "Progress"),
    ("Гранит", "Granit"),
    ("Импульс", "Impuls"),
    ("Меридиан", "Meridian"),
    ("Орион", "Orion"),
    ("Стандарт", "Standart"),
    ("Восток", "Vostok"),
    ("Кама", "Kama"),
    ("Ладога", "Ladoga"),
    ("Полесье", "Polesye"),
    ("Неман", "Neman"),
    ("Двина", "Dvina"),
    ("Березина", "Berezina"),
    ("Зенит", "Zenit"),
)
KG_WORDS = (
    ("Ала-Тоо", "Ala-Too"),
    ("Тенир", "Tenir"),
    ("Манас", "Manas"),
    ("Нарын", "Naryn"),
    ("Ош", "Osh"),
    ("Кыргыз", "Kyrgyz"),
    ("Бишкек", "Bishkek"),
    ("Чуй", "Chui"),
    ("Талас", "Talas"),
    ("Жалал-Абад", "Jalal-Abad"),
)
LATIN_WORDS = {
    "UZ": (
        "Toshkent",
        "Samarqand",
        "Buxoro",
        "Navoiy",
        "Andijon",
        "Zarafshon",
        "Turon",
        "Orol",
        "Ipak Yoli",
        "Chirchiq",
    ),
    "CN": (
        "Shenzhen Jinlong",
        "Urumqi Tianyu",
        "Yiwu Hengda",
        "Guangzhou Ruifeng",
        "Shanghai Dongfang",
        "Horgos Xinghe",
        "Chengdu Hongyuan",
        "Xi'an Yongsheng",
        "Tianjin Zhongtai",
        "Ningbo Haitong",
    ),
    "TR": (
        "Anadolu",
        "Marmara",
        "Ege",
        "Karadeniz",
        "Toros",
        "Kapadokya",
        "Boğaziçi",
        "Yıldız",
        "Ankara",
        "Trakya",
    ),
    "DE": (
        "Becker",
        "Hoffmann",
        "Schäfer",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
        "Neumann",
        "Elbe",
        "Spree",
    ),
    "IT": (
        "Rossi",
        "Ferrari",
        "Esposito",
        "Romano",
        "Colombo",
        "Ricci",
        "Marino",
        "Greco",
        "Lombarda",
        "Adriatica",
    ),
    "PL": (
        "Wisła",
        "Mazowsze",
        "Karpaty",
        "Bałtyk",
        "Odra",
        "Warta",
        "Polmet",
        "Sudety",
        "Mazury",
        "Pomorze",
    ),
    "AE": (
        "Gulf",
        "Falcon",
        "Oasis",
        "Pearl",
        "Crescent",
        "Dune",
        "Marina",
        "Al Noor",
        "Jebel",
        "Sahara",
    ),
    "IN": (
        "Deccan",
        "Ganga",
        "Himalaya",
        "Kaveri",
        "Sahyadri",
        "Narmada",
        "Indus",
        "Konark",
        "Malabar",
        "Vindhya",
    ),
}
LEGAL_FORM = {
    "KZ": ("ТОО «{}»", ("{} LLP", "{} TOO")),
    "RU": ("ООО «{}»", ("OOO {}", "{} LLC")),
    "BY": ("ООО «{}»", ("OOO {}", "{} LLC")),
    "KG": ("ОсОО «{}»", ("{} LLC", "OsOO {}")),
    "UZ": ("{} MChJ", ("{} LLC", "OOO {}")),
    "CN": ("{} Co., Ltd.", ("{} Company",)),
    "TR": ("{} Ticaret A.Ş.", ("{} Trading",)),
    "DE": ("{} GmbH", ("{}",)),
    "IT": ("{} S.r.l.", ("{}",)),
    "PL": ("{} Sp. z o.o.", ("{}",)),
    "AE": ("{} FZE", ("{} FZCO", "{} Trading LLC")),
    "IN": ("{} Pvt. Ltd.", ("{} Private Limited",)),
}


@dataclass(frozen=True)
class Profile:
    activities: tuple[str, ...]
    ru: tuple[str, ...]  # sector words (Cyrillic)
    en: tuple[str, ...]  # the same in Latin script
    weight: int


PROFILES = (
    Profile(("46.21", "01.11"), ("Астык", "Агро", "Зерно"), ("Astyk", "Agro", "Zerno"), 14),
    Profile(("10.61", "46.21"), ("Мельница", "Нан"), ("Melnitsa", "Nan"), 5),
    Profile(("46.33", "10.89"), ("Продукт", "Азык"), ("Produkt", "Azyk"), 6),
    Profile(("01.11", "01.13"), ("Фермер", "Агро"), ("Fermer", "Agro"), 5),
    Profile(("20.15",), ("Химия", "Тынайткыш"), ("Khimiya", "Tynaitkysh"), 3),
    Profile(("24.10", "46.72"), ("Болат", "Металл"), ("Bolat", "Metall"), 6),
    Profile(("46.72",), ("Металлторг", "Металл Трейд"), ("Metalltorg", "Metall Trade"), 5),
    Profile(("25.11", "46.72"), ("Металлоконструкция",), ("Metallokonstruktsiya",), 2),
    Profile(("46.61", "33.12"), ("Агротехника", "Агромаш"), ("Agrotekhnika", "Agromash"), 6),
    Profile(("46.52",), ("Электроникс", "Электро Снаб"), ("Electronics", "Elektro Snab"), 6),
    Profile(("46.51", "62.09"), ("Компьютер", "Диджитал"), ("Computer", "Digital"), 5),
    Profile(("26.51", "46.69"), ("Приборы", "Метрология"), ("Pribory", "Metrologiya"), 2),
    Profile(("28.92", "46.69"), ("Машзавод", "Техника"), ("Mashzavod", "Tekhnika"), 5),
    Profile(("27.11", "46.69"), ("Электротех",), ("Elektrotekh",), 3),
    Profile(("29.10", "45.11"), ("Авто",), ("Avto",), 3),
    Profile(("46.71",), ("Ойл", "Петролеум"), ("Oil", "Petroleum"), 4),
    Profile(("46.90",), ("Трейд", "Импэкс"), ("Trade", "Impex"), 2),
)
FOREIGN_COUNTRIES = (
    ("RU", 10),
    ("BY", 3),
    ("CN", 14),
    ("UZ", 12),
    ("KG", 10),
    ("TR", 9),
    ("DE", 8),
    ("AE", 7),
    ("IN", 5),
    ("IT", 4),
    ("PL", 4),
)

# People: (native, Latin) pairs. Kazakh and Russian names as "Surname Name Patronymic".
KZ_SURNAMES = (
    ("Ахметов", "Akhmetov"),
    ("Садыков", "Sadykov"),
    ("Нургалиев", "Nurgaliev"),
    ("Жумабаев", "Zhumabaev"),
    ("Сейтказиев", "Seitkaziev"),
    ("Искаков", "Iskakov"),
    ("Омаров", "Omarov"),
    ("Касымов", "Kasymov"),
    ("Есенов", "Esenov"),
    ("Байжанов", "Baizhanov"),
    ("Тулегенов", "Tulegenov"),
    ("Абенов", "Abenov"),
    ("Смагулов", "Smagulov"),
    ("Кенжебаев", "Kenzhebaev"),
    ("Утепов", "Utepov"),
    ("Мусин", "Musin"),
    ("Ержанов", "Erzhanov"),
    ("Даулетов", "Dauletov"),
    ("Серикбаев", "Serikbaev"),
    ("Бекмуханов", "Bekmukhanov"),
)
KZ_MALE = (
    ("Нурлан", "Nurlan"),
    ("Ерлан", "Erlan"),
    ("Асхат", "Askhat"),
    ("Бауыржан", "Bauyrzhan"),
    ("Даурен", "Dauren"),
    ("Серик", "Serik"),
    ("Арман", "Arman"),
    ("Канат", "Kanat"),
    ("Марат", "Marat"),
    ("Талгат", "Talgat"),
    ("Алмас", "Almas"),
    ("Бекзат", "Bekzat"),
    ("Дамир", "Damir"),
    ("Ержан", "Erzhan"),
)
KZ_FEMALE = (
    ("Айгуль", "Aigul"),
    ("Гульнара", "Gulnara"),
    ("Динара", "Dinara"),
    ("Жанар", "Zhanar"),
    ("Сауле", "Saule"),
    ("Асель", "Assel"),
    ("Мадина", "Madina"),
    ("Алия", "Aliya"),
    ("Камила", "Kamila"),
    ("Айжан", "Aizhan"),
)
RU_SURNAMES = (
    ("Иванов", "Ivanov"),
    ("Смирнов", "Smirnov"),
    ("Кузнецов", "Kuznetsov"),
    ("Попов", "Popov"),
    ("Васильев", "Vasilyev"),
    ("Петров", "Petrov"),
    ("Соколов", "Sokolov"),
    ("Михайлов", "Mikhailov"),
    ("Новиков", "Novikov"),
    ("Фёдоров", "Fedorov"),
    ("Морозов", "Morozov"),
    ("Волков", "Volkov"),
    ("Алексеев", "Alekseev"),
    ("Лебедев", "Lebedev"),
    ("Семёнов", "Semenov"),
    ("Егоров", "Egorov"),
    ("Павлов", "Pavlov"),
    ("Козлов", "Kozlov"),
    ("Степанов", "Stepanov"),
    ("Николаев", "Nikolaev"),
)
RU_MALE = (
    ("Алексей", "Aleksei"),
    ("Дмитрий", "Dmitry"),
    ("Сергей", "Sergei"),
    ("Андрей", "Andrei"),
    ("Владимир", "Vladimir"),
    ("Николай", "Nikolai"),
    ("Олег", "Oleg"),
    ("Павел", "Pavel"),
    ("Евгений", "Evgeny"),
    ("Виктор", "Viktor"),
    ("Юрий", "Yury"),
    ("Роман", "Roman"),
)
RU_FEMALE = (
    ("Елена", "Elena"),
    ("Ольга", "Olga"),
    ("Наталья", "Natalya"),
    ("Татьяна", "Tatyana"),
    ("Ирина", "Irina"),
    ("Светлана", "Svetlana"),
    ("Анна", "Anna"),
)
PATRONYMICS = (
    ("Болат", "ович", "овна"),
    ("Серик", "ович", "овна"),
    ("Марат", "ович", "овна"),
    ("Канат", "ович", "овна"),
    ("Ерлан", "ович", "овна"),
    ("Талгат", "ович", "овна"),
    ("Александр", "ович", "овна"),
    ("Сергее", "вич", "вна"),
    ("Николае", "вич", "вна"),
    ("Владимир", "ович", "овна"),
    ("Петр", "ович", "овна"),
    ("Иван", "ович", "овна"),
)
LATIN_PEOPLE = {
    "DE": (
        ("Jonas", "Lukas", "Stefan", "Thomas", "Anna", "Julia", "Katrin", "Markus"),
        ("Weber", "Müller", "Fischer", "Becker", "Hoffmann", "Wagner", "Schulz", "Braun"),
    ),
    "TR": (
        ("Mehmet", "Ahmet", "Mustafa", "Ayşe", "Fatma", "Emre", "Burak", "Elif"),
        ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk"),
    ),
    "CN": (
        ("Lei", "Na", "Wei", "Yang", "Jing", "Fan", "Min", "Tao"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Zhao", "Huang", "Zhou"),
    ),
    "UZ": (
        ("Akmal", "Jasur", "Sardor", "Dilshod", "Nodira", "Gulnora", "Bekzod", "Aziz"),
        ("Karimov", "Rahimov", "Usmonov", "Yusupov", "Tursunov", "Nazarov", "Mirzayev", "Xolmatov"),
    ),
    "KG": (
        ("Azamat", "Nurbek", "Bakyt", "Aibek", "Ainura", "Cholpon", "Emil", "Talant"),
        (
            "Mamytov",
            "Osmonov",
            "Abdyldaev",
            "Toktogulov",
            "Asanov",
            "Dzhumabaev",
            "Sadyrbaev",
            "Bekov",
        ),
    ),
    "IT": (
        ("Luca", "Marco", "Giulia", "Francesca", "Matteo", "Alessandro", "Chiara", "Paolo"),
        ("Bianchi", "Rossi", "Romano", "Gallo", "Conti", "De Luca", "Costa", "Fontana"),
    ),
    "PL": (
        ("Tomasz", "Piotr", "Anna", "Katarzyna", "Krzysztof", "Agnieszka", "Marcin", "Paweł"),
        (
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
        ),
    ),
    "AE": (
        ("Omar", "Khalid", "Ahmed", "Fatima", "Mariam", "Saeed", "Hassan", "Yousef"),
        (
            "Al Mansoori",
            "Al Hashimi",
            "Haddad",
            "Al Falasi",
            "Al Suwaidi",
            "Khoury",
            "Al Nuaimi",
            "Rahman",
        ),
    ),
    "IN": (
        ("Anil", "Rajesh", "Priya", "Sunita", "Vikram", "Arjun", "Deepa", "Sanjay"),
        ("Sharma", "Patel", "Reddy", "Iyer", "Gupta", "Nair", "Singh", "Mehta"),
    ),
}
ROLES_AFTER_DIRECTOR = ("founder", "shareholder", "beneficial_owner", "founder")


def _random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _person(rng: random.Random, country: str) -> tuple[str, bool]:
    """A person's name as a registry would write it, and whether it is male."""
    male = rng.random() < 0.75
    if country in ("KZ", "RU", "BY"):
        surnames = KZ_SURNAMES if country == "KZ" and rng.random() < 0.8 else RU_SURNAMES
        if country == "KZ" and surnames is KZ_SURNAMES:
            firsts = KZ_MALE if male else KZ_FEMALE
        else:
            firsts = RU_MALE if male else RU_FEMALE
        surname, first = rng.choice(surnames), rng.choice(firsts)
        if rng.random() < 0.2:  # some registries write names in Latin script, given name first
            return f"{first[1]} {surname[1] if male else surname[1] + 'a'}", male
        father, m_end, f_end = rng.choice(PATRONYMICS)
        family = surname[0] if male else surname[0] + "а"
        return f"{family} {first[0]} {father}{m_end if male else f_end}", male
    if country == "KG":
        return f"{rng.choice(LATIN_PEOPLE['KG'][0])} {rng.choice(LATIN_PEOPLE['KG'][1])}", male
    firsts, lasts = LATIN_PEOPLE.get(country, LATIN_PEOPLE["DE"])
    if country == "CN":
        return f"{rng.choice(lasts)} {rng.choice(firsts)}", male
    return f"{rng.choice(firsts)} {rng.choice(lasts)}", male


def _company_name(rng: random.Random, country: str, profile: Profile) -> tuple[str, list[str]]:
    sector = rng.randrange(len(profile.ru))
    if country in ("KZ", "RU", "BY", "KG"):
        words = {"KZ": KZ_WORDS, "KG": KG_WORDS}.get(country, RU_WORDS)
        native, latin = rng.choice(words)
        core, core_latin = f"{native} {profile.ru[sector]}", f"{latin} {profile.en[sector]}"
    else:
        core = core_latin = f"{rng.choice(LATIN_WORDS[country])} {profile.en[sector]}"
    form, alias_forms = LEGAL_FORM[country]
    aliases = [a.format(core_latin) for a in alias_forms]
    if core_latin != core:
        aliases.append(core_latin)
    return form.format(core), aliases


def synthetic_registry(rng: random.Random, n: int) -> tuple[list[Company], list[Person]]:
    """N companies (about 55% Kazakh) with 1 to 3 people each, valid BINs and INNs."""
    companies: list[Company] = []
    people: list[Person] = []
    used_names: set[str] = set()
    used_ids: set[str] = set()
    foreign = [c for c, _ in FOREIGN_COUNTRIES]
    bin_serial = rng.randint(1000, 5000)
    iin_serial = rng.randint(100, 900)
    for i in range(n):
        if i < len(foreign) and n >= 3 * len(foreign):
            country = foreign[i]  # every foreign country at least once
        elif rng.random() < 0.55:
            country = "KZ"
        else:
            country = _weighted(rng, FOREIGN_COUNTRIES)
        profile = _weighted(rng, [(p, p.weight) for p in PROFILES])
        name, aliases = _company_name(rng, country, profile)
        suffix = 2
        base_name, base_aliases = name, aliases
        while name in used_names:
            tag = f" {suffix}" if country not in ("KZ", "RU", "BY", "KG") else f"-{suffix}"
            name = base_name.replace("»", f"{tag}»") if "»" in base_name else base_name + tag
            aliases = [a + tag for a in base_aliases]
            suffix += 1
        used_names.add(name)
        if rng.random() < 0.06:
            registered = _random_date(rng, dt.date(2022, 1, 1), dt.date(2023, 12, 31))
        else:
            registered = _random_date(rng, dt.date(1998, 1, 1), dt.date(2021, 12, 31))
        while True:
            if country == "KZ":
                bin_serial += rng.randint(1, 40)
                company_id = make_bin(registered, bin_serial)
            else:
                company_id = foreign_id(rng, country, registered)
            if company_id not in used_ids:
                break
        used_ids.add(company_id)
        companies.append(
            Company(company_id, name, country, registered, list(profile.activities), aliases)
        )
        for k in range(rng.randint(1, 3)):
            person_name, male = _person(rng, country)
            role = "director" if k == 0 else rng.choice(ROLES_AFTER_DIRECTOR)
            birth = _random_date(rng, dt.date(1955, 1, 1), dt.date(1995, 12, 31))
            person_id = birth_date = ""
            if rng.random() < 0.6:
                birth_date = birth.isoformat()
                if country == "KZ":
                    iin_serial += rng.randint(1, 30)
                    person_id = make_iin(birth, male, iin_serial)
            people.append(Person(company_id, person_name, role, person_id, birth_date))
    return companies, people


def write_registry(directory: Path, companies: list[Company], people: list[Person]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "companies.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COMPANY_COLUMNS)
        writer.writerows(c.row() for c in companies)
    with (directory / "people.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PEOPLE_COLUMNS)
        writer.writerows(p.row() for p in people)


# --------------------------------------------------------------------------------------
# Shipments


def format_hs(rng: random.Random, hs: str) -> str:
    """The same 10-digit code written as declarants write it."""
    style = rng.random()
    if style < 0.30:
        return hs
    if style < 0.50:
        return f"{hs[:4]} {hs[4:6]} {hs[6:9]} {hs[9]}"
    if style < 0.70:
        return f"{hs[:4]}.{hs[4:6]}"
    if style < 0.90:
        return hs[:6]
    return f"{hs[:4]}.{hs[4:6]}.{hs[6:8]}"


def _fmt_number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass
class Party:
    name: str
    company_id: str
    country: str


class ShipmentGenerator:
    """Draws declarations (lists of CSV rows) from a registry, deterministically."""

    def __init__(
        self,
        rng: random.Random,
        companies: list[Company],
        listed_share: float = 0.05,
        mismatch_share: float = 0.03,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        self.rng = rng
        usable = [c for c in companies if c.name not in exclude and c.country]
        self.kz = [c for c in usable if c.country == "KZ"]
        self.exporters = [c for c in self.kz if c.normal or c.listed] or self.kz
        self.by_country: dict[str, list[Company]] = {}
        for c in usable:
            if c.country != "KZ":
                self.by_country.setdefault(c.country, []).append(c)
        self.foreign = [c for c in usable if c.country != "KZ"]
        self.mismatch_share = mismatch_share
        # Only some exporters can ship listed goods within their profile: draw those lines
        # more often from them so that about `listed_share` of all lines are listed.
        capable = sum(1 for c in self.exporters if c.listed)
        share = capable / len(self.exporters) if self.exporters else 0.0
        self.listed_share = min(0.9, listed_share / share) if share else 0.0
        self.fallback_listed = listed_share if not share else 0.0
        self.listed_goods = [g for g in CATALOGUE if g.listed and not g.hs.startswith("8806")]
        self.serial = 0

    # parties ------------------------------------------------------------------------
    def _party(self, company: Company, id_share: float) -> Party:
        name = company.name
        if company.aliases and self.rng.random() < 0.4:
            name = self.rng.choice(company.aliases)
        company_id = company.company_id if self.rng.random() < id_share else ""
        return Party(name, company_id, company.country)

    def _unregistered(self, country: str) -> Party:
        profile = self.rng.choice(PROFILES)
        form_country = country if country in LEGAL_FORM else "AE"
        name, _ = _company_name(self.rng, form_country, profile)
        return Party(name, "", country)

    def _consignee(self, country: str) -> Party:
        registered = self.by_country.get(country)
        if registered and self.rng.random() < 0.85:
            return self._party(self.rng.choice(registered), 0.4)
        return self._unregistered(country)

    # goods --------------------------------------------------------------------------
    def _goods(self, company: Company | None) -> Goods:
        rng = self.rng
        if company is None:
            pool = [g for g in CATALOGUE if not g.hs.startswith("8806")]
            return rng.choice(self.listed_goods if rng.random() < 0.05 else pool)
        if company.listed and rng.random() < self.listed_share:
            return rng.choice(company.listed)
        if rng.random() < self.fallback_listed:
            return rng.choice(self.listed_goods)
        if company.normal and rng.random() >= self.mismatch_share:
            return rng.choice(company.normal)
        if company.listed and not company.normal:
            return rng.choice(company.listed)
        outside = [g for g in CATALOGUE if not g.listed and g not in company.normal]
        return rng.choice(GENERAL_GOODS if rng.random() < 0.5 else outside)

    def _items(
        self, company: Company | None, currency: str, export_of: str | None
    ) -> list[list[str]]:
        rng = self.rng
        rows = []
        chosen: list[Goods] = []
        for _ in range(rng.choices((1, 2, 3, 4, 5), weights=(35, 25, 20, 12, 8))[0]):
            goods = self._goods(company)
            if goods in chosen and rng.random() < 0.8:
                continue
            chosen.append(goods)
        for line, goods in enumerate(chosen, start=1):
            low, high = goods.qty
            if goods.unit in ("t", "kg"):
                qty = round(rng.uniform(low, high), 3 if goods.unit == "t" else 1)
            else:
                qty = float(rng.randint(int(low), int(high)))
            price = rng.uniform(*goods.price)
            value = round(qty * price * FX_PER_USD[currency], 2)
            origins = goods.origins
            if export_of == "re-export":
                origins = tuple(o for o in origins if o != "KZ") or ("CN",)
            elif export_of == "export" and "KZ" in origins and rng.random() < 0.8:
                origins = ("KZ",)
            description = goods.ru if rng.random() < 0.35 else goods.en
            rows.append(
                [
                    str(line),
                    format_hs(rng, goods.hs),
                    description,
                    _fmt_number(qty),
                    goods.unit,
                    f"{value:.2f}",
                    currency,
                    rng.choice(origins),
                    _fmt_number(round(qty * goods.kg, 3)),
                ]
            )
        return rows

    # declarations ---------------------------------------------------------------------
    def _currency(self, destination: str, dispatch: str) -> str:
        rng = self.rng
        if destination in ("RU", "BY") or dispatch in ("RU", "BY"):
            return _weighted(rng, (("RUB", 40), ("USD", 40), ("KZT", 20)))
        if "CN" in (destination, dispatch):
            return _weighted(rng, (("CNY", 30), ("USD", 60), ("KZT", 10)))
        if {"DE", "IT", "PL"} & {destination, dispatch}:
            return _weighted(rng, (("EUR", 60), ("USD", 40)))
        return _weighted(rng, (("USD", 75), ("KZT", 15), ("EUR", 10)))

    def _date(self, company: Company | None) -> dt.date:
        start = dt.date(2023, 1, 1)
        if company and company.registered_on and company.registered_on > start:
            start = min(company.registered_on + dt.timedelta(days=30), dt.date(2024, 12, 1))
        return _random_date(self.rng, start, dt.date(2024, 12, 31))

    def _declaration_id(self, date: dt.date) -> str:
        self.serial += 1
        return f"{self.rng.choice(KZ_OFFICES)}/{date:%d%m%y}/{self.serial:07d}"

    def declaration(self) -> list[list[str]]:
        rng = self.rng
        procedure = _weighted(
            rng, (("export", 85), ("re-export", 7), ("import", 5), ("transit", 3))
        )
        if procedure in ("import", "transit") and not self.foreign:
            procedure = "export"
        transit = ""
        if procedure in ("export", "re-export"):
            company = rng.choice(self.exporters) if self.exporters else None
            exporter = (
                self._party(company, 0.7)
                if company
                else Party(self._unregistered("KZ").name, "", "KZ")
            )
            if rng.random() < 0.10:
                destination = _weighted(rng, RISK_DESTINATIONS)
            else:
                destination = _weighted(rng, OTHER_DESTINATIONS)
            consignee = self._consignee(destination)
            dispatch = "KZ"
            if destination == "BY":
                transit = "RU"
            elif destination in MIDDLE_CORRIDOR and rng.random() < 0.5:
                transit = MIDDLE_CORRIDOR[destination]
            goods_company = company
        elif procedure == "import":
            supplier = rng.choice(self.foreign)
            exporter = self._party(supplier, 0.3)
            buyer = rng.choice(self.kz) if self.kz else None
            consignee = (
                self._party(buyer, 0.7) if buyer else Party(self._unregistered("KZ").name, "", "KZ")
            )
            dispatch, destination = supplier.country, "KZ"
            goods_company = buyer
            company = buyer
        else:  # transit through Kazakhstan
            supplier = rng.choice(self.foreign)
            exporter = self._party(supplier, 0.3)
            destination = rng.choice([c for c, _ in OTHER_DESTINATIONS if c != supplier.country])
            consignee = self._consignee(destination)
            dispatch, transit = supplier.country, "KZ"
            goods_company = supplier
            company = supplier
        date = self._date(company)
        declaration_id = self._declaration_id(date)
        if destination in EAEU and dispatch in EAEU:
            document_type = "goods_invoice" if rng.random() < 0.8 else "customs_declaration"
        else:
            document_type = "customs_declaration"
        currency = self._currency(destination, dispatch)
        header = [
            declaration_id,
            date.isoformat(),
            procedure,
            document_type,
            exporter.name,
            exporter.company_id,
            exporter.country,
            consignee.name,
            consignee.company_id,
            consignee.country,
            dispatch,
            destination,
            transit,
        ]
        export_of = procedure if procedure in ("export", "re-export") else None
        return [header + item for item in self._items(goods_company, currency, export_of)]


# --------------------------------------------------------------------------------------
# The seed story and the special cases (fixtures/registry names)

ASPAN = "ТОО «Аспан Арба»"
NEBESNAYA = "ООО «Небесная механика»"
HUAXIN = "Shenzhen Huaxin Electronics Co., Ltd."
ZEMNAYA = "ООО «Земная механика»"
ALTYN = "ТОО «Алтын Арба»"
BEREKE = "ТОО «Береке Металл»"
VOLGA = "ООО «Волга Металлоторг»"
NUR = "ТОО «Нұр Дистрибьюшн»"
BISHKEK = "ОсОО «Бишкек Диджитал Сапплай»"
SKYLINE = "ТОО «Skyline Components»"
CASPNAV = "ТОО «Каспий Навигатор»"
GULF = "Gulf Navtech FZE"
SARYARKA = "ТОО «Сарыарка Компьютер»"
TENIR = "ОсОО «Тенир Тех»"
ALATAU = "ТОО «Алатау Электроникс»"
RHEINTAL = "Rheintal Elektronik GmbH"
DALA = "ТОО «Дала Астык»"
TIANSHAN = "Xinjiang Tianshan Grain Trading Co., Ltd."
# companies that appear only in special cases (left out of the random draws with --story)
SPECIAL_ONLY = frozenset(
    {ASPAN, NEBESNAYA, HUAXIN, ZEMNAYA, ALTYN, BEREKE, VOLGA, NUR, BISHKEK, SKYLINE, CASPNAV, GULF}
)

# A party: (registry name or None, name as written, write the id?, country if unregistered)
# An item: (hs as written, description, quantity, unit, value, origin, net kg)
SPECIAL_CASES: tuple[dict[str, Any], ...] = (
    # the seed story: Aspan Arba imports drones and chips, ships them to Nebesnaya Mekhanika
    {
        "id": "STORY-IMP-0001",
        "date": "2022-06-20",
        "procedure": "import",
        "document_type": "customs_declaration",
        "currency": "USD",
        "exporter": (HUAXIN, "Shenzhen Huaxin Electronics Co., Ltd.", True, None),
        "consignee": (ASPAN, "ТОО «Аспан Арба»", True, None),
        "dispatch": "CN",
        "destination": "KZ",
        "transit": "",
        "items": [
            (
                "8806210000",
                "Unmanned aircraft, max take-off mass <= 250 g",
                300,
                "pcs",
                1050000,
                "CN",
                75,
            ),
            ("8807300000", "Parts of unmanned aircraft", 1500, "pcs", 82000, "CN", 450),
        ],
    },
    {
        "id": "STORY-0001",
        "date": "2022-07-08",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ASPAN, "Aspan Arba LLP", True, None),
        "consignee": (NEBESNAYA, "Nebesnaya Mejanica", False, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("8806 21 000 0", "Беспилотные летательные аппараты", 150, "pcs", 600000, "CN", 37.5)
        ],
    },
    {
        "id": "STORY-0002",
        "date": "2022-09-21",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "RUB",
        "exporter": (ASPAN, "ТОО «Аспан Арба»", True, None),
        "consignee": (NEBESNAYA, "ООО «Небесная механика»", True, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("8806.21", "Квадрокоптеры", 130, "pcs", 31200000, "CN", 32.5),
            ("8807.30", "Части БПЛА: пропеллеры, аккумуляторы", 800, "pcs", 2880000, "CN", 240),
        ],
    },
    {
        "id": "STORY-0003",
        "date": "2022-11-15",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ASPAN, "Aspan Arba TOO", True, None),
        "consignee": (NEBESNAYA, "Nebesnaya Mekhanika", False, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("8806 21 000 0", "Unmanned aircraft (drones)", 120, "pcs", 480000, "CN", 30),
            ("880730", "Drone parts: gimbals, propellers", 600, "pcs", 36000, "CN", 180),
            ("8542.31", "Microchips: processors", 5000, "pcs", 95000, "TW", 12.5),
        ],
    },
    {
        "id": "STORY-0004",
        "date": "2023-02-10",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ASPAN, "Aspan Arba", False, None),
        "consignee": (NEBESNAYA, "OOO Nebesnaya Mekhanika", True, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("8542 32 000 1", "Integrated circuits: memories", 20000, "pcs", 140000, "TW", 40),
            ("8542 39 000 1", "Integrated circuits, other", 15000, "pcs", 60000, "CN", 30),
            ("8807.30.00", "Parts of unmanned aircraft", 400, "pcs", 24000, "CN", 120),
        ],
    },
    {
        "id": "STORY-0005",
        "date": "2023-05-30",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ASPAN, "ТОО «Аспан Арба»", True, None),
        "consignee": (NEBESNAYA, "Небесная механика", False, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            (
                "8806220000",
                "Беспилотные летательные аппараты 250 г - 7 кг",
                100,
                "pcs",
                420000,
                "CN",
                110,
            )
        ],
    },
    # decoys: similar names, no shared person
    {
        "id": "DECOY-0001",
        "date": "2023-04-11",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "RUB",
        "exporter": (ALTYN, "Altyn Arba LLP", True, None),
        "consignee": (ZEMNAYA, "Zemnaya Mekhanika", True, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("8413 70 810 0", "Насосы центробежные", 12, "pcs", 3240000, "TR", 1080),
            ("8481.80", "Арматура запорная", 150, "pcs", 1620000, "TR", 1800),
        ],
    },
    {
        "id": "DECOY-0002",
        "date": "2023-06-19",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ALTYN, "ТОО «Алтын Арба»", False, None),
        "consignee": (NEBESNAYA, "Nebesnaya Mekhanika", False, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [("8481809900", "Industrial valves", 200, "pcs", 41000, "TR", 2400)],
    },
    {
        "id": "DECOY-0003",
        "date": "2023-08-02",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (BEREKE, "Bereke Metall LLP", True, None),
        "consignee": (VOLGA, "ООО «Волга Металлоторг»", True, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("7208 39 000 0", "Hot-rolled flat steel, < 3 mm", 420.5, "t", 256505, "KZ", 420500)
        ],
    },
    {
        "id": "DECOY-0004",
        "date": "2023-09-14",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ASPAN, "Aspan Arba LLP", True, None),
        "consignee": (ZEMNAYA, "ООО «Земная механика»", False, None),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [("7208.51", "Steel plate, > 10 mm", 250, "t", 162500, "KZ", 250000)],
    },
    {
        "id": "DECOY-0005",
        "date": "2023-10-05",
        "procedure": "import",
        "document_type": "goods_invoice",
        "currency": "RUB",
        "exporter": (VOLGA, "Volga Metallotorg LLC", True, None),
        "consignee": (ASPAN, "Aspan Arba LLP", True, None),
        "dispatch": "RU",
        "destination": "KZ",
        "transit": "",
        "items": [("7306305000", "Трубы стальные сварные", 80, "t", 7200000, "RU", 80000)],
    },
    # a shell: registered 2022-06-15, non-specialised wholesale, exports chips to Kyrgyzstan
    {
        "id": "SHELL-0001",
        "date": "2023-03-22",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (NUR, "Nur Distribution LLP", True, None),
        "consignee": (BISHKEK, "Bishkek Digital Supply LLC", False, None),
        "dispatch": "KZ",
        "destination": "KG",
        "transit": "",
        "items": [
            ("854231", "Processors and controllers", 30000, "pcs", 510000, "CN", 60),
            ("8542.39", "Integrated circuits, other", 20000, "pcs", 180000, "MY", 40),
        ],
    },
    {
        "id": "SHELL-0002",
        "date": "2023-08-30",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "KZT",
        "exporter": (NUR, "ТОО «Нұр Дистрибьюшн»", True, None),
        "consignee": (BISHKEK, "ОсОО «Бишкек Диджитал Сапплай»", True, None),
        "dispatch": "KZ",
        "destination": "KG",
        "transit": "",
        "items": [
            ("8542 31 000 1", "Интегральные схемы: процессоры", 25000, "pcs", 198720000, "TW", 50),
            ("8532 24 000 0", "Конденсаторы керамические", 400000, "pcs", 7360000, "CN", 20),
            ("9503007500", "Игрушки пластмассовые", 800, "kg", 2944000, "CN", 800),
        ],
    },
    # a reported company (watchlist), and a reported consignee not in the registry
    {
        "id": "WATCH-0001",
        "date": "2023-07-12",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (SKYLINE, "Skyline Components LLP", True, None),
        "consignee": (None, "ООО «Радиокомплект»", False, "RU"),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [
            ("8542 32 000 1", "Integrated circuits: memories", 40000, "pcs", 320000, "KR", 80),
            ("854121", "Transistors, < 1 W", 100000, "pcs", 30000, "CN", 50),
        ],
    },
    {
        "id": "WATCH-0002",
        "date": "2023-09-04",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (SKYLINE, "ТОО «Skyline Components»", False, None),
        "consignee": (TENIR, "Tenir Tech LLC", False, None),
        "dispatch": "KZ",
        "destination": "KG",
        "transit": "",
        "items": [("8532.24", "Multilayer ceramic capacitors", 300000, "pcs", 12000, "CN", 15)],
    },
    {
        "id": "WATCH-0003",
        "date": "2023-10-18",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (ALATAU, "Alatau Electronics LLP", True, None),
        "consignee": (None, "Radiokomplekt LLC", False, "RU"),
        "dispatch": "KZ",
        "destination": "RU",
        "transit": "",
        "items": [("8541.21", "Transistors", 50000, "pcs", 11000, "CN", 25)],
    },
    # linked parties (same beneficial owner) trading listed goods to a non-risk destination
    {
        "id": "LINK-0001",
        "date": "2023-10-02",
        "procedure": "export",
        "document_type": "customs_declaration",
        "currency": "USD",
        "exporter": (CASPNAV, "Caspian Navigator LLP", True, None),
        "consignee": (GULF, "Gulf Navtech FZE", True, None),
        "dispatch": "KZ",
        "destination": "AE",
        "transit": "",
        "items": [
            ("9014 20 800 0", "Aeronautical navigation instruments", 40, "pcs", 280000, "US", 60),
            ("8526.91", "GNSS receivers", 300, "pcs", 150000, "CN", 120),
        ],
    },
    {
        "id": "LINK-0002",
        "date": "2024-02-14",
        "procedure": "re-export",
        "document_type": "customs_declaration",
        "currency": "USD",
        "exporter": (CASPNAV, "ТОО «Каспий Навигатор»", True, None),
        "consignee": (GULF, "Gulf Navtech FZCO", False, None),
        "dispatch": "KZ",
        "destination": "AE",
        "transit": "",
        "items": [
            ("8542310001", "Processors and controllers", 10000, "pcs", 210000, "TW", 20),
            ("9013.80", "Optical devices", 200, "pcs", 64000, "CN", 80),
        ],
    },
    # listed goods to Kyrgyzstan by way of Russia
    {
        "id": "TRANSIT-0001",
        "date": "2023-11-20",
        "procedure": "export",
        "document_type": "goods_invoice",
        "currency": "USD",
        "exporter": (SARYARKA, "Saryarka Computer LLP", True, None),
        "consignee": (TENIR, "ОсОО «Тенир Тех»", True, None),
        "dispatch": "KZ",
        "destination": "KG",
        "transit": "RU",
        "items": [
            ("8471 50 000 0", "Servers (processing units)", 40, "pcs", 220000, "CN", 480),
            ("8471.80", "Other units of computers", 500, "pcs", 90000, "CN", 750),
        ],
    },
    # clean references: legitimate trade that should be released
    {
        "id": "CLEAN-0001",
        "date": "2023-05-16",
        "procedure": "export",
        "document_type": "customs_declaration",
        "currency": "EUR",
        "exporter": (ALATAU, "ТОО «Алатау Электроникс»", True, None),
        "consignee": (RHEINTAL, "Rheintal Elektronik GmbH", True, None),
        "dispatch": "KZ",
        "destination": "DE",
        "transit": "AZ;GE;TR",
        "items": [("854231", "Microcontrollers", 8000, "pcs", 92000, "TW", 16)],
    },
    {
        "id": "CLEAN-0002",
        "date": "2023-09-27",
        "procedure": "export",
        "document_type": "customs_declaration",
        "currency": "USD",
        "exporter": (DALA, "Dala Astyk LLP", True, None),
        "consignee": (TIANSHAN, "Xinjiang Tianshan Grain Trading Co., Ltd.", True, None),
        "dispatch": "KZ",
        "destination": "CN",
        "transit": "",
        "items": [("1001.99", "Wheat, other than seed", 1500, "t", 345000, "KZ", 1500000)],
    },
)


def special_rows(companies: list[Company]) -> Iterator[list[str]]:
    by_name = {c.name: c for c in companies}
    missing = sorted(
        {
            party[0]
            for case in SPECIAL_CASES
            for party in (case["exporter"], case["consignee"])
            if party[0] and party[0] not in by_name
        }
    )
    if missing:
        raise SystemExit(
            "generate_shipments: --story needs a registry holding these companies "
            f"(such as fixtures/registry): {', '.join(missing)}"
        )

    def party(spec: tuple[str | None, str, bool, str | None]) -> list[str]:
        key, written, with_id, country = spec
        if key is None:
            return [written, "", country or ""]
        company = by_name[key]
        return [written, company.company_id if with_id else "", company.country]

    for case in SPECIAL_CASES:
        header = [
            case["id"],
            case["date"],
            case["procedure"],
            case["document_type"],
            *party(case["exporter"]),
            *party(case["consignee"]),
            case["dispatch"],
            case["destination"],
            case["transit"],
        ]
        for line, (hs, text, qty, unit, value, origin, kg) in enumerate(case["items"], 1):
            yield header + [
                str(line),
                hs,
                text,
                _fmt_number(qty),
                unit,
                f"{value:.2f}",
                case["currency"],
                origin,
                _fmt_number(kg),
            ]


# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write a synthetic batch CSV of shipment lines (design.md section 4)."
    )
    parser.add_argument(
        "--lines",
        type=int,
        required=True,
        help="number of generated goods lines (rows), at least 1",
    )
    parser.add_argument("--out", type=Path, required=True, help="batch CSV to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--registry",
        type=Path,
        help="directory with companies.csv to draw exporters/consignees from",
    )
    parser.add_argument(
        "--registry-out",
        type=Path,
        help="write a synthetic registry (companies.csv, people.csv) here and "
        "draw the shipments from it",
    )
    parser.add_argument(
        "--companies",
        type=int,
        default=200,
        help="companies in the synthetic registry (default 200)",
    )
    parser.add_argument(
        "--listed-share",
        type=float,
        default=0.05,
        help="share of lines with listed goods (default 0.05)",
    )
    parser.add_argument(
        "--mismatch-share",
        type=float,
        default=0.03,
        help="share of lines outside the exporter's activity (default 0.03)",
    )
    parser.add_argument(
        "--story",
        action="store_true",
        help="append the seed story and special cases (needs fixtures/registry)",
    )
    args = parser.parse_args(argv)
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    if args.companies < 2:
        parser.error("--companies must be at least 2")
    if args.registry and args.registry_out:
        parser.error("give --registry or --registry-out, not both")
    if args.registry and not (args.registry / "companies.csv").is_file():
        parser.error(f"no companies.csv in {args.registry}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    if args.registry:
        companies = read_registry(args.registry)
        print(
            f"generate_shipments: registry {args.registry}: {len(companies)} companies "
            f"({sum(c.country == 'KZ' for c in companies)} in KZ)",
            file=sys.stderr,
        )
    else:
        companies, people = synthetic_registry(random.Random(args.seed + 1), args.companies)
        if args.registry_out:
            write_registry(args.registry_out, companies, people)
            print(
                f"generate_shipments: wrote synthetic registry to {args.registry_out}: "
                f"{len(companies)} companies, {len(people)} people",
                file=sys.stderr,
            )
        else:
            print(
                f"generate_shipments: in-memory synthetic registry of {len(companies)} companies",
                file=sys.stderr,
            )
    print(
        f"generate_shipments: input: --lines {args.lines} --seed {args.seed}"
        f"{' --story' if args.story else ''}",
        file=sys.stderr,
    )

    exclude = SPECIAL_ONLY if args.story else frozenset()
    generator = ShipmentGenerator(rng, companies, args.listed_share, args.mismatch_share, exclude)
    if not generator.kz and not generator.foreign:
        raise SystemExit("generate_shipments: the registry has no usable companies")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written = declarations = listed = risk = 0
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(BATCH_COLUMNS)
        while written < args.lines:
            rows = generator.declaration()[: args.lines - written]
            writer.writerows(rows)
            written += len(rows)
            declarations += 1
            listed += sum(is_listed(r[14].replace(".", "").replace(" ", "")) for r in rows)
            risk += rows[0][11] in ("RU", "BY")
        story_lines = story_declarations = 0
        if args.story:
            for row in special_rows(companies):
                writer.writerow(row)
                story_lines += 1
            story_declarations = len(SPECIAL_CASES)
    print(
        f"generate_shipments: wrote {written + story_lines} lines "
        f"({declarations + story_declarations} declarations) to {args.out}: "
        f"{written} generated lines in {declarations} declarations "
        f"({listed} lines of listed goods, {risk} declarations to RU/BY)"
        + (
            f", plus {story_lines} lines in {story_declarations} story/special declarations"
            if args.story
            else ""
        ),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
