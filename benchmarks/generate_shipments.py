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
writes a synthetic registry of N companies (companies.csv, people.csv and watchlist.csv, valid Kazakh
BINs and Russian INNs, registered addresses, 1.5% of Kazakh companies at mass-registration
addresses of about 40, forwarding activity 52.29 for 1% of Kazakh and 3% of foreign
companies) and draws the shipments from it; with neither, an in-memory
synthetic registry is used. `--story` appends the declarations of SPECIAL_TEXT below, with
readable ids: STORY-* (Aspan Arba -> Nebesnaya Mekhanika, 2022-2023), DECOY-* (look-alike
names, no shared person), SHELL-* (newly registered non-specialised wholesaler), WATCH-*
(reported companies), LINK-* (shared beneficial owner, KZ -> AE), TRANSIT-* (via RU) and
CLEAN-* (legitimate trade); it needs a registry holding those companies, such as
fixtures/registry, and leaves the companies seen only there out of the random draws.

    python benchmarks/generate_shipments.py --lines 260 --seed 1 --registry fixtures/registry \
        --story --out fixtures/shipments.csv

Standard library only; the CHPL codes and the activity-to-goods map are embedded (a copy of
rules/lists) because shared/ may not exist where this runs. Summaries go to stderr.
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
COMPANY_COLUMNS = ["company_id", "name", "country", "registered_on", "activity_codes", "aliases", "address"]
PEOPLE_COLUMNS = ["company_id", "person_name", "role", "person_id", "birth_date"]


def _split(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(sep) if part.strip())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """'Береке=Bereke, Ак Жол=Ak Zhol' -> (('Береке', 'Bereke'), ('Ак Жол', 'Ak Zhol'))."""
    out = []
    for part in _split(text):
        native, latin = part.split("=")
        out.append((native.strip(), latin.strip()))
    return tuple(out)


# --------------------------------------------------------------------------------------
# Reference data embedded on purpose: shared/ may not exist where this runs.

# The Common High Priority List: 50 HS6 codes in tiers 1, 2, 3A, 3B, 4A, 4B.
CHPL_HS6 = frozenset(
    _split(
        """
        854231, 854232, 854233, 854239,
        851762, 852691, 853221, 853224, 854800,
        847150, 850440, 851769, 852589, 852910, 852990, 853669, 853690, 854110, 854121,
        854129, 854130, 854149, 854151, 854159, 854160,
        848210, 848220, 848230, 848250, 880730, 901310, 901380, 901420, 901480,
        847180, 848610, 848620, 848640, 853400, 854320, 902750, 903020, 903032, 903039,
        903082,
        845710, 845811, 845891, 845961, 846693
        """
    )
)
DRONE_PREFIX = "8806"  # unmanned aircraft: not on the CHPL, listed on their own

# Which goods (HS prefixes) an activity code covers: the engine's map (rules/lists).
ACTIVITY_COVERS: dict[str, tuple[str, ...]] = {
    "01": ("06-14", "31", "3808", "8424", "8432-8437", "8701"),
    "01.61": ("8806", "880730"),
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
    key.replace(".", ""): tuple(p for spec in specs for p in _expand(spec)) for key, specs in ACTIVITY_COVERS.items()
}
_ALL_COVERED = tuple(p for prefixes in _COVERS.values() for p in prefixes)


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
    """Whether a code (digits only) is on the CHPL or is a drone."""
    return hs[:6] in CHPL_HS6 or hs.startswith(DRONE_PREFIX)


@dataclass(frozen=True)
class Goods:
    hs: str  # 10 digits
    unit: str
    qty: tuple[float, float]
    price: tuple[float, float]  # USD per unit
    kg: float  # net kg per unit
    origins: tuple[str, ...]  # KZ = made in Kazakhstan
    en: str
    ru: str

    @property
    def listed(self) -> bool:
        return is_listed(self.hs)


_ORIGIN_GROUPS = {
    "@elec": ("CN", "TW", "KR", "MY", "VN", "JP", "US"),
    "@mach": ("CN", "DE", "TR", "IT", "BY", "RU"),
}
# hs10 | unit | quantity | USD per unit | net kg per unit | origins | English | Russian
CATALOGUE_TEXT = """
# agriculture and food
1001990000|t|20-2000|190-260|1000|KZ|Wheat, other than seed|Пшеница мягкая
1003900000|t|20-1500|170-220|1000|KZ|Barley, other than seed|Ячмень
1101001500|t|20-600|260-340|1000|KZ|Wheat flour|Мука пшеничная
1204009000|t|20-800|420-560|1000|KZ|Linseed (flax seed)|Семена льна
1206009900|t|20-900|330-420|1000|KZ|Sunflower seeds|Семена подсолнечника
0713409000|t|20-500|550-700|1000|KZ|Dried lentils|Чечевица сушеная
2302300000|t|20-1000|110-160|1000|KZ|Wheat bran|Отруби пшеничные
0409000000|kg|200-20000|3.5-6|1|KZ|Natural honey|Мед натуральный
1512191000|t|10-400|900-1200|1000|KZ|Refined sunflower oil|Масло подсолнечное рафинированное
1902191000|t|5-120|700-950|1000|KZ|Pasta, uncooked|Макаронные изделия
1806321000|kg|500-20000|4-9|1|KZ|Chocolate bars|Шоколад плиточный
0703101900|t|10-300|150-260|1000|KZ|Onions|Лук репчатый
3102101000|t|100-5000|290-380|1000|KZ|Urea|Карбамид
3102300000|t|100-5000|240-330|1000|KZ|Ammonium nitrate|Аммиачная селитра
3105200000|t|50-3000|380-520|1000|KZ|NPK fertilisers|Удобрения NPK
3808931500|kg|500-20000|6-14|1|CN;DE;IN|Herbicides|Гербициды
# agricultural machinery
8701929000|pcs|1-20|28000-55000|3900|BY;CN;KZ;TR|Agricultural tractors, 37-75 kW|Тракторы
8433510001|pcs|1-6|120000-260000|12000|BY;RU;DE;KZ|Combine harvesters|Комбайны зерноуборочные
8432210000|pcs|1-30|6000-18000|1400|KZ;TR;CN|Disc harrows|Бороны дисковые
8424410000|pcs|10-500|60-400|8|CN;TR|Portable agricultural sprayers|Опрыскиватели
8436800000|pcs|1-20|3000-40000|900|TR;IT;CN|Other agricultural machinery|Сельхозоборудование
# metals and minerals
7208390000|t|50-3000|520-700|1000|KZ|Flat-rolled steel, hot-rolled, < 3 mm|Прокат горячекатаный
7208510000|t|50-2000|560-760|1000|KZ|Flat-rolled steel plate, > 10 mm|Лист стальной толстый
7210490000|t|20-1500|700-950|1000|KZ|Galvanised flat-rolled steel|Прокат оцинкованный
7202411000|t|20-2000|1100-1500|1000|KZ|Ferro-chromium, > 4% carbon|Феррохром
7403110000|t|20-500|7800-9200|1000|KZ|Refined copper cathodes|Катоды медные
7601200000|t|20-800|2100-2600|1000|KZ|Unwrought aluminium alloys|Алюминий необработанный
7901110000|t|20-800|2300-3100|1000|KZ|Unwrought zinc, >= 99.99%|Цинк необработанный
2601120000|t|500-20000|90-140|1000|KZ|Iron ore pellets|Окатыши железорудные
2701120000|t|500-20000|60-120|1000|KZ|Bituminous coal|Уголь каменный
2523290000|t|100-5000|45-80|1000|KZ|Portland cement|Цемент портландский
7306305000|t|10-600|800-1100|1000|KZ;CN;RU|Welded steel tubes|Трубы стальные сварные
7308909809|t|5-300|1200-2200|1000|KZ;CN|Steel structures|Металлоконструкции
# fuel
2710124500|t|20-3000|650-900|1000|KZ|Motor petrol|Бензин автомобильный
2710194200|t|20-3000|600-850|1000|KZ|Diesel fuel|Топливо дизельное
2711129400|t|20-1500|380-550|1000|KZ|Liquefied propane|Пропан сжиженный
# machinery, electrical goods, vehicles
8413708100|pcs|2-80|600-9000|90|@mach|Centrifugal pumps|Насосы центробежные
8481809900|pcs|10-500|40-900|12|@mach|Industrial valves|Арматура запорная
8474209000|pcs|1-5|40000-180000|9000|CN;DE;RU|Crushing machines for minerals|Дробилки
8430490000|pcs|1-4|80000-400000|15000|CN;US;RU|Boring and sinking machinery|Буровые машины
8418102001|pcs|20-400|250-600|60|KZ;TR;CN;BY|Household refrigerators|Холодильники бытовые
8501520093|pcs|5-300|150-2500|40|CN;RU;DE|AC motors, 0.75-75 kW|Электродвигатели
8507600000|pcs|50-5000|20-180|1.2|@elec|Lithium-ion accumulators|Аккумуляторы литий-ионные
8516500000|pcs|50-1000|60-140|12|CN;TR|Microwave ovens|Микроволновые печи
8544429007|kg|200-10000|6-14|1|KZ;CN;RU|Insulated electric cables|Кабели электрические
8703231940|pcs|1-20|14000-38000|1400|KZ;CN;KR|Passenger cars, 1500-3000 cc|Автомобили легковые
8704219100|pcs|1-10|18000-45000|2600|CN;RU;TR|Light trucks, diesel|Грузовики малотоннажные
8708999709|kg|100-5000|5-25|1|CN;KR;DE|Motor vehicle parts|Запчасти автомобильные
# computers and electronics
8471300000|pcs|20-1500|350-1400|2.1|@elec|Laptop computers|Ноутбуки
8471410000|pcs|10-500|400-1200|8|@elec|Desktop computers|Компьютеры настольные
8473302008|kg|50-3000|20-90|1|@elec|Parts of computers|Части компьютеров
8523511000|pcs|100-20000|4-40|0.01|@elec|Solid-state storage (flash cards)|Накопители флэш
8517130000|pcs|50-5000|120-900|0.2|CN;VN;KR;IN|Smartphones|Смартфоны
8528721000|pcs|20-800|180-700|11|CN;KR;TR;KZ|Television receivers|Телевизоры
8539520000|pcs|500-50000|0.8-3|0.05|CN|LED lamps|Лампы светодиодные
9015101000|pcs|5-300|150-2000|0.8|CN;DE;JP|Electronic rangefinders|Дальномеры электронные
9026102900|pcs|5-500|200-3500|4|DE;CN;RU|Flow meters|Расходомеры
9028301100|pcs|50-5000|15-120|0.8|CN;KZ;RU;BY|Electricity meters|Счетчики электроэнергии
# listed goods: CHPL, drones, drone parts
8542310001|pcs|500-50000|2-60|0.002|@elec|Integrated circuits: processors and controllers|Процессоры
8542320001|pcs|500-50000|1.5-25|0.002|@elec|Integrated circuits: memories|Интегральные схемы: память
8542330000|pcs|500-30000|0.5-12|0.001|@elec|Integrated circuits: amplifiers|Усилители
8542390001|pcs|500-30000|0.5-20|0.002|@elec|Integrated circuits, other|Интегральные схемы прочие
8541210000|pcs|1000-100000|0.05-0.6|0.0005|@elec|Transistors, < 1 W|Транзисторы
8541100009|pcs|1000-100000|0.02-0.3|0.0003|@elec|Diodes|Диоды
8532240000|pcs|5000-500000|0.005-0.08|0.00005|@elec|Multilayer ceramic capacitors|Конденсаторы
8534001100|pcs|100-10000|2-40|0.05|@elec|Printed circuits|Печатные платы
8517620009|pcs|10-2000|40-2500|1.5|@elec|Routers and switches|Маршрутизаторы и коммутаторы
8525890000|pcs|10-1000|120-1500|0.6|@elec|Digital cameras|Камеры цифровые
8526910000|pcs|10-500|150-3000|0.4|@elec|GNSS receivers|Аппаратура радионавигационная
8529109000|pcs|20-2000|8-120|0.5|@elec|Aerials and aerial reflectors|Антенны
8504408300|pcs|10-1000|60-1500|3|@elec|Static converters (inverters)|Преобразователи статические
8548000000|kg|10-2000|20-150|1|@elec|Electrical parts of machinery n.e.s.|Электрические части машин
8471500000|pcs|5-500|800-9000|12|@elec|Processing units (servers)|Процессорные блоки
8471800000|pcs|10-2000|50-900|1.5|@elec|Other units of computers|Блоки вычислительных машин
8482100900|pcs|100-20000|0.8-40|0.3|CN;DE;RU;JP|Ball bearings|Подшипники шариковые
9014208000|pcs|2-200|800-12000|1.5|US;CN;DE;FR|Aeronautical navigation instruments|Авиаприборы
9013800000|pcs|10-1000|30-900|0.4|CN;JP;DE|Other optical devices|Приборы оптические прочие
8458110000|pcs|1-6|45000-250000|4500|CN;TW;DE;IT|CNC horizontal lathes|Станки токарные с ЧПУ
8806220000|pcs|5-200|900-6000|1.2|CN|Unmanned aircraft, 250 g - 7 kg|Беспилотные аппараты
8807300000|pcs|50-2000|10-300|0.3|CN|Parts of unmanned aircraft|Части БПЛА
# goods no specific activity covers (what a non-specialised trader ships)
6307200000|pcs|50-3000|12-60|0.9|CN;TR|Lifejackets and lifebelts|Жилеты спасательные
6203423500|pcs|200-10000|6-25|0.5|CN;TR;UZ;KG|Men's cotton trousers|Брюки мужские хлопковые
6403999600|pcs|100-5000|15-60|0.9|CN;TR;IT|Leather footwear|Обувь кожаная
9403601000|pcs|10-500|60-600|30|CN;TR;BY;RU|Wooden furniture|Мебель деревянная
3923300000|kg|500-20000|1.5-4|1|CN;KZ;TR|Plastic bottles and containers|Тара пластмассовая
9503007500|kg|100-5000|4-15|1|CN|Plastic toys|Игрушки пластмассовые
"""


def _range(text: str) -> tuple[float, float]:
    low, high = text.split("-")
    return float(low), float(high)


def _catalogue(text: str) -> tuple[Goods, ...]:
    goods = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        hs, unit, qty, price, kg, origins, en, ru = line.split("|")
        countries = _ORIGIN_GROUPS.get(origins) or _split(origins, ";")
        goods.append(Goods(hs, unit, _range(qty), _range(price), float(kg), countries, en, ru))
    return tuple(goods)


CATALOGUE = _catalogue(CATALOGUE_TEXT)
GENERAL_GOODS = tuple(g for g in CATALOGUE if not g.hs.startswith(_ALL_COVERED))
LISTED_GOODS = tuple(g for g in CATALOGUE if g.listed and not g.hs.startswith(DRONE_PREFIX))

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
KZ_OFFICES = _split("55201, 55203, 55301, 55401, 55501, 55601, 55701, 55801, 50410, 51901")


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


RU_TAX_OFFICES = _split(
    "7701, 7703, 7707, 7714, 7728, 7743, 7804, 7816, 5406, 6658, 6316, 1655, 5405, 6164, 2310, 5902, 7453, 5260"
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
    address: str = ""
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
            self.address,
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
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            registered = row.get("registered_on") or ""
            companies.append(
                Company(
                    company_id=(row.get("company_id") or "").strip(),
                    name=row["name"].strip(),
                    country=(row.get("country") or "").strip().upper(),
                    registered_on=dt.date.fromisoformat(registered) if registered else None,
                    activity_codes=[c.strip() for c in (row.get("activity_codes") or "").split(";") if c.strip()],
                    aliases=[a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()],
                    address=(row.get("address") or "").strip(),
                )
            )
    return companies


# Names: (native spelling, Latin spelling) pairs.
KZ_WORDS = _pairs(
    """
    Береке=Bereke, Жулдыз=Zhuldyz, Шанырак=Shanyrak, Сункар=Sunkar, Тулпар=Tulpar,
    Байтерек=Baiterek, Кайнар=Kainar, Ак Жол=Ak Zhol, Достык=Dostyk, Кокше=Kokshe,
    Ертис=Ertis, Жетысу=Zhetysu, Алатау=Alatau, Сарыарка=Saryarka, Каспий=Kaspiy,
    Арман=Arman, Бирлик=Birlik, Мерей=Merey, Атамекен=Atameken, Болашак=Bolashak,
    Кыран=Kyran, Еркин=Erkin, Ырыс=Yrys, Талап=Talap, Ынтымак=Yntymak, Самал=Samal,
    Айдын=Aidyn, Кызылжар=Kyzylzhar
    """
)
RU_WORDS = _pairs(
    """
    Север=Sever, Вектор=Vektor, Альянс=Alyans, Урал=Ural, Сибирь=Sibir, Техно=Tekhno,
    Прогресс=Progress, Гранит=Granit, Импульс=Impuls, Меридиан=Meridian, Орион=Orion,
    Стандарт=Standart, Восток=Vostok, Кама=Kama, Ладога=Ladoga, Полесье=Polesye,
    Неман=Neman, Двина=Dvina, Березина=Berezina, Зенит=Zenit
    """
)
KG_WORDS = _pairs(
    """
    Ала-Тоо=Ala-Too, Тенир=Tenir, Манас=Manas, Нарын=Naryn, Ош=Osh, Кыргыз=Kyrgyz,
    Бишкек=Bishkek, Чуй=Chui, Талас=Talas, Жалал-Абад=Jalal-Abad
    """
)
LATIN_WORDS = {
    "UZ": _split("Toshkent, Samarqand, Buxoro, Navoiy, Andijon, Zarafshon, Turon, Orol, Chirchiq"),
    "CN": _split(
        "Shenzhen Jinlong, Urumqi Tianyu, Yiwu Hengda, Guangzhou Ruifeng, Shanghai Dongfang, "
        "Horgos Xinghe, Chengdu Hongyuan, Xi'an Yongsheng, Tianjin Zhongtai, Ningbo Haitong"
    ),
    "TR": _split("Anadolu, Marmara, Ege, Karadeniz, Toros, Kapadokya, Boğaziçi, Yıldız, Trakya"),
    "DE": _split("Becker, Hoffmann, Schäfer, Koch, Richter, Klein, Wolf, Neumann, Elbe, Spree"),
    "IT": _split("Rossi, Ferrari, Esposito, Romano, Colombo, Ricci, Marino, Greco, Lombarda"),
    "PL": _split("Wisła, Mazowsze, Karpaty, Bałtyk, Odra, Warta, Polmet, Sudety, Mazury"),
    "AE": _split("Gulf, Falcon, Oasis, Pearl, Crescent, Dune, Marina, Al Noor, Jebel, Sahara"),
    "IN": _split("Deccan, Ganga, Himalaya, Kaveri, Sahyadri, Narmada, Indus, Konark, Malabar"),
}
# country: (legal form of the registered name, forms of its aliases)
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
    english: str  # sector word in foreign names
    sectors: tuple[tuple[str, str], ...]  # sector words in KZ/RU/BY/KG names (Cyrillic, Latin)
    weight: int


PROFILES = (
    Profile(("46.21", "01.11"), "Grain", _pairs("Астык=Astyk, Агро=Agro, Зерно=Zerno"), 14),
    Profile(("10.61", "46.21"), "Milling", _pairs("Мельница=Melnitsa, Нан=Nan"), 5),
    Profile(("46.33", "10.89"), "Foods", _pairs("Продукт=Produkt, Азык=Azyk"), 6),
    Profile(("01.11", "01.13"), "Farming", _pairs("Фермер=Fermer, Агро=Agro"), 5),
    Profile(("20.15",), "Chemicals", _pairs("Химия=Khimiya, Тынайткыш=Tynaitkysh"), 3),
    Profile(("24.10", "46.72"), "Steel", _pairs("Болат=Bolat, Металл=Metall"), 6),
    Profile(("46.72",), "Metals Trading", _pairs("Металлторг=Metalltorg, Металл Трейд=Metall Trade"), 5),
    Profile(("25.11", "46.72"), "Steel Structures", _pairs("Металлоконструкция=Metallokonstruktsiya"), 2),
    Profile(
        ("46.61", "33.12"),
        "Agri Machinery",
        _pairs("Агротехника=Agrotekhnika, Агромаш=Agromash"),
        6,
    ),
    Profile(("46.52",), "Electronics", _pairs("Электроникс=Electronics, Электро Снаб=Elektro Snab"), 6),
    Profile(("46.51", "62.09"), "Computers", _pairs("Компьютер=Computer, Диджитал=Digital"), 5),
    Profile(("26.51", "46.69"), "Instruments", _pairs("Приборы=Pribory, Метрология=Metrologiya"), 2),
    Profile(("28.92", "46.69"), "Machinery", _pairs("Машзавод=Mashzavod, Техника=Tekhnika"), 5),
    Profile(("27.11", "46.69"), "Electrical", _pairs("Электротех=Elektrotekh"), 3),
    Profile(("29.10", "45.11"), "Motors", _pairs("Авто=Avto"), 3),
    Profile(("46.71",), "Petroleum", _pairs("Ойл=Oil, Петролеум=Petroleum"), 4),
    Profile(("46.90",), "General Trading", _pairs("Трейд=Trade, Импэкс=Impex"), 2),
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

# People. Kazakh and Russian registries write "Surname Name Patronymic" in Cyrillic.
KZ_SURNAMES = _pairs(
    """
    Ахметов=Akhmetov, Садыков=Sadykov, Нургалиев=Nurgaliev, Жумабаев=Zhumabaev,
    Сейтказиев=Seitkaziev, Искаков=Iskakov, Омаров=Omarov, Касымов=Kasymov, Есенов=Esenov,
    Байжанов=Baizhanov, Тулегенов=Tulegenov, Абенов=Abenov, Смагулов=Smagulov,
    Кенжебаев=Kenzhebaev, Утепов=Utepov, Мусин=Musin, Ержанов=Erzhanov, Даулетов=Dauletov,
    Серикбаев=Serikbaev, Бекмуханов=Bekmukhanov
    """
)
KZ_MALE = _pairs(
    """
    Нурлан=Nurlan, Ерлан=Erlan, Асхат=Askhat, Бауыржан=Bauyrzhan, Даурен=Dauren,
    Серик=Serik, Арман=Arman, Канат=Kanat, Марат=Marat, Талгат=Talgat, Алмас=Almas,
    Бекзат=Bekzat, Дамир=Damir, Ержан=Erzhan
    """
)
KZ_FEMALE = _pairs(
    """
    Айгуль=Aigul, Гульнара=Gulnara, Динара=Dinara, Жанар=Zhanar, Сауле=Saule, Асель=Assel,
    Мадина=Madina, Алия=Aliya, Камила=Kamila, Айжан=Aizhan
    """
)
RU_SURNAMES = _pairs(
    """
    Иванов=Ivanov, Смирнов=Smirnov, Кузнецов=Kuznetsov, Попов=Popov, Васильев=Vasilyev,
    Петров=Petrov, Соколов=Sokolov, Михайлов=Mikhailov, Новиков=Novikov, Фёдоров=Fedorov,
    Морозов=Morozov, Волков=Volkov, Алексеев=Alekseev, Лебедев=Lebedev, Семёнов=Semenov,
    Егоров=Egorov, Павлов=Pavlov, Козлов=Kozlov, Степанов=Stepanov, Николаев=Nikolaev
    """
)
RU_MALE = _pairs(
    """
    Алексей=Aleksei, Дмитрий=Dmitry, Сергей=Sergei, Андрей=Andrei, Владимир=Vladimir,
    Николай=Nikolai, Олег=Oleg, Павел=Pavel, Евгений=Evgeny, Виктор=Viktor, Юрий=Yury,
    Роман=Roman
    """
)
RU_FEMALE = _pairs("Елена=Elena, Ольга=Olga, Наталья=Natalya, Татьяна=Tatyana, Ирина=Irina, Анна=Anna")
# patronymics: (male, female)
PATRONYMICS = _pairs(
    """
    Болатович=Болатовна, Серикович=Сериковна, Маратович=Маратовна, Канатович=Канатовна,
    Ерланович=Ерлановна, Талгатович=Талгатовна, Александрович=Александровна,
    Сергеевич=Сергеевна, Николаевич=Николаевна, Владимирович=Владимировна,
    Петрович=Петровна, Иванович=Ивановна
    """
)
# country: (given names, surnames)
LATIN_PEOPLE = {
    "DE": (
        _split("Jonas, Lukas, Stefan, Thomas, Anna, Julia, Katrin, Markus"),
        _split("Weber, Müller, Fischer, Becker, Hoffmann, Wagner, Schulz, Braun"),
    ),
    "TR": (
        _split("Mehmet, Ahmet, Mustafa, Ayşe, Fatma, Emre, Burak, Elif"),
        _split("Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Aydın, Öztürk"),
    ),
    "CN": (
        _split("Lei, Na, Wei, Yang, Jing, Fan, Min, Tao"),
        _split("Wang, Li, Zhang, Liu, Chen, Zhao, Huang, Zhou"),
    ),
    "UZ": (
        _split("Akmal, Jasur, Sardor, Dilshod, Nodira, Gulnora, Bekzod, Aziz"),
        _split("Karimov, Rahimov, Usmonov, Yusupov, Tursunov, Nazarov, Mirzayev, Xolmatov"),
    ),
    "KG": (
        _split("Azamat, Nurbek, Bakyt, Aibek, Ainura, Cholpon, Emil, Talant"),
        _split("Mamytov, Osmonov, Abdyldaev, Toktogulov, Asanov, Dzhumabaev, Sadyrbaev, Bekov"),
    ),
    "IT": (
        _split("Luca, Marco, Giulia, Francesca, Matteo, Alessandro, Chiara, Paolo"),
        _split("Bianchi, Rossi, Romano, Gallo, Conti, De Luca, Costa, Fontana"),
    ),
    "PL": (
        _split("Tomasz, Piotr, Anna, Katarzyna, Krzysztof, Agnieszka, Marcin, Paweł"),
        _split("Nowak, Kowalski, Wiśniewski, Wójcik, Kamiński, Lewandowski, Zieliński"),
    ),
    "AE": (
        _split("Omar, Khalid, Ahmed, Fatima, Mariam, Saeed, Hassan, Yousef"),
        _split("Al Mansoori, Al Hashimi, Haddad, Al Falasi, Al Suwaidi, Khoury, Al Nuaimi"),
    ),
    "IN": (
        _split("Anil, Rajesh, Priya, Sunita, Vikram, Arjun, Deepa, Sanjay"),
        _split("Sharma, Patel, Reddy, Iyer, Gupta, Nair, Singh, Mehta"),
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
        patronymic = rng.choice(PATRONYMICS)[0 if male else 1]
        family = surname[0] if male else surname[0] + "а"
        return f"{family} {first[0]} {patronymic}", male
    if country == "KG":
        return f"{rng.choice(LATIN_PEOPLE['KG'][0])} {rng.choice(LATIN_PEOPLE['KG'][1])}", male
    given, lasts = LATIN_PEOPLE.get(country, LATIN_PEOPLE["DE"])
    if country == "CN":
        return f"{rng.choice(lasts)} {rng.choice(given)}", male
    return f"{rng.choice(given)} {rng.choice(lasts)}", male


CITIES = _pairs(
    """
    Астана=Astana, Алматы=Almaty, Шымкент=Shymkent, Караганда=Karaganda, Актобе=Aktobe,
    Павлодар=Pavlodar, Костанай=Kostanay, Атырау=Atyrau, Тараз=Taraz, Семей=Semey
    """
)


def _company_name(
    rng: random.Random, country: str, profile: Profile, used: set[str] | None = None
) -> tuple[str, list[str]]:
    """A registered name and its aliases; `used` keeps names unique (city, then number)."""
    sector, sector_latin = rng.choice(profile.sectors)
    if country in ("KZ", "RU", "BY", "KG"):
        words = {"KZ": KZ_WORDS, "KG": KG_WORDS}.get(country, RU_WORDS)
        native, latin = rng.choice(words)
        core, core_latin = f"{native} {sector}", f"{latin} {sector_latin}"
    else:
        core = core_latin = f"{rng.choice(LATIN_WORDS[country])} {profile.english}"
    form, alias_forms = LEGAL_FORM[country]
    if used is not None:
        base, base_latin = core, core_latin
        cities = list(CITIES)
        rng.shuffle(cities)
        number = 1
        while form.format(core) in used:
            if cities:
                city, city_latin = cities.pop()
                if country not in ("KZ", "RU", "BY", "KG"):
                    city = city_latin
                core, core_latin = f"{base} {city}", f"{base_latin} {city_latin}"
            else:
                number += 1
                core, core_latin = f"{base} {number}", f"{base_latin} {number}"
        used.add(form.format(core))
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
        name, aliases = _company_name(rng, country, profile, used_names)
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
        companies.append(Company(company_id, name, country, registered, list(profile.activities), aliases))
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
    _addresses_and_forwarders(companies)
    return companies, people


KZ_CITIES = _split("Алматы, Астана, Шымкент, Караганда, Актобе, Павлодар, Атырау")
KZ_STREETS = _split(
    "Абая, Достык, Толе би, Назарбаева, Сейфуллина, Жибек жолы, Райымбека, Гагарина, Байтурсынова, "
    "Кабанбай батыра, Богенбай батыра, Ауэзова, Жандосова, Тимирязева, Сатпаева, Момышулы, Кунаева, "
    "Туран, Республики, Мангилик Ел, Кенесары, Бейбитшилик, Победы, Ленина, Пушкина"
)
FOREIGN_STREETS = _split("Central, Market, Industrial, Station, Harbour, Park, Garden, Trade, Silk Road, Lake")
MASS_SHARE = 0.015  # Kazakh companies registered at a mass-registration address
MASS_SIZE = 40  # companies per mass-registration address, on average
FORWARDER_SHARE = {"KZ": 0.01}  # companies that also register 52.29 (forwarding); foreign: 3%


def _addresses_and_forwarders(companies: list[Company]) -> None:
    """A registered address for every company (a few shared by two or three by chance, and
    some Kazakh ones at mass-registration addresses of dozens of companies, too many for a
    link), and the forwarding activity 52.29 for a few. Drawn from a generator of their
    own, seeded by the registry's first ids, so the rest of the output is unchanged."""
    rng = random.Random("|".join(c.company_id for c in companies[:3]) + f"/{len(companies)}")
    kazakh = [c for c in companies if c.country == "KZ"]
    masses = [
        f"г. {rng.choice(KZ_CITIES)}, ул. {rng.choice(KZ_STREETS)}, д. {rng.randint(1, 90)}, офис {rng.randint(1, 9)}"
        for _ in range(max(1, round(len(kazakh) * MASS_SHARE / MASS_SIZE)))
    ]
    for company in companies:
        if company.country == "KZ":
            if rng.random() < MASS_SHARE:
                company.address = rng.choice(masses)
            else:
                company.address = (f"г. {rng.choice(KZ_CITIES)}, ул. {rng.choice(KZ_STREETS)}, "
                                   f"д. {rng.randint(1, 200)}, офис {rng.randint(1, 300)}")  # fmt: skip
        else:
            company.address = (
                f"{rng.choice(FOREIGN_STREETS)} {rng.randint(1, 400)}-{rng.randint(1, 300)}, {company.country}"
            )
        if rng.random() < FORWARDER_SHARE.get(company.country, 0.03) and "52.29" not in company.activity_codes:
            company.activity_codes = [*company.activity_codes, "52.29"]


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
    write_watchlist(directory, companies, random.Random(len(companies)))


# a reported foreign company's name: two of these words (the registry's companies are Kazakh)
FOREIGN_WORDS = ["Радио", "Комплект", "Электрон", "Снаб", "Микро", "Техно", "Поставка", "Восток", "Север",
                 "Импульс", "Сигнал", "Контакт", "Интеграл", "Модуль", "Резерв", "Альфа"]  # fmt: skip


def write_watchlist(directory: Path, companies: list[Company], rng: random.Random) -> None:
    """watchlist.csv: one reported company per 200 of the registry, as a watchlist holds
    them: a company's own name and id, another spelling of it without id (an alias, or
    the name in capitals), and foreign companies the registry does not have."""
    rows = []
    for _ in range(max(3, len(companies) // 200)):
        company, kind = rng.choice(companies), rng.random()
        if kind < 0.4:
            rows.append([company.name, company.company_id, company.country])
        elif kind < 0.7:
            rows.append([rng.choice(company.aliases) if company.aliases else company.name.upper(), "", ""])
        else:
            rows.append([f"ООО «{rng.choice(FOREIGN_WORDS)}{rng.choice(FOREIGN_WORDS).lower()}»", "", "RU"])
    with (directory / "watchlist.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["name", "company_id", "country", "reason", "source", "listed_on"])
        writer.writerows([*row, "reported: re-exports controlled goods", "synthetic", "2023-06-01"] for row in rows)


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
        # who buys what, by country: a buyer lookup is then a union of small lists
        self._trading: dict[tuple[str, str], list[int]] = {}
        for country, listed in self.by_country.items():
            for position, c in enumerate(listed):
                for hs in {g.hs for g in c.normal + c.listed}:
                    self._trading.setdefault((country, hs), []).append(position)
        self.mismatch_share = mismatch_share
        # Only some exporters can ship listed goods within their profile: draw those lines
        # more often from them so that about `listed_share` of all lines are listed.
        capable = sum(1 for c in self.exporters if c.listed)
        share = capable / len(self.exporters) if self.exporters else 0.0
        self.listed_share = min(0.9, listed_share / share) if share else 0.0
        self.fallback_listed = listed_share if not share else 0.0
        self.serial = 0
        self._buyer_cache: dict[tuple[str, str, str], list[Company]] = {}
        self._profile_cache: dict[str, list[Profile]] = {}

    # parties ------------------------------------------------------------------------
    def _party(self, company: Company, id_share: float) -> Party:
        name = company.name
        if company.aliases and self.rng.random() < 0.4:
            name = self.rng.choice(company.aliases)
        company_id = company.company_id if self.rng.random() < id_share else ""
        return Party(name, company_id, company.country)

    def _unregistered(self, country: str, trading_with: Company | None = None) -> Party:
        """A company the registry does not know, usually in the same trade."""
        profiles = self._profiles(trading_with) if self.rng.random() < 0.8 else PROFILES
        profile = self.rng.choice(profiles)
        form_country = country if country in LEGAL_FORM else "AE"
        name, _ = _company_name(self.rng, form_country, profile)
        return Party(name, "", country)

    def _consignee(self, country: str, exporter: Company | None) -> Party:
        registered = self.by_country.get(country)
        if registered and self.rng.random() < 0.85:
            # most buyers trade in what the exporter sells
            compatible = self._buyers(country, exporter)
            if compatible and self.rng.random() < 0.8:
                return self._party(self.rng.choice(compatible), 0.4)
            return self._party(self.rng.choice(registered), 0.4)
        return self._unregistered(country, exporter)

    def _profiles(self, company: Company | None) -> Sequence[Profile]:
        if company is None:
            return PROFILES
        key = company.company_id + company.name
        if key not in self._profile_cache:
            sells = [g.hs for g in company.normal + company.listed]
            matching = []
            for profile in PROFILES:
                prefixes = covered_prefixes(profile.activities)
                if prefixes and any(hs.startswith(prefixes) for hs in sells):
                    matching.append(profile)
            self._profile_cache[key] = matching or list(PROFILES)
        return self._profile_cache[key]

    def _buyers(self, country: str, exporter: Company | None) -> list[Company]:
        if exporter is None:
            return []
        key = (country, exporter.company_id, exporter.name)
        if key not in self._buyer_cache:
            sells = {g.hs for g in exporter.normal + exporter.listed}
            positions = {p for hs in sells for p in self._trading.get((country, hs), ())}
            registered = self.by_country.get(country, [])
            self._buyer_cache[key] = [registered[p] for p in sorted(positions)]
        return self._buyer_cache[key]

    # goods --------------------------------------------------------------------------
    @staticmethod
    def _imports(company: Company) -> bool:
        return any(set(g.origins) - {"KZ"} for g in company.normal + company.listed)

    def _goods(self, company: Company | None) -> Goods:
        rng = self.rng
        if company is None:
            pool = [g for g in CATALOGUE if not g.hs.startswith(DRONE_PREFIX)]
            return rng.choice(LISTED_GOODS if rng.random() < 0.05 else pool)
        if company.listed and rng.random() < self.listed_share:
            return rng.choice(company.listed)
        if rng.random() < self.fallback_listed:
            return rng.choice(LISTED_GOODS)
        if company.normal and rng.random() >= self.mismatch_share:
            return rng.choice(company.normal)
        if company.listed and not company.normal:
            return rng.choice(company.listed)
        outside = [g for g in CATALOGUE if not g.listed and g not in company.normal]
        return rng.choice(GENERAL_GOODS if rng.random() < 0.5 else outside)

    def _items(self, company: Company | None, currency: str, export_of: str | None) -> list[list[str]]:
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
        procedure = _weighted(rng, (("export", 85), ("re-export", 7), ("import", 5), ("transit", 3)))
        if procedure in ("import", "transit") and not self.foreign:
            procedure = "export"
        transit = ""
        if procedure in ("export", "re-export"):
            company = rng.choice(self.exporters) if self.exporters else None
            if procedure == "re-export" and company and not self._imports(company):
                procedure = "export"  # nothing this company trades comes from abroad
            exporter = self._party(company, 0.7) if company else Party(self._unregistered("KZ").name, "", "KZ")
            if rng.random() < 0.10:
                destination = _weighted(rng, RISK_DESTINATIONS)
            else:
                destination = _weighted(rng, OTHER_DESTINATIONS)
            consignee = self._consignee(destination, company)
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
            consignee = self._party(buyer, 0.7) if buyer else Party(self._unregistered("KZ").name, "", "KZ")
            dispatch, destination = supplier.country, "KZ"
            goods_company = buyer
            company = buyer
        else:  # transit through Kazakhstan
            supplier = rng.choice(self.foreign)
            exporter = self._party(supplier, 0.3)
            destination = rng.choice([c for c, _ in OTHER_DESTINATIONS if c != supplier.country])
            consignee = self._consignee(destination, supplier)
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
# The seed story and the special cases, written against fixtures/registry

SPECIAL_COMPANIES = {
    "ASPAN": "ТОО «Аспан Арба»",
    "NEBESNAYA": "ООО «Небесная механика»",
    "HUAXIN": "Shenzhen Huaxin Electronics Co., Ltd.",
    "ZEMNAYA": "ООО «Земная механика»",
    "ALTYN": "ТОО «Алтын Арба»",
    "BEREKE": "ТОО «Береке Металл»",
    "VOLGA": "ООО «Волга Металлоторг»",
    "NUR": "ТОО «Нұр Дистрибьюшн»",
    "BISHKEK": "ОсОО «Бишкек Диджитал Сапплай»",
    "SKYLINE": "ТОО «Skyline Components»",
    "CASPNAV": "ТОО «Каспий Навигатор»",
    "GULF": "Gulf Navtech FZE",
    "SARYARKA": "ТОО «Сарыарка Компьютер»",
    "TENIR": "ОсОО «Тенир Тех»",
    "ALATAU": "ТОО «Алатау Электроникс»",
    "RHEINTAL": "Rheintal Elektronik GmbH",
    "DALA": "ТОО «Дала Астык»",
    "TIANSHAN": "Xinjiang Tianshan Grain Trading Co., Ltd.",
    "TEMIRTAU": "АО «Темиртау Болат»",
    "ANADOLU": "Anadolu Çelik Ticaret A.Ş.",
    "AGROTECH": "ТОО «АгроТехника Сервис»",
    "ALATOO": "ОсОО «Ала-Тоо Агромаш»",
    "ZHAIYK": "ТОО «Жайык Тыңайтқыш»",
    "TOSHKENT": "Toshkent Agro Savdo MChJ",
}
# companies seen only in special cases: left out of the random draws with --story
SPECIAL_ONLY = frozenset(
    SPECIAL_COMPANIES[key]
    for key in _split("ASPAN, NEBESNAYA, HUAXIN, ZEMNAYA, ALTYN, BEREKE, VOLGA, NUR, BISHKEK, SKYLINE, CASPNAV, GULF")
)
# A declaration: id | date | procedure | document type | currency | dispatch>destination
#   [via transit;countries]; then its parties: role | KEY or ?COUNTRY (not registered) |
#   + (write the registry id) or - | the name as written; then its items:
#   item | hs as written | quantity | unit | value | origin | net kg | description
SPECIAL_TEXT = """
# the seed story: Aspan Arba imports drones, ships drones and chips to Nebesnaya Mekhanika
STORY-IMP-0001 | 2022-06-20 | import | customs_declaration | USD | CN>KZ
  exporter | HUAXIN | + | Shenzhen Huaxin Electronics Co., Ltd.
  consignee | ASPAN | + | ТОО «Аспан Арба»
  item | 8806210000 | 300 | pcs | 1050000 | CN | 75 | Unmanned aircraft, take-off mass <= 250 g
  item | 8807300000 | 1500 | pcs | 82000 | CN | 450 | Parts of unmanned aircraft
STORY-0001 | 2022-07-08 | export | goods_invoice | USD | KZ>RU
  exporter | ASPAN | + | Aspan Arba LLP
  consignee | NEBESNAYA | - | Nebesnaya Mejanica
  item | 8806 21 000 0 | 150 | pcs | 600000 | CN | 37.5 | Беспилотные летательные аппараты
STORY-0002 | 2022-09-21 | export | goods_invoice | RUB | KZ>RU
  exporter | ASPAN | + | ТОО «Аспан Арба»
  consignee | NEBESNAYA | + | ООО «Небесная механика»
  item | 8806.21 | 130 | pcs | 31200000 | CN | 32.5 | Квадрокоптеры
  item | 8807.30 | 800 | pcs | 2880000 | CN | 240 | Части БПЛА: пропеллеры, аккумуляторы
STORY-0003 | 2022-11-15 | export | goods_invoice | USD | KZ>RU
  exporter | ASPAN | + | Aspan Arba TOO
  consignee | NEBESNAYA | - | Nebesnaya Mekhanika
  item | 8806 21 000 0 | 120 | pcs | 480000 | CN | 30 | Unmanned aircraft (drones)
  item | 880730 | 600 | pcs | 36000 | CN | 180 | Drone parts: gimbals, propellers
  item | 8542.31 | 5000 | pcs | 95000 | TW | 12.5 | Microchips: processors
STORY-0004 | 2023-02-10 | export | goods_invoice | USD | KZ>RU
  exporter | ASPAN | - | Aspan Arba
  consignee | NEBESNAYA | + | OOO Nebesnaya Mekhanika
  item | 8542 32 000 1 | 20000 | pcs | 140000 | TW | 40 | Integrated circuits: memories
  item | 8542 39 000 1 | 15000 | pcs | 60000 | CN | 30 | Integrated circuits, other
  item | 8807.30.00 | 400 | pcs | 24000 | CN | 120 | Parts of unmanned aircraft
STORY-0005 | 2023-05-30 | export | goods_invoice | USD | KZ>RU
  exporter | ASPAN | + | ТОО «Аспан Арба»
  consignee | NEBESNAYA | - | Небесная механика
  item | 8806220000 | 100 | pcs | 420000 | CN | 110 | Беспилотные летательные аппараты
# decoys: look-alike names, no shared person
DECOY-0001 | 2023-04-11 | export | goods_invoice | RUB | KZ>RU
  exporter | ALTYN | + | Altyn Arba LLP
  consignee | ZEMNAYA | + | Zemnaya Mekhanika
  item | 8413 70 810 0 | 12 | pcs | 3240000 | TR | 1080 | Насосы центробежные
  item | 8481.80 | 150 | pcs | 1620000 | TR | 1800 | Арматура запорная
DECOY-0002 | 2023-06-19 | export | goods_invoice | USD | KZ>RU
  exporter | ALTYN | - | ТОО «Алтын Арба»
  consignee | NEBESNAYA | - | Nebesnaya Mekhanika
  item | 8481809900 | 200 | pcs | 41000 | TR | 2400 | Industrial valves
DECOY-0003 | 2023-08-02 | export | goods_invoice | USD | KZ>RU
  exporter | BEREKE | + | Bereke Metall LLP
  consignee | VOLGA | + | ООО «Волга Металлоторг»
  item | 7208 39 000 0 | 420.5 | t | 256505 | KZ | 420500 | Hot-rolled flat steel, < 3 mm
DECOY-0004 | 2023-09-14 | export | goods_invoice | USD | KZ>RU
  exporter | ASPAN | + | Aspan Arba LLP
  consignee | ZEMNAYA | - | ООО «Земная механика»
  item | 7208.51 | 250 | t | 162500 | KZ | 250000 | Steel plate, > 10 mm
DECOY-0005 | 2023-10-05 | import | goods_invoice | RUB | RU>KZ
  exporter | VOLGA | + | Volga Metallotorg LLC
  consignee | ASPAN | + | Aspan Arba LLP
  item | 7306305000 | 80 | t | 7200000 | RU | 80000 | Трубы стальные сварные
# a shell: registered 2022-06-15, non-specialised wholesale, exports chips to Kyrgyzstan
SHELL-0001 | 2023-03-22 | export | goods_invoice | USD | KZ>KG
  exporter | NUR | + | Nur Distribution LLP
  consignee | BISHKEK | - | Bishkek Digital Supply LLC
  item | 854231 | 30000 | pcs | 510000 | CN | 60 | Processors and controllers
  item | 8542.39 | 20000 | pcs | 180000 | MY | 40 | Integrated circuits, other
SHELL-0002 | 2023-08-30 | export | goods_invoice | KZT | KZ>KG
  exporter | NUR | + | ТОО «Нұр Дистрибьюшн»
  consignee | BISHKEK | + | ОсОО «Бишкек Диджитал Сапплай»
  item | 8542 31 000 1 | 25000 | pcs | 198720000 | TW | 50 | Интегральные схемы: процессоры
  item | 8532 24 000 0 | 400000 | pcs | 7360000 | CN | 20 | Конденсаторы керамические
  item | 9503007500 | 800 | kg | 2944000 | CN | 800 | Игрушки пластмассовые
# reported companies: a watchlisted exporter, a watchlisted consignee not in the registry
WATCH-0001 | 2023-07-12 | export | goods_invoice | USD | KZ>RU
  exporter | SKYLINE | + | Skyline Components LLP
  consignee | ?RU | - | ООО «Радиокомплект»
  item | 8542 32 000 1 | 40000 | pcs | 320000 | KR | 80 | Integrated circuits: memories
  item | 854121 | 100000 | pcs | 30000 | CN | 50 | Transistors, < 1 W
WATCH-0002 | 2023-09-04 | export | goods_invoice | USD | KZ>KG
  exporter | SKYLINE | - | ТОО «Skyline Components»
  consignee | TENIR | - | Tenir Tech LLC
  item | 8532.24 | 300000 | pcs | 12000 | CN | 15 | Multilayer ceramic capacitors
WATCH-0003 | 2023-10-18 | export | goods_invoice | USD | KZ>RU
  exporter | ALATAU | + | Alatau Electronics LLP
  consignee | ?RU | - | Radiokomplekt LLC
  item | 8541.21 | 50000 | pcs | 11000 | CN | 25 | Transistors
# linked parties (one beneficial owner) trading listed goods to a non-risk destination
LINK-0001 | 2023-10-02 | export | customs_declaration | USD | KZ>AE
  exporter | CASPNAV | + | Caspian Navigator LLP
  consignee | GULF | + | Gulf Navtech FZE
  item | 9014 20 800 0 | 40 | pcs | 280000 | US | 60 | Aeronautical navigation instruments
  item | 8526.91 | 300 | pcs | 150000 | CN | 120 | GNSS receivers
LINK-0002 | 2024-02-14 | re-export | customs_declaration | USD | KZ>AE
  exporter | CASPNAV | + | ТОО «Каспий Навигатор»
  consignee | GULF | - | Gulf Navtech FZCO
  item | 8542310001 | 10000 | pcs | 210000 | TW | 20 | Processors and controllers
  item | 9013.80 | 200 | pcs | 64000 | CN | 80 | Optical devices
# listed goods to Kyrgyzstan by way of Russia
TRANSIT-0001 | 2023-11-20 | export | goods_invoice | USD | KZ>KG via RU
  exporter | SARYARKA | + | Saryarka Computer LLP
  consignee | TENIR | + | ОсОО «Тенир Тех»
  item | 8471 50 000 0 | 40 | pcs | 220000 | CN | 480 | Servers (processing units)
  item | 8471.80 | 500 | pcs | 90000 | CN | 750 | Other units of computers
# clean references: legitimate trade
CLEAN-0001 | 2023-05-16 | export | customs_declaration | EUR | KZ>DE via AZ;GE;TR
  exporter | ALATAU | + | ТОО «Алатау Электроникс»
  consignee | RHEINTAL | + | Rheintal Elektronik GmbH
  item | 854231 | 8000 | pcs | 92000 | TW | 16 | Microcontrollers
CLEAN-0002 | 2023-09-27 | export | customs_declaration | USD | KZ>CN
  exporter | DALA | + | Dala Astyk LLP
  consignee | TIANSHAN | + | Xinjiang Tianshan Grain Trading Co., Ltd.
  item | 1001.99 | 1500 | t | 345000 | KZ | 1500000 | Wheat, other than seed
CLEAN-0003 | 2023-06-07 | export | customs_declaration | USD | KZ>TR via AZ;GE
  exporter | TEMIRTAU | + | Temirtau Bolat JSC
  consignee | ANADOLU | + | Anadolu Çelik Ticaret A.Ş.
  item | 7208 39 000 0 | 900 | t | 540000 | KZ | 900000 | Flat-rolled steel, hot-rolled, < 3 mm
  item | 7208.51 | 400 | t | 264000 | KZ | 400000 | Steel plate, > 10 mm
CLEAN-0004 | 2023-04-03 | export | goods_invoice | USD | KZ>KG
  exporter | AGROTECH | + | ТОО «АгроТехника Сервис»
  consignee | ALATOO | - | Ala-Too Agromash LLC
  item | 8701 92 900 0 | 6 | pcs | 228000 | BY | 23400 | Тракторы сельскохозяйственные
  item | 8432.21 | 4 | pcs | 44000 | KZ | 5600 | Бороны дисковые
CLEAN-0005 | 2024-03-12 | export | customs_declaration | USD | KZ>UZ
  exporter | ZHAIYK | + | Zhaiyk Fertilizers LLP
  consignee | TOSHKENT | + | Toshkent Agro Savdo MChJ
  item | 3102101000 | 3000 | t | 960000 | KZ | 3000000 | Urea
"""


def _fields(line: str) -> list[str]:
    return [part.strip() for part in line.split("|")]


def special_rows(companies: list[Company]) -> Iterator[list[str]]:
    """The rows of SPECIAL_TEXT, with ids and countries from the registry."""
    by_name = {c.name: c for c in companies}
    missing = sorted(name for name in SPECIAL_COMPANIES.values() if name not in by_name)
    if missing:
        raise SystemExit(
            "generate_shipments: --story needs a registry holding these companies "
            f"(such as fixtures/registry): {', '.join(missing)}"
        )
    header: list[str] = []
    parties: dict[str, list[str]] = {}
    currency = ""
    line = 0
    for raw in SPECIAL_TEXT.splitlines():
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        fields = _fields(text)
        if fields[0] in ("exporter", "consignee"):
            _, key, with_id, written = fields
            if key.startswith("?"):
                parties[fields[0]] = [written, "", key[1:]]
            else:
                company = by_name[SPECIAL_COMPANIES[key]]
                company_id = company.company_id if with_id == "+" else ""
                parties[fields[0]] = [written, company_id, company.country]
        elif fields[0] == "item":
            _, hs, qty, unit, value, origin, kg, description = fields
            line += 1
            yield [
                *header[:4],
                *parties["exporter"],
                *parties["consignee"],
                *header[4:],
                str(line),
                hs,
                description,
                qty,
                unit,
                f"{float(value):.2f}",
                currency,
                origin,
                kg,
            ]
        else:
            declaration_id, date, procedure, document_type, currency, route = fields
            route, _, transit = route.partition(" via ")
            dispatch, destination = route.split(">")
            header = [declaration_id, date, procedure, document_type, dispatch, destination]
            header.append(transit.strip())
            parties = {}
            line = 0


def special_declarations() -> int:
    return sum(1 for raw in SPECIAL_TEXT.splitlines() if raw.strip() and not raw.startswith((" ", "#")))


# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a synthetic batch CSV of shipment lines (design.md section 4).")
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
        help="write a synthetic registry (companies.csv, people.csv, watchlist.csv) here and draw the shipments from it",
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
        f"generate_shipments: input: --lines {args.lines} --seed {args.seed}{' --story' if args.story else ''}",
        file=sys.stderr,
    )

    story = list(special_rows(companies)) if args.story else []  # fails before writing
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
        writer.writerows(story)
        story_lines = len(story)
        story_declarations = special_declarations() if args.story else 0
    print(
        f"generate_shipments: wrote {written + story_lines} lines "
        f"({declarations + story_declarations} declarations) to {args.out}: "
        f"{written} generated lines in {declarations} declarations "
        f"({listed} lines of listed goods, {risk} declarations to RU/BY)"
        + (f", plus {story_lines} lines in {story_declarations} story/special declarations" if args.story else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
