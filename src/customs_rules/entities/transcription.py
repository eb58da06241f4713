# Cyrillic renderings of English words are the point of this module, not confusables.
# ruff: noqa: RUF001
"""English words of company names written in Cyrillic (Трейдинг ~ Trading) and back.

Companies in the region borrow English trade words and write them as they sound:
"Tian Shan Trading" is registered as ОсОО «Тянь Шань Трейдинг», which a letter-by-letter
transliteration gives back as "Tyan Shan Treyding", one edit too far from "trading".
Two things join them (used by `names`):

- `TRADE_WORDS`, a curated table of common trade words and their Cyrillic renderings:
  a token that spells one of them (in Cyrillic, or transliterated back to Latin) is
  also read as the English word (and keeps its own reading: Грин is Green, and Grin);
- `english_fold`, a fallback for words the table lacks: an English spelling rewritten
  as a Russian speaker would write it (steel -> stil, impex -> impeks, bridge ->
  bridzh), scored only against a token written in another script. Its rules are English
  spellings only: English short u (gulf, trust: Галф, Траст) is left to the table, as
  Latin u is u in Central Asian names (Sultanov is Султанов, never Салтанов).
"""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii

# English word: its usual Cyrillic renderings, separated by spaces. Renderings that are
# also common given names (Тим, Марин, Сан) are left out: the table reads persons' names too.
TRADE_WORDS: dict[str, str] = {
    "trading": "трейдинг трэйдинг трейдин",
    "trade": "трейд трэйд",
    "trust": "траст",
    "traders": "трейдерс трэйдерс",
    "electronics": "электроникс электроникc электроникз",
    "electronic": "электроник",
    "electric": "электрик",
    "gulf": "галф гелф",
    "star": "стар",
    "stars": "старс",
    "impex": "импэкс импекс импэкc",
    "export": "экспорт",
    "import": "импорт",
    "steel": "стил",
    "group": "групп груп",
    "international": "интернешнл интернэшнл интернешнал интернэшнал интернейшнл",
    "logistics": "логистикс",
    "service": "сервис",
    "services": "сервисез сервисиз сервисес",
    "systems": "системс",
    "system": "систем",
    "technology": "текнолоджи технолоджи тэкнолоджи",
    "technologies": "текнолоджис технолоджис текнолоджиз технолоджиз",
    "tech": "тек тэк",
    "industries": "индастриз индастрис",
    "industrial": "индастриал",
    "holding": "холдинг",
    "invest": "инвест",
    "investment": "инвестмент",
    "investments": "инвестментс",
    "energy": "энерджи энэрджи енерджи",
    "capital": "кэпитал кепитал",
    "global": "глобал",
    "solutions": "солюшнс солюшенс солюшинс",
    "engineering": "инжиниринг инжинеринг энджиниринг",
    "consulting": "консалтинг",
    "development": "девелопмент",
    "management": "менеджмент",
    "company": "компани кампани",
    "motors": "моторс",
    "power": "пауэр пауер",
    "petroleum": "петролеум",
    "oil": "ойл",
    "chemical": "кемикал кемикл",
    "chemicals": "кемикалс кемиклс",
    "mining": "майнинг",
    "construction": "констракшн констракшен",
    "partners": "партнерс партнёрс партнэрс",
    "resources": "ресорсез ресорсиз рисорсез",
    "ventures": "венчурс",
    "commodities": "коммодитиз комодитиз",
    "supply": "саплай",
    "alliance": "альянс эллаенс",
    "united": "юнайтед",
    "general": "дженерал",
    "eurasia": "евразия юрейжа",
    "central": "сентрал",
    "east": "ист",
    "west": "вест",
    "north": "норт",
    "south": "саут",
    "silk": "силк",
    "road": "роуд",
    "way": "уэй вэй",
    "union": "юнион",
    "line": "лайн",
    "smart": "смарт",
    "best": "бест",
    "first": "ферст",
    "new": "нью",
    "world": "ворлд уорлд",
    "life": "лайф",
    "food": "фуд",
    "foods": "фудс",
    "cargo": "карго",
    "express": "экспресс",
    "freight": "фрейт",
    "shipping": "шиппинг",
    "ocean": "оушен оушн",
    "prime": "прайм",
    "royal": "роял",
    "golden": "голден",
    "gold": "голд",
    "silver": "сильвер",
    "diamond": "даймонд",
    "eagle": "игл",
    "sky": "скай",
    "king": "кинг",
    "green": "грин",
    "blue": "блю",
    "black": "блэк блек",
    "white": "уайт вайт",
    "standard": "стандард",
    "quality": "кволити",
    "premium": "премиум",
    "expert": "эксперт",
    "master": "мастер",
    "market": "маркет",
    "city": "сити",
    "house": "хаус",
    "home": "хоум",
    "plaza": "плаза",
    "bright": "брайт",
    "light": "лайт",
    "network": "нетворк",
    "solar": "солар",
    "machinery": "машинери",
    "equipment": "эквипмент",
    "parts": "партс",
    "auto": "авто",
    "agro": "агро",
}


def table_key(word: str) -> str:
    """What a rendering and its back-transliterations share: ASCII letters, y/j -> i,
    kh -> h, doubled letters collapsed (Трейдинг, Treyding and Treiding give one key)."""
    text = re.sub(r"[^a-z]", "", anyascii(word).lower())
    text = text.replace("kh", "h").replace("y", "i").replace("j", "i")
    return re.sub(r"(.)\1+", r"\1", text)


_BY_KEY: dict[str, str] = {
    table_key(rendering): english for english, block in TRADE_WORDS.items() for rendering in block.split()
}
# Back-transliterations that are themselves English words (star, sun, gold, vest) say
# nothing in Latin: only a token first written in Cyrillic is read through them.
_LATIN_AMBIGUOUS = frozenset(k for k in _BY_KEY if len(k) < 5 or k in TRADE_WORDS)


@lru_cache(maxsize=65536)
def english_word(token: str, latin: bool) -> str | None:
    """The English trade word this token spells, or None. `latin`: the token was written
    in Latin letters (then only unmistakable back-transliterations such as treiding count)."""
    key = table_key(token)
    if latin and key in _LATIN_AMBIGUOUS:
        return None
    return _BY_KEY.get(key)


_C = "bcdfgklmnprstvz"
# English spelling -> how it is written in Cyrillic, read back letter by letter. Applied
# in order; each one is a common, regular correspondence (not a word list).
_ENGLISH = [
    (re.compile(r"[ts]ion"), "shn"),  # station -> steishn, solution -> solushn
    (re.compile(r"dge"), "dzh"),  # bridge -> bridzh
    (re.compile(r"ee|ea"), "i"),  # steel -> stil, team -> tim
    (re.compile(r"oo"), "u"),  # food -> fud
    (re.compile(r"ph"), "f"),
    (re.compile(r"th"), "t"),
    (re.compile(r"wh"), "v"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"qu"), "kv"),
    (re.compile(r"x"), "ks"),  # impex -> impeks
    (re.compile(r"c(?=[eiy])"), "s"),  # service -> servis
    (re.compile(r"c"), "k"),  # electronics -> elektroniks
    (re.compile(rf"i(?=[{_C}]es?$)"), "ai"),  # line, prime -> lain, praim (before a -> ei: its i is not one)
    (re.compile(rf"a(?=[{_C}][ie])"), "ei"),  # trade, trading -> treid, treiding
    (re.compile(r"(?<=[a-z]{3})e(?=s?$)"), ""),  # the silent final e: trade -> treid
]


@lru_cache(maxsize=65536)
def english_fold(token: str) -> str:
    """An ASCII English word spelled as its Cyrillic rendering reads back in Latin."""
    for pattern, replacement in _ENGLISH:
        token = pattern.sub(replacement, token)
    return token
