# Legal forms in Cyrillic, Armenian and Georgian are the point of this module.
# ruff: noqa: RUF001
"""Legal forms that a company name carries beside the name itself (ООО, LLP, ОсОО, ՍՊԸ...).

Data only, phrases separated by "|", read by `name_text.strip_legal_forms`.
"""

# Always removed, wherever they occur.
HARD = (
    "ооо|тоо|оао|зао|пао|ао|нао|ип|чп|тов|пат|прат|одо|жшс|жк|кх|ано|гуп|муп"
    "|фгуп|общество с ограниченной ответственностью"
    "|товарищество с ограниченной ответственностью|акционерное общество"
    "|открытое акционерное общество|закрытое акционерное общество"
    "|публичное акционерное общество|непубличное акционерное общество"
    "|индивидуальный предприниматель|крестьянское хозяйство"
    "|крестьянское фермерское хозяйство|частное предприятие"
    "|жауапкершілігі шектеулі серіктестік|жауапкершілігі шектеулі серіктестігі"
    "|акционерлік қоғам|акционерлік қоғамы|жеке кәсіпкер"
    "|ooo|too|oao|tov|llp|llc|jsc|pjsc|cjsc|ojsc|gmbh|ltd|inc|corp|plc|limited"
    "|incorporated|corporation|sarl|srl|sprl|bvba|fzco|fze|fzc|dmcc|kft|zrt"
    "|sro|doo|l l c|l l p|j s c|co ltd|gmbh co kg|pte ltd|pvt ltd|pty ltd"
    "|sp z o o|s r o|limited liability company|limited liability partnership"
    "|joint stock company|open joint stock company|closed joint stock company"
    "|public joint stock company|individual entrepreneur|sole proprietor"
)
# Also plausible name tokens (Ip, Zao, Ag, Ақ 'white'): only removed at the
# edges of a name that keeps >= 2 tokens, and ignored as extras in compare().
SOFT = "ip|ao|pao|zao|ag|sa|as|kg|co|ab|oy|nv|bv|se|spa|ug|lp|company|ақ|aq|s a|s a s|s p a|a s|b v|n v"

# Central Asia and the Caucasus (issue #12). Abbreviations are written once, in Latin: a
# token in another script is also looked up by its transliteration (ОсОО -> osoo, МЧЖ ->
# mchzh, ՍՊԸ -> spy, ҶДММ -> jdmm, შპს -> shps, ЖАҚ -> zhaq, ХЖ -> khzh; Kazakh Latin JShS, JAQ).
REGIONAL_HARD = "osoo|zhchk|mchzh|mchj|m ch j|m ch zh|jdmm|chdmm|zhshs|jshs|shps|bby|pby|qsc|agpj|ygpj|xk"
# Full wordings, in their own script: looked up as written and as they transliterate.
REGIONAL_PHRASES = (
    "жоопкерчилиги чектелген коом|жоопкерчилиги чектелген коому|ачык акционердик коом"
    "|жабык акционердик коом|акционердик коом|масъулияти чекланган жамият|масъулияти чекланган жамияти"
    "|mas'uliyati cheklangan jamiyat|mas'uliyati cheklangan jamiyati|aksiyadorlik jamiyati"
    "|ҷамъияти дорои масъулияти маҳдуд|ҷамъияти саҳомӣ|жабық акционерлік қоғам"
    "|սահմանափակ պատասխանատվությամբ ընկերություն|փակ բաժնետիրական ընկերություն"
    "|բաց բաժնետիրական ընկերություն|məhdud məsuliyyətli cəmiyyət|açıq səhmdar cəmiyyəti"
    "|qapalı səhmdar cəmiyyəti|შეზღუდული პასუხისმგებლობის საზოგადოება|სააქციო საზოგადოება"
    "|hojalyk jemgyýeti|хозяйственное общество|paýdarlar jemgyýeti"
)
# Short ones that are also initials or words (HJ, SPY, MMC): at the edges only. Not ЖАК
# (Kyrgyz closed JSC): Жак is a given name, and a soft form is ignored as an extra token.
REGIONAL_SOFT = "spy|spe|mmc|asc|aj|hj|hk|khzh|khk|zhaq|jaq|aak|jsk|jsp|ss|adz|სს|ი მ"
