# Cyrillic test data is intended, not confusable Latin.
# ruff: noqa: RUF001, RUF003
"""Tests for customs_rules.entities.names: cross-script name matching."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customs_rules.entities.name_text import fold_variants, normalize, strip_legal_forms, tokens, transliterate
from customs_rules.entities.names import DEFAULT_THRESHOLD, NameMatch, blocking_keys, compare, is_match

# Each group holds renderings of one entity; every pair inside must match.
TRUE_GROUPS: list[list[str]] = [
    [
        "Илья Гольдберг",
        "Ilya Goldberg",
        "Iliá Goldberg",
        "GOLDBERG ILYA",
        "Гольдберг Илья Маркович",
        "Ilia Goldberg",
        "Ilja Goldberg",
    ],
    [
        "ООО «Небесная механика»",
        "Nebesnaya Mekhanika",
        "Nebesnaya Mejanica",
        "OOO Nebesnaya Mekhanika",
        "Небесная Механика LLC",
    ],
    ["ТОО «Аспан Арба»", "Aspan Arba LLP", "Aspan Arba TOO", "Аспан Арба"],
    [
        "Шапошников Михаил Андреевич",
        "Mikhail Shaposhnikov",
        "Michail Schaposchnikow",
        "Mijaíl Shaposhnikov",
        "Mikhaïl Chapochnikov",
    ],
    ["Нұрлан Серікұлы Әбдірахманов", "Nurlan Abdirakhmanov"],
]

# Further labelled pairs: (a, b, should_match).
LABELLED: list[tuple[str, str, bool]] = [
    ("Goldbreg Ilya", "Ilya Goldberg", True),
    ("Nurlan Serik uly Abdirakhmanov", "Нұрлан Әбдірахманов", True),
    ("Фёдор Кузнецов", "Fyodor Kuznetsov", True),
    ("Фёдор Кузнецов", "Fjodor Kusnezow", True),
    ("Юрий Петров", "Iouri Petrov", True),
    ("Юрий Петров", "Juri Petrow", True),
    ("Yuriy Petrov", "Yuri Petrov", True),
    ("Алексей Навальный", "Alexei Navalny", True),
    ("Алексей Навальный", "Alexej Nawalny", True),
    ("Екатерина Васильева", "Yekaterina Vasilyeva", True),
    ("Екатерина Васильева", "Jekaterina Wassiljewa", True),
    ("Пётр Чайковский", "Pyotr Tchaikovsky", True),
    ("Пётр Чайковский", "Pjotr Tschaikowski", True),
    ("Пётр Чайковский", "Piotr Tchaïkovski", True),
    ("Дмитрий Жуков", "Dmitry Zhukov", True),
    ("Дмитрий Жуков", "Dmitri Joukov", True),
    ("Евгений Смирнов", "Yevgeny Smirnov", True),
    ("Евгений Смирнов", "Jewgeni Smirnow", True),
    ("Қасым-Жомарт Тоқаев", "Kassym-Jomart Tokayev", True),
    ("Нурсултан Назарбаев", "Nursultan Nazarbayev", True),
    ("ПАО Сбербанк", "Sberbank PJSC", True),
    ("АО «КазМунайГаз»", "KazMunayGas JSC", True),
    ("Aspan Arba LLP", "AspanArba", True),
    ("Ivanov Ivan Ivanovich", "Ivan Ivanov", True),
    ("Ilya Goldman", "Ilya Goldberg", False),
    ("Igor Goldberg", "Ilya Goldberg", False),
    ("Zemnaya Mekhanika", "Nebesnaya Mekhanika", False),
    ("Altyn Arba", "Aspan Arba", False),
    ("Maxim Shaposhnikov", "Mikhail Shaposhnikov", False),
    ("Mikhail Shapovalov", "Mikhail Shaposhnikov", False),
    ("Goldberg I. M.", "Ilya Goldberg", False),
    ("Aspan Arba Plus", "Aspan Arba", False),
    ("Ivan Petrov", "Ivanov Petr", False),
    ("Yuri Petrov", "Yuri Petrovsky", False),
    ("Anna Shaposhnikova", "Anna Shaposhnikov", False),
    ("Dmitry Zhukov", "Dmitry Zhuravlev", False),
    ("Alexei Navalny", "Alexei Nabokov", False),
    ("Fyodor Kuznetsov", "Fyodor Kuzmin", False),
    ("Nurlan Abdirakhmanov", "Nurlan Abdrakhmanov Serikovich Plus", False),
    ("Goldberg", "Ilya Goldberg", False),
    ("ТОО «Аспан Арба»", "ТОО «Аспан Жол»", False),
    ("Sberbank PJSC", "Sovcombank PJSC", False),
    ("Нурсултан Назарбаев", "Нурлан Назарбаев", False),
    ("Yekaterina Vasilyeva", "Yekaterina Vasilenko", False),
]

# Wider labelled set (issue: >= 160 pairs, precision and recall >= 0.98).
# Every label is what a careful analyst would give; a pair the matcher gets
# wrong stays in the set and is listed in KNOWN_MISSES below.
MORE_LABELLED: list[tuple[str, str, bool]] = [
    # Russian persons: Cyrillic vs English / German / French / Spanish renderings.
    ("Георгий Жуков", "Georgy Zhukov", True),
    ("Георгий Жуков", "Georgi Schukow", True),
    ("Георгий Жуков", "Guéorgui Joukov", True),
    ("Георгий Жуков", "Zhúkov, Georgi", True),
    ("Андрей Щербаков", "Andrey Shcherbakov", True),
    ("Андрей Щербаков", "Andrej Schtscherbakow", True),
    ("Андрей Щербаков", "Andreï Chtcherbakov", True),
    ("Юрий Гагарин", "Yuri Gagarin", True),
    ("Юрий Гагарин", "Jurij Gagarin", True),
    ("Юрий Гагарин", "Iouri Gagarine", True),
    ("Наталья Иванова", "Natalya Ivanova", True),
    ("Наталья Иванова", "Natalja Iwanowa", True),
    ("Сергей Волков", "Sergei Volkov", True),
    ("Сергей Волков", "Sergej Wolkow", True),
    ("Сергей Волков", "Sergueï Volkov", True),
    ("Александр Соловьёв", "Aleksandr Solovyov", True),
    ("Александр Соловьёв", "Alexander Solowjow", True),
    ("Александр Соловьёв", "Alexandre Soloviov", True),
    ("Ольга Кузьмина", "Olga Kuzmina", True),
    ("Ольга Кузьмина", "Olga Kusmina", True),
    ("Михаил Хабаров", "Mikhail Khabarov", True),
    ("Михаил Хабаров", "Mijaíl Jabárov", True),
    ("Татьяна Чернова", "Tatiana Tchernova", True),
    ("Татьяна Чернова", "Tatjana Tschernowa", True),
    # Surname-first vs given-first, and a patronymic on one side only.
    ("Жуков Георгий Константинович", "Georgiy Zhukov", True),
    ("Щербаков Андрей Викторович", "SHCHERBAKOV ANDREY", True),
    ("Andrei Viktorovich Shcherbakov", "Щербаков Андрей", True),
    ("Yuriy Alekseyevich Gagarin", "Gagarin Yuri", True),
    ("Gagarin Juri Alexejewitsch", "Юрий Гагарин", True),
    ("Иванова Наталья Сергеевна", "Natalia Ivanova", True),
    ("IVANOVA, Natalya", "Наталья Иванова", True),
    ("Chernova Tatyana Ivanovna", "Tatiana Chernova", True),
    ("Сергей Волков", "VOLKOV SERGEY", True),
    ("Татьяна Чернова", "Chernova Tatiana", True),
    # Typos: one letter off (or swapped) in a long token.
    ("Konstantin Rokossovsky", "Konstantin Rokossovksy", True),
    ("Svetlana Kudryavtseva", "Svetlana Kudryavsteva", True),
    ("Nikolay Stepanenko", "Nikolay Stepanemko", True),
    ("Шапошников Михаил", "Шапашников Михаил", True),
    ("Assel Nurmagambetova", "Assel Nurmagambetva", True),
    ("Baltiyskaya Logistika LLC", "Baltiyskaya Logisitka LLC", True),
    # Kazakh persons: Ә Ө Ү Ұ Қ Ғ Ң Һ І, official and Latin-2021 spellings.
    ("Әсел Нұрмағамбетова", "Assel Nurmagambetova", True),
    ("Ерлан Қожахметов", "Yerlan Kozhakhmetov", True),
    ("Ерлан Қожахметов", "Erlan Kojakhmetov", True),
    ("Дәурен Өмірбеков", "Dauren Omirbekov", True),
    ("Айгүл Сұлтанбекова", "Aigul Sultanbekova", True),
    ("Бауыржан Мұхамеджанов", "Baurzhan Mukhamedzhanov", True),
    ("Бауыржан Мұхамеджанов", "Bauyrzhan Mukhamedzhanov", True),
    ("Ғалымжан Жақсылықов", "Galymzhan Zhaksylykov", True),
    ("Қайрат Сәтбаев", "Kairat Satbayev", True),
    ("Қайрат Сәтбаев", "Qaırat Sátbaev", True),
    ("Шаһмардан Есенов", "Shakhmardan Yessenov", True),
    ("Сауат Мыңбаев", "Sauat Mynbayev", True),
    ("Әлібек Нұрғалиев", "Alibek Nurgaliyev", True),
    ("Өтеген Үсенов", "Otegen Usenov", True),
    # Kazakh patronymics (-ұлы / -қызы, uly / kyzy) and Russian-style ones.
    ("Ержан Болатұлы Сейітов", "Yerzhan Seitov", True),
    ("Айгерім Серікқызы Омарова", "Aigerim Omarova", True),
    ("Aigerim Serik kyzy Omarova", "Айгерім Омарова", True),
    ("Nurlan Bolat uly Kassymov", "Нұрлан Қасымов", True),
    ("Касымов Нурлан Болатович", "Nurlan Kassymov", True),
    ("KASSYMOV Nurlan", "Нұрлан Қасымов", True),
    # Companies with legal forms in both scripts.
    ("АО «Қазақстан темір жолы»", "Kazakhstan Temir Zholy JSC", True),
    ("ООО «Северный ветер»", "Severny Veter LLC", True),
    ("ООО «Северный ветер»", "OOO Severnyy Veter", True),
    ("ТОО «Жасыл Дала»", "Zhasyl Dala LLP", True),
    ("ТОО «Жасыл Дала»", "Zhasyl Dala TOO", True),
    ("«Жасыл Дала» жауапкершілігі шектеулі серіктестігі", "Zhasyl Dala LLP", True),
    ("ООО «Балтийская Логистика»", "Baltiyskaya Logistika LLC", True),
    ("Nordwind Logistik GmbH", "NORDWIND LOGISTIK GMBH", True),
    ("Nordwind Logistik GmbH", "Nordwind Logistik", True),
    ("Steppe Trading Ltd", "Steppe Trading Limited", True),
    ("Steppe Trading Ltd.", "STEPPE TRADING LTD", True),
    ("«Қазақ Болат» АҚ", "Kazakh Bolat JSC", True),
    ("Kazakh Steel LLP", "ТОО «Казах Стил»", True),
    # Decoys: same surname, different given name.
    ("Georgy Zhukov", "Grigory Zhukov", False),
    ("Георгий Жуков", "Grigory Zhukov", False),
    ("Андрей Щербаков", "Алексей Щербаков", False),
    ("Nikolay Stepanenko", "Nikita Stepanenko", False),
    ("Dauren Omirbekov", "Daulet Omirbekov", False),
    ("Ерлан Қожахметов", "Ruslan Kozhakhmetov", False),
    # Decoys: same given name, different surname.
    ("Yuri Gagarin", "Yuri Gavrilov", False),
    ("Andrey Shcherbakov", "Andrey Shcherbina", False),
    ("Щербаков Андрей", "Andrey Shcherbinin", False),
    ("Mikhail Khabarov", "Mikhail Khabibulin", False),
    ("Tatiana Chernova", "Tatiana Chernysheva", False),
    ("Georgy Zhukov", "Georgy Zhukovsky", False),
    ("Сергей Волков", "Sergei Volkonsky", False),
    ("Ольга Кузьмина", "Olga Kuzmenko", False),
    ("Наталья Иванова", "Natalya Ivanenko", False),
    ("Нұрлан Қасымов", "Нұрлан Жұмабаев", False),
    ("Yerlan Kozhakhmetov", "Yerlan Kozhamkulov", False),
    ("Айгерім Омарова", "Айгерім Оспанова", False),
    ("Дәурен Өмірбеков", "Dauren Omirzakov", False),
    # Decoys: masculine vs feminine forms (different people).
    ("Александра Иванова", "Александр Иванов", False),
    ("Евгения Смирнова", "Евгений Смирнов", False),
    ("Valentina Orlova", "Valentin Orlov", False),
    ("Sasha Belova", "Sasha Belov", False),
    ("Женя Кузнецова", "Женя Кузнецов", False),
    # Decoys: same name, different patronymic.
    ("Айгерім Серікқызы Омарова", "Айгерім Болатқызы Омарова", False),
    ("Ivan Petrovich Sidorov", "Ivan Sergeyevich Sidorov", False),
    # Decoys: different companies sharing a word.
    ("Kazakh Steel", "Kazakh Grain", False),
    ("Kazakh Steel LLP", "Kazakh Grain LLP", False),
    ("ТОО «Казах Стил»", "Kazakh Grain LLP", False),
    ("ТОО «Жасыл Дала»", "ТОО «Жасыл Жол»", False),
    ("Severny Veter LLC", "Yuzhny Veter LLC", False),
    ("ООО «Северный ветер»", "Severnaya Zvezda LLC", False),
    ("Nordwind Logistik GmbH", "Nordstern Logistik GmbH", False),
    ("Nordwind Logistik GmbH", "Nordwind Logistik Holding GmbH", False),
    ("Steppe Trading Ltd", "Steppe Mining Ltd", False),
    ("АО «Казахтелеком»", "АО «Казахмыс»", False),
    ("Volga Trans LLC", "Volga Trans Service LLC", False),
    ("АО «Қазақстан темір жолы»", "Kazakhstan Temir Zholy Express JSC", False),
]

# Issue #12 (1.4): legal forms of Central Asia and the Caucasus, in every script and inside
# quotes, and English words written in Cyrillic (Трейдинг ~ Trading) and back.
REGION_LABELLED: list[tuple[str, str, bool]] = [
    # Kyrgyz ОсОО / ЖЧК / ААК, Uzbek МЧЖ / MChJ, Tajik ҶДММ, Armenian ՍՊԸ / SPY,
    # Kazakh ЖШС / ЖАҚ, Azerbaijani MMC, Georgian შპს / Shps, Turkmen HJ / ХЖ.
    ("ОсОО «Ак Жол Логистик»", "Ak Zhol Logistik LLC", True),
    ('OsOO "Ak Zhol Logistik"', "Ак Жол Логистик", True),
    ("ЖЧК «Бишкек Агро»", "Bishkek Agro LLC", True),
    ("Жоопкерчилиги чектелген коому «Бишкек Агро»", "Bishkek Agro", True),
    ("ААК «Кыргыз Темир Жолу»", "Kyrgyz Temir Zholu OJSC", True),
    ("МЧЖ «Шарқ Савдо»", "Sharq Savdo MChJ", True),
    ('"Sharq Savdo" MChJ', "ООО «Шарк Савдо»", True),
    ("Sharq Savdo M.Ch.J.", "«Шарқ Савдо» М.Ч.Ж.", True),
    ("Sharq Savdo mas'uliyati cheklangan jamiyati", "Sharq Savdo LLC", True),
    ("ҶДММ «Помир Нақлиёт»", "Pomir Nakliyot LLC", True),
    ("Pomir Nakliyot JDMM", "ҶДММ «Помир Нақлиёт»", True),
    ("ՍՊԸ «Արարատ Կոնյակ»", "Ararat Konyak LLC", True),
    ('"Ararat Konyak" SPY', "Ararat Konyak", True),
    ("ЖШС «Алтын Дән»", "Altyn Dan LLP", True),
    ("ЖАҚ «Сарыарқа Темір»", "Saryarka Temir CJSC", True),
    ("«Altyn Dán» JShS", "ЖШС «Алтын Дән»", True),  # Kazakh in the 2021 Latin alphabet
    ("«Saryarqa Temir» JAQ", "Saryarka Temir", True),
    ("Azər Trans MMC", "Azer Trans LLC", True),
    ("Məhdud Məsuliyyətli Cəmiyyət «Bakı Kabel»", "Baki Kabel MMC", True),
    ("შპს «კავკასია»", "Kavkasia LLC", True),
    ("Kavkasia Shps", "KAVKASIA LLC", True),
    ("«Altyn Asyr» HJ", "Altyn Asyr LLC", True),
    ("«Алтын Асыр» ХЖ", "Altyn Asyr HJ", True),
    # English words written in Cyrillic (a table of trade words) ...
    ("ОсОО «Тянь Шань Трейдинг»", "Tian Shan Trading LLC", True),
    ("Tian Shan Treiding", "Tian Shan Trading", True),
    ("ТОО «Галф Стар Трейдинг»", "Gulf Star Trading LLP", True),
    ("ООО «Юнайтед Электроникс»", "United Electronics LLC", True),
    ("ТОО «Евразия Импэкс»", "Eurasia Impex LLP", True),
    ("ТОО «Стил Групп»", "Steel Group LLP", True),
    ("ООО «Глобал Логистикс»", "Global Logistics LLC", True),
    ("ТОО «Интернешнл Трейд Компани»", "International Trade Company LLP", True),
    ("ՍՊԸ «Արարատ Տրեյդ»", "Ararat Trade LLC", True),
    # ... and words the table does not hold (the English-spelling fallback).
    ("ООО «Саншайн Фудс»", "Sunshine Foods LLC", True),
    ("ТОО «Кристал Бридж»", "Crystal Bridge LLP", True),
    ("ТОО «Тимлайн»", "Teamline LLP", True),
    ("ТОО «Траст Лайн»", "Trust Line LLP", True),
    ("ООО «Саншайн»", "Sunshine LLC", True),
    # Decoys: another company beside the same legal form or the same English word.
    ("ОсОО «Ала-Тоо Трейдинг»", "Ala Trading LLC", False),  # Ala-Too is a name, not ТОО
    ("ОсОО «Тянь Шань Трейдинг»", "Tian Shan Mining LLC", False),
    ("МЧЖ «Шарқ Савдо»", "Sharq Oil MChJ", False),
    ("ՍՊԸ «Արարատ Կոնյակ»", "Ararat Bank", False),
    ("შპს «კავკასია»", "Kavkasia Trans LLC", False),
    ("Azer Trans MMC", "Azer Avto MMC", False),
    ("ЖШС «Алтын Дән»", "Altyn Tas LLP", False),
    ("Altyn Asyr HJ", "Altyn Ay HJ", False),
    ("H. J. Petrov", "Petrov", False),
    ("Жак Иванов", "Иванов", False),  # Жак is a given name, not ЖАК (a closed JSC)
    ("ТОО «Гольф Стар»", "Gulf Star LLP", False),  # golf is not gulf
    ("ТОО «Стар Трейдинг»", "Star Trading Plus LLP", False),
    ("ТОО «Стил Групп»", "Steel Grain LLP", False),
    ("ООО «Юнайтед Электроникс»", "United Electric LLC", False),
    ("San Trading LLP", "Sun Trading LLP", False),
    ("ТОО «Трейдинг Хаус»", "Trading Group LLP", False),
    ("ТОО «Саншайн Фудс»", "Sunshine Foam LLP", False),
    ("ТОО «Кристал Бридж»", "Crystal Bird LLP", False),
    ("ТОО «Траст Лайн»", "Trust Lane LLP", False),
    ("Kuzmin Ivan", "Казмин Иван", False),  # the English reading is for English words only
    ("Pushkin Oleg", "Пашкин Олег", False),
    ("Tim Cook", "Тим Кук", True),  # Тим is a name too: the table leaves it alone
    ("Александр Грин", "Aleksandr Grin", True),  # Грин reads as Green and as itself
    ("ТОО «Грин Лайн»", "Green Line LLP", True),
    ("Aleksandr Grin", "Aleksandr Green", False),
    ("Ala-Too Trading LLC", "ОсОО «Ала-Тоо Трейдинг»", True),
    # Тоо between two words of a name is a word of it, written without its hyphen: one
    # name keeps it (Ala-Too), the other drops it as the form ТОО; at an edge it is the form
    ("Ala Too Agromash LLC", "ОсОО «Ала-Тоо Агромаш»", True),
    ("ТОО «Ала Тоо Агромаш»", "Ala-Too Agromash", True),
    ("ТОО «Ала Агромаш»", "Ala-Too Agromash LLC", False),
    ("TOO Ala Agromash", "Ala-Too Agromash", False),
    # Latin u is u in Central Asian names: Sultanov is Султанов, never Салтанов (the English
    # reading of u as а is for English words, which the table lists: Траст is Trust)
    ("Sultanov Marat", "Салтанов Марат", False),
    ("Sultan Invest LLP", "ТОО «Салтан Инвест»", False),
    ("Kundyz Agro LLP", "ТОО «Кандыз Агро»", False),
    ("Sunkar Trade LLP", "ТОО «Санкар Трейд»", False),
    ("Султанов Марат", "Sultanov Marat", True),
    ("Ala Agromash TOO", "ОсОО «Ала-Тоо Агромаш»", False),
]

# Correctly labelled pairs that compare() gets wrong at DEFAULT_THRESHOLD.
# They stay in the set and count against precision/recall; per-pair tests
# mark them xfail(strict=True) so a fix in names.py shows up as XPASS.
KNOWN_MISSES: dict[tuple[str, str], str] = {}


def _true_pairs() -> list[tuple[str, str]]:
    pairs = [p for g in TRUE_GROUPS for p in itertools.combinations(g, 2)]
    return pairs + [(a, b) for a, b, ok in LABELLED + MORE_LABELLED + REGION_LABELLED if ok]


def _decoy_pairs() -> list[tuple[str, str]]:
    return [(a, b) for a, b, ok in LABELLED + MORE_LABELLED + REGION_LABELLED if not ok]


def _all_labelled() -> list[tuple[str, str, bool]]:
    return [(a, b, True) for a, b in _true_pairs()] + [(a, b, False) for a, b in _decoy_pairs()]


def _with_known_misses(pairs: list[tuple[str, str]]) -> list[object]:
    return [
        pytest.param(a, b, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[(a, b)]))
        if (a, b) in KNOWN_MISSES
        else pytest.param(a, b)
        for a, b in pairs
    ]


@pytest.mark.parametrize(("a", "b"), _with_known_misses(_true_pairs()))
def test_true_pairs_match(a: str, b: str) -> None:
    result = compare(a, b)
    assert result.score >= DEFAULT_THRESHOLD, result.detail
    assert is_match(a, b)


@pytest.mark.parametrize(("a", "b"), _with_known_misses(_decoy_pairs()))
def test_decoys_do_not_match(a: str, b: str) -> None:
    result = compare(a, b)
    assert result.score < DEFAULT_THRESHOLD, result.detail
    assert not is_match(a, b)


def test_labelled_set_size() -> None:
    labelled = _all_labelled()
    assert len(labelled) >= 160
    assert len(set(labelled)) == len(labelled), "duplicate labelled pairs"
    assert all((a, b) in set(_true_pairs()) | set(_decoy_pairs()) for a, b in KNOWN_MISSES)


def test_labelled_set_precision_and_recall() -> None:
    """Issue #12's bar: precision and recall 1.0 at DEFAULT_THRESHOLD, over every labelled pair."""
    labelled = _all_labelled()
    scored = [(a, b, ok, compare(a, b).score) for a, b, ok in labelled]
    tp = sum(1 for *_, ok, s in scored if ok and s >= DEFAULT_THRESHOLD)
    fp = sum(1 for *_, ok, s in scored if not ok and s >= DEFAULT_THRESHOLD)
    fn = sum(1 for *_, ok, s in scored if ok and s < DEFAULT_THRESHOLD)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    wrong = [
        f"  {'missed true' if ok else 'matched decoy'} {s:.3f}: {a!r} vs {b!r}"
        for a, b, ok, s in scored
        if ok != (s >= DEFAULT_THRESHOLD)
    ]
    message = (
        f"precision {precision:.4f} (tp={tp}, fp={fp}), recall {recall:.4f} (fn={fn}) "
        f"over {len(labelled)} pairs at threshold {DEFAULT_THRESHOLD}; misclassified:\n" + "\n".join(wrong)
    )
    assert precision == 1.0, message
    assert recall == 1.0, message


def test_threshold_margins() -> None:
    """Keep a visible gap between the worst true pair and the best decoy.

    Measured on the original 92-pair calibration set (TRUE_GROUPS + LABELLED)
    that DEFAULT_THRESHOLD was tuned on; the wider MORE_LABELLED set does not
    keep this margin (see KNOWN_MISSES and the precision/recall test).
    """
    pairs = [p for g in TRUE_GROUPS for p in itertools.combinations(g, 2)]
    original = [(a, b, True) for a, b in pairs] + LABELLED
    worst_true = min(compare(a, b).score for a, b, ok in original if ok)
    best_decoy = max(compare(a, b).score for a, b, ok in original if not ok)
    assert worst_true >= DEFAULT_THRESHOLD + 0.015
    assert best_decoy <= DEFAULT_THRESHOLD - 0.015


@pytest.mark.parametrize(("a", "b"), _true_pairs())
def test_blocking_keys_shared_on_true_pairs(a: str, b: str) -> None:
    assert blocking_keys(a) & blocking_keys(b)


def test_patronymic_is_reported() -> None:
    result = compare("Гольдберг Илья Маркович", "Ilya Goldberg")
    assert result.score == 1.0
    assert "patronymic 'markovich' ignored" in result.detail
    kazakh = compare("Нұрлан Серікұлы Әбдірахманов", "Nurlan Abdirakhmanov")
    assert "patronymic" in kazakh.detail


def test_initials_are_capped_and_reported() -> None:
    result = compare("Goldberg I. M.", "Ilya Goldberg")
    assert result.score < DEFAULT_THRESHOLD
    assert "initials only" in result.detail
    full = compare("Goldberg I. M.", "Goldberg Ilya Markovich")
    assert 0.0 < full.score < DEFAULT_THRESHOLD
    assert "initials only" in full.detail


def test_extra_token_is_penalised_not_zeroed() -> None:
    result = compare("Aspan Arba Plus", "Aspan Arba")
    assert 0.5 < result.score < DEFAULT_THRESHOLD
    assert "'plus'" in result.detail


def test_typo_tolerance() -> None:
    assert is_match("Goldbreg", "Goldberg")
    assert not is_match("Goldman", "Goldberg")


def test_soft_legal_form_ignored_as_extra() -> None:
    result = compare("Acme AG", "Acme")
    assert result.score == 1.0
    assert "legal form 'ag' ignored" in result.detail


def test_name_match_is_frozen() -> None:
    result = compare("Ilya Goldberg", "Ilya Goldberg")
    assert isinstance(result, NameMatch)
    with pytest.raises(AttributeError):
        result.score = 0.5  # type: ignore[misc]


def test_normalize() -> None:
    assert normalize("ООО «Небесная  Механика»") == "ооо небесная механика"
    assert normalize('"Aspan-Arba",  LLP.') == "aspan arba llp"
    assert normalize("O'Brien") == "obrien"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ТОО «Аспан Арба»", "аспан арба"),
        ("Aspan Arba TOO", "aspan arba"),
        ("Aspan Arba LLP", "aspan arba"),
        ("Небесная Механика LLC", "небесная механика"),
        ("Acme GmbH & Co. KG", "acme"),
        ("Товарищество с ограниченной ответственностью «Аспан Арба»", "аспан арба"),
        ("IP Ivanov Ivan", "ivanov ivan"),
        ("Ip Man", "ip man"),
        ("ООО", "ооо"),
    ],
)
def test_strip_legal_forms(raw: str, expected: str) -> None:
    assert strip_legal_forms(raw) == expected


def test_transliterate_drops_soft_signs() -> None:
    assert transliterate("Илья Гольдберг") == "ilya goldberg"
    assert transliterate("Объект") == "obekt"


def test_tokens_sorted_and_clean() -> None:
    assert tokens("GOLDBERG, Ilya") == ["goldberg", "ilya"]
    assert tokens("ТОО «Аспан Арба»") == ["arba", "aspan"]
    assert tokens("Нұрлан Серік ұлы Әбдірахманов") == ["abdirakhmanov", "nurlan", "serikuly"]


def test_fold_variants() -> None:
    assert "ilia" in fold_variants("ilja")
    assert "ilia" in fold_variants("ilya")
    assert "mehanika" in fold_variants("mejanica")
    assert "shaposhnikov" in fold_variants("schaposchnikow")
    assert "shaposhnikov" in fold_variants("chapochnikov")
    assert "mihail" in fold_variants("michail")
    assert fold_variants("Schaposchnikow") == fold_variants("schaposchnikow")
    assert "ilia" in fold_variants("Илья")
    assert fold_variants("--") == set()


def test_empty_inputs() -> None:
    assert tokens("") == []
    assert compare("", "Ilya").score == 0.0
    assert compare("", "").score == 0.0
    assert blocking_keys("") == set()


# Names built from letters of several scripts plus separators.
_letters = st.characters(categories=("Lu", "Ll", "Lo", "Lm", "Mn", "Nd"))
_name = st.text(alphabet=st.one_of(_letters, st.sampled_from(" .,-«»'\"")), min_size=1, max_size=30).filter(
    lambda s: any(ch.isalpha() for ch in s)
)


@settings(max_examples=300, deadline=None)
@given(_name)
def test_self_compare_is_perfect(name: str) -> None:
    assert compare(name, name).score == 1.0


@settings(max_examples=300, deadline=None)
@given(_name, _name)
def test_compare_is_symmetric(a: str, b: str) -> None:
    assert abs(compare(a, b).score - compare(b, a).score) <= 1e-9


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([n for g in TRUE_GROUPS for n in g] + ["Goldberg I. M.", "Ivan"]),
        min_size=2,
        max_size=2,
    )
)
def test_symmetric_on_realistic_names(pair: list[str]) -> None:
    a, b = pair
    assert abs(compare(a, b).score - compare(b, a).score) <= 1e-9


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_tokens_never_raise(text: str) -> None:
    toks = tokens(text)
    assert toks == sorted(toks)
    assert all(toks)
    assert isinstance(blocking_keys(text), set)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(_name, _name)
def test_score_in_unit_interval(a: str, b: str) -> None:
    assert 0.0 <= compare(a, b).score <= 1.0


@pytest.mark.parametrize(
    ("a", "b", "weak"),
    [
        ("Goldberg I. M.", "Гольдберг Илья Маркович", True),
        ("Goldberg I. M.", "Ilya Goldberg", True),  # the lone M. stands for the patronymic
        ("Goldberg I.", "Goldberg Igor", True),
        ("Goldberg I. M.", "Goldman Ilya", False),
        ("I. M.", "Ilya Markov", False),
        ("Ilya Goldberg", "Iliá Goldberg", False),  # a full match is not a weak one
        ("Goldberg I. M. Plus", "Ilya Goldberg", False),
        # an initial is never glued to a surname that ends in its letter (Petrenko+O reads
        # as Petrenko once doubled letters fold): O. stays Oleg, N. the patronymic
        ("Petrenko O. N.", "Petrenko Oleg", True),
        ("O. N. Petrenko", "Oleg Petrenko", True),
        ("Ivanov V. P.", "Ivanov Viktor", True),
        ("Kim M. S.", "Kim Marat", True),
        ("Shevchenko O. I.", "Шевченко Олена", True),
    ],
)
def test_initials_match_is_weak_evidence_only(a: str, b: str, weak: bool) -> None:
    from customs_rules.entities.names import initials_match

    result = compare(a, b)
    assert initials_match(result) is weak
    if weak:
        assert result.score < DEFAULT_THRESHOLD and result.full_score >= DEFAULT_THRESHOLD
