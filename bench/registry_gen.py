"""Realistic rows of an office's registry export (the CSV that notifyd syncs).

Shared by ``bench/make_registry.py`` (N-row exports for the sync benchmark) and
``scripts/make_sample_registry.py`` (the small demo registry). Standard library and
``phonenumbers`` only.

Rows are built fast, without parsing a phone number per row: mobile numbers come from
known-valid ranges (``MOBILE_RANGES``) and Indonesian ones are formatted by hand;
``check_ranges()`` checks with ``phonenumbers`` that the ranges are valid.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

import phonenumbers

COLUMNS = (
    "registry_id", "full_name", "nationality", "passport_number", "permit_type",
    "permit_number", "expiry_date", "phone", "whatsapp", "language", "channels",
    "opted_out", "office",
)  # fmt: skip

#: Kinds of deliberately bad row, each bad for one reason.
BAD_KINDS = (
    "bad_date",
    "invalid_phone",
    "unknown_nationality",
    "missing_permit",
    "premium_rate",
    "duplicate_permit",
    "unknown_channel",
)

T = TypeVar("T")


def office_today(timezone: str = "Asia/Jakarta") -> date:
    """Today where the office is (the machine's clock may run in UTC, 7 hours behind)."""
    return datetime.now(ZoneInfo(timezone)).date()


class Weighted(Generic[T]):
    """A weighted choice, by bisecting cumulative weights (cheaper than random.choices)."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in items]
        self.cum = list(itertools.accumulate(weight for _, weight in items))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


def digits(rng: random.Random, n: int) -> str:
    """n random decimal digits (n <= 15)."""
    return f"{int(rng.random() * 10**n):0{n}d}"


_PATTERNS: dict[str, list[str]] = {}


def fill(pattern: str, rng: random.Random) -> str:
    """Replace each '#' by a digit and each '@' by a capital letter."""
    runs = _PATTERNS.get(pattern)
    if runs is None:
        runs = _PATTERNS[pattern] = [m.group(0) for m in re.finditer(r"#+|@|[^#@]+", pattern)]
    out = []
    for run in runs:
        if run[0] == "#":
            out.append(digits(rng, len(run)))
        elif run == "@":
            out.append(chr(65 + int(rng.random() * 26)))
        else:
            out.append(run)
    return "".join(out)


# --- names ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Culture:
    """How people of one naming tradition are called; `pattern` uses {g} given, {s} surname."""

    given: tuple[str, ...]
    surnames: tuple[str, ...]
    pattern: str = "{g} {s}"
    given_f: tuple[str, ...] = ()  # female given names, when the surname or pattern differs
    pattern_f: str = ""
    surname_f_suffix: str = ""  # Петров → Петрова
    comma_form: bool = False  # exports sometimes write "SURNAME, Given" (a quoted CSV cell)

    def name(self, rng: random.Random, surname: str | None = None) -> tuple[str, str]:
        """A full name and its (base) surname; pass a surname to name a family member."""
        s = (
            surname
            if surname is not None
            else self.surnames[int(rng.random() * len(self.surnames))]
        )
        female = bool(self.given_f) and rng.random() < 0.5
        pool = self.given_f if female else self.given
        g = pool[int(rng.random() * len(pool))]
        shown = s + self.surname_f_suffix if female and self.surname_f_suffix else s
        pattern = self.pattern_f if female and self.pattern_f else self.pattern
        if self.comma_form and rng.random() < 0.03:
            return f"{shown.upper()}, {g}", s
        return pattern.format(g=g, s=shown), s


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _wl(text: str) -> tuple[str, ...]:
    """Split on '|' (for names that contain spaces)."""
    return tuple(part.strip() for part in text.split("|"))


HAN_SC = Culture(
    _w("伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 浩然 子涵 欣怡 宇轩"),
    _w("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 高 罗"),
    "{s}{g}",
)
PINYIN = Culture(
    _w("WEI FANG NA XIUYING MIN JING QIANG LEI JUN YONG YAN JIE JUAN TAO MING CHAO HAORAN ZIHAN"),
    _w("WANG LI ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU SUN MA ZHU HU GUO HE LIN GAO LUO"),
    "{s} {g}",
)
HAN_TC = Culture(
    _w("怡君 雅婷 志明 俊傑 家豪 淑芬 建宏 冠宇 詩涵 宗翰 美玲 承恩"),
    _w("陳 林 黃 張 李 王 吳 劉 蔡 楊 許 鄭"),
    "{s}{g}",
)
JAPANESE = Culture(
    _w("花子 太郎 翔太 陽菜 結衣 大輝 美咲 健太 さくら 蓮 悠真 葵 拓海 凛"),
    _w("佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田"),
    "{s} {g}",
)
ROMAJI = Culture(
    _w("HANAKO TARO SHOTA HINA YUI DAIKI MISAKI KENTA SAKURA REN YUMA AOI"),
    _w("SATO SUZUKI TAKAHASHI TANAKA ITO WATANABE YAMAMOTO NAKAMURA KOBAYASHI KATO"),
    "{s} {g}",
)
HANGUL = Culture(
    _w("민준 서연 지우 서준 하은 도윤 지호 수아 예준 지민 현우 유진"),
    _w("김 이 박 최 정 강 조 윤 장 임 한 오"),
    "{s}{g}",
)
KOREAN_LATIN = Culture(
    _w("MIN-JUN SEO-YEON JI-WOO SEO-JUN HA-EUN DO-YUN JI-HO SU-A YE-JUN JI-MIN"),
    _w("KIM LEE PARK CHOI JUNG KANG CHO YOON JANG LIM"),
    "{s} {g}",
)
ARABIC = Culture(
    _w("محمد أحمد علي عمر يوسف خالد عبدالله إبراهيم"),
    _w("العلي الأحمد القحطاني الغامدي العتيبي الزهراني الشمري الحربي"),
    given_f=_w("فاطمة عائشة مريم سارة نورة هند"),
)
EGYPTIAN = Culture(
    _w("محمد أحمد محمود مصطفى حسن طارق كريم"),
    _w("المصري حسن عبدالرحمن سليمان إبراهيم الشريف فؤاد"),
    given_f=_w("منى ياسمين دينا هبة نادية"),
)
ARABIC_LATIN = Culture(
    _w("MOHAMMED AHMED ALI OMAR YOUSEF KHALED ABDULLAH FATIMA NOURA SARA"),
    _w("AL-ALI AL-AHMED AL-QAHTANI AL-GHAMDI AL-OTAIBI AL-ZAHRANI AL-SHAMMARI"),
)
CYRILLIC = Culture(
    _w("Иван Алексей Дмитрий Сергей Андрей Михаил Николай"),
    _w("Петров Иванов Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков"),
    given_f=_w("Анна Мария Ольга Елена Наталья Татьяна Екатерина"),
    surname_f_suffix="а",
)
RUSSIAN_LATIN = Culture(
    _w("IVAN ALEKSEI DMITRII SERGEI ANDREI MIKHAIL"),
    _w("PETROV IVANOV SMIRNOV KUZNETSOV POPOV SOKOLOV"),
    given_f=_w("ANNA MARIIA OLGA ELENA NATALIA"),
    surname_f_suffix="A",
)
DEVANAGARI = Culture(
    _w("राहुल अमित विकास संजय अर्जुन रोहन"),
    _w("शर्मा पटेल कुमार सिंह गुप्ता वर्मा जोशी मेहता"),
    given_f=_w("प्रिया सुनीता अंजलि पूजा कविता नेहा"),
)
INDIAN_LATIN = Culture(
    _w("Rahul Amit Vikas Sanjay Arjun Priya Sunita Anjali Pooja Kavita"),
    _w("Sharma Patel Kumar Singh Gupta Verma Joshi Mehta Iyer Reddy"),
)
MALAY = Culture(
    _w("Ahmad Muhammad Faizal Hafiz Zulkifli Azman"),
    _w("Ismail Hassan Abdullah Rahman Yusof Osman"),
    "{g} bin {s}",
    given_f=_w("Siti Nurul Aisyah Farah Zainab"),
    pattern_f="{g} binti {s}",
)
MALAYSIAN_CHINESE = Culture(
    _wl("Wei Ming | Mei Ling | Jun Hao | Hui Min | Kah Wai | Siew Lan"),
    _w("Tan Lim Lee Ng Ong Goh Chua Wong"),
    "{s} {g}",
)
SINGAPOREAN = Culture(
    _wl("Wei Ling | Jun Jie | Hui Min | Kai Xiang | Xin Yi | Zhi Hao"),
    _w("Tan Lim Lee Ng Ong Goh Chua Teo"),
    "{s} {g}",
)
THAI = Culture(
    _w("สมชาย สมศรี วิชัย มาลี ประเสริฐ สุดา อนันต์ กัญญา"),
    _w("ใจดี ศรีสุข วงศ์ไทย บุญมา แสงทอง รัตนพันธ์"),
)
VIETNAMESE = Culture(
    _wl("Văn An | Thị Lan | Minh Tuấn | Thu Hà | Quốc Bảo | Ngọc Anh | Đức Huy"),
    _w("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Đặng"),
    "{s} {g}",
)
FILIPINO = Culture(
    _w("Maria José Juan Ana Mark Kristine Jericho Rosario Ma.Luisa"),
    _wl("Santos | Reyes | dela Cruz | Bautista | Garcia | Mendoza | Villanueva | Ocampo"),
)
ENGLISH = Culture(
    _w("James Olivia Jack Charlotte William Amelia Noah Chloé Zoë Liam Renée Seán Siobhán Isla"),
    _w("Smith Jones Williams Brown Wilson O'Connor Taylor Murphy MacDonald Nguyen Harris"),
    comma_form=True,
)
AMERICAN = Culture(
    _w("Michael Emily Daniel Sophia Matthew Madison José Mía Tyler Aaliyah"),
    _w("Johnson Miller Davis García Rodríguez Martínez Anderson Thompson Walker"),
    comma_form=True,
)
DUTCH = Culture(
    _w("Daan Sophie Lotte Bram Fenna Sem Joël Noë Maarten Eline"),
    _wl("de Vries | van den Berg | Jansen | Bakker | Visser | Smit | van Dijk | de Jong"),
    comma_form=True,
)
GERMAN = Culture(
    _w("Jürgen Lukas Lena Jörg Mia Björn Sören Anja Käthe José"),
    _w("Müller Schmidt Schneider Fischer Weber Schäfer Meyer Wagner Köhler Groß"),
    comma_form=True,
)
FRENCH = Culture(
    _w("François Élodie Chloé Théo Léa Jérôme Hélène Gaël Inès Mathéo"),
    _w("Dubois Lefèvre Moreau Girard Rousseau Mercier Bernard Fontaine Lemaître"),
    comma_form=True,
)
TIMORESE = Culture(
    _w("João Maria Agostinho Fernanda Zélia Mateus Joaquim Rosa"),
    _wl("da Costa | Soares | Ximenes | Guterres | dos Santos | Pereira | Belo"),
)


# --- phones --------------------------------------------------------------------------------


def _prefixes(spec: str) -> list[str]:
    """'400-403 412' → ['400', '401', '402', '403', '412']."""
    out: list[str] = []
    for part in spec.split():
        lo, _, hi = part.partition("-")
        out.extend(str(p) for p in range(int(lo), int(hi or lo) + 1))
    return out


#: Indonesian mobile prefixes (after the trunk 0): Telkomsel, Indosat, XL, Axis, Tri, Smartfren.
ID_PREFIXES = Weighted(
    [(p, 3.0) for p in _prefixes("811-813 821-823 852 853")]
    + [(p, 2.0) for p in _prefixes("814-816 855-858 817-819 859 877 878")]
    + [(p, 1.0) for p in _prefixes("831-833 838 895-899")]
    + [(p, 0.5) for p in _prefixes("881-889")]
)


def _mobile(length: int, spec: str) -> list[tuple[str, int]]:
    return [(p, length) for p in _prefixes(spec)]


def _us_prefixes(areas: str) -> str:
    """NANP: an area code, then an exchange that starts with 2-9."""
    return " ".join(f"{a}2-{a}9" for a in areas.split())


#: Foreign mobile ranges: region → list of (prefix of the national number, its full length).
MOBILE_RANGES: dict[str, list[tuple[str, int]]] = {
    "CN": _mobile(11, "130-133 135-139 150-152 155 158 159 186-189"),
    "TW": _mobile(9, "910 912 918 920 921 928 932 937 952 958 963 975 988"),
    "JP": _mobile(10, "701-709 801-809 901-909"),
    "KR": _mobile(10, "100-104 106-109 1050-1058"),  # not 010-59xx
    "IN": _mobile(10, "70 90 91 94 96-99"),
    "MY": _mobile(9, "12 16 19 131-139 171-179") + _mobile(10, "111-115"),
    "SG": _mobile(8, "81-88 90-94 96-98"),
    "PH": _mobile(10, "905 906 915 917-920 927 939 945 977 995"),
    "TH": _mobile(9, "61-65 81-89 91-95"),
    "VN": _mobile(9, "32-39 70 76-79 83 90 91 93 94 96-98"),
    "AU": _mobile(9, "400-409 412-435 437-439 447-452 455-459 466-470 473-478 481 487 488 490 491"),
    "US": _mobile(10, _us_prefixes("201 212 213 305 310 312 415 503 512 617 646 702 713 808 917")),
    "GB": _mobile(10, "740-743 745-754 756-759 771-790 792-799"),
    "NL": _mobile(9, "61-65"),
    "DE": _mobile(11, "151 152 157 159 160 162 163 170-179"),
    "FR": _mobile(9, "60-62 64-68 73-78"),
    "RU": _mobile(10, "900-906 908-922 925-929 950-953 960-965 977 978 980-983 985 987-989"),
    "SA": _mobile(9, "50 53-56 58 59"),
    "EG": _mobile(10, "10-12 15"),
    "TL": _mobile(8, "77 78"),
}

#: Not valid in Indonesia nor in any nationality's region.
INVALID_PHONES = ("0812-34", "12345", "+62 812 34", "0000-0000", "+62 812 3456 7890 123")
# with +62: written 0809…, the number is also a mobile in Japan, India or Germany
PREMIUM_FORMS = ("+62 809 {a} {b}", "+62809{a}{b}", "+62 809-{a}-{b}")
BAD_DATES = ("31/02/2027", "next year", "2027-13-05", "30-02-2026", "31/04/2026", "TBA")
UNKNOWN_NATIONALITIES = ("Atlantis", "Wakanda", "Elbonia")
UNKNOWN_CHANNELS = ("pigeon", "sms,pigeon")  # the phone of a bad row is a valid mobile

# how an Indonesian number is written: in the phone column, and (if different) for WhatsApp
ID_PHONE_STYLES = Weighted(
    [("dash", 30.0), ("intl", 20.0), ("cc", 8.0), ("plain", 37.0), ("e164", 5.0)]
)
ID_WA_STYLES = Weighted(
    [("plain", 30.0), ("intl", 20.0), ("e164", 20.0), ("wa", 15.0), ("dash", 15.0)]
)


def format_id(nn: str, style: str) -> str:
    """An Indonesian national number ('8123456789[0]') written in one of the usual ways."""
    a, b, c = nn[:3], nn[3:7], nn[7:]
    if style == "dash":
        return f"0{a}-{b}-{c}"
    if style == "intl":
        return f"+62 {a} {b} {c}"
    if style == "cc":
        return f"62 {a} {b} {c}"
    if style == "e164":
        return f"+62{nn}"
    if style == "wa":
        return f"62{nn}"
    return f"0{nn}"


def id_mobile(rng: random.Random) -> str:
    """A national significant number of an Indonesian mobile: 10 or 11 digits."""
    prefix = ID_PREFIXES.pick(rng)
    return prefix + digits(rng, 8 if rng.random() < 0.7 else 7)


def foreign_mobile(rng: random.Random, region: str) -> str:
    """The national significant number of a mobile in one of the region's valid ranges."""
    ranges = MOBILE_RANGES[region]
    prefix, length = ranges[int(rng.random() * len(ranges))]
    return prefix + digits(rng, length - len(prefix))


_COUNTRY_CODES = {region: phonenumbers.country_code_for_region(region) for region in MOBILE_RANGES}
_Template = tuple[list[str], list[int]]
_TEMPLATES: dict[tuple[str, str, int], _Template | None] = {}


def _template(text: str, nn: str) -> _Template | None:
    """'+61 412 345 678' → literals ['+61 ', ' ', ' ', ''] and digit group lengths [3, 3, 3]."""
    code, _, rest = text.partition(" ")
    pieces = re.split(r"(\d+)", rest)
    groups = pieces[1::2]
    if "".join(groups) != nn:
        return None
    literals = pieces[0::2]
    literals[0] = code + " " + literals[0]
    return literals, [len(g) for g in groups]


def format_foreign(region: str, nn: str, rng: random.Random) -> str:
    """A foreign mobile written internationally: '+61 412 345 678' or (a fifth) '+61412345678'.

    phonenumbers' layout is computed once per region, leading digits and length, then reused.
    """
    code = _COUNTRY_CODES[region]
    if rng.random() < 0.2:
        return f"+{code}{nn}"
    key = (region, nn[:4], len(nn))
    if key not in _TEMPLATES:
        number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nn))
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        _TEMPLATES[key] = _template(text, nn)
    template = _TEMPLATES[key]
    if template is None:
        number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nn))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    literals, lengths = template
    out = [literals[0]]
    start = 0
    for literal, length in zip(literals[1:], lengths, strict=True):
        out.append(nn[start : start + length])
        out.append(literal)
        start += length
    return "".join(out)


def national_form(region: str, nn: str) -> str | None:
    """The number as a national of `region` writes it, without country code, if that form
    is valid in `region` and not valid in Indonesia (so only the nationality hint makes sense
    of it); otherwise None."""
    number = phonenumbers.PhoneNumber(country_code=_COUNTRY_CODES[region], national_number=int(nn))
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    try:
        in_id = phonenumbers.is_valid_number(phonenumbers.parse(text, "ID"))
    except phonenumbers.NumberParseException:
        in_id = False
    if in_id:
        return None
    try:
        home = phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return None
    return text if home else None


def is_valid(text: str, region: str = "ID") -> bool:
    """phonenumbers' verdict, False for text it cannot parse."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


def check_ranges(rng: random.Random, samples: int = 3) -> list[str]:
    """Numbers from the mobile ranges that phonenumbers does not take for valid mobiles.

    Samples `samples` numbers under every two-digit extension of every prefix, so a
    sub-range that is not allocated (say Korea's 010-59xx) shows up. Empty when all is well.
    """
    mobile = {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    ranges = [("ID", p, n) for p in ID_PREFIXES.values for n in (10, 11)]
    ranges += [(region, p, n) for region, rs in MOBILE_RANGES.items() for p, n in rs]
    problems = []
    for region, prefix, length in ranges:
        code = phonenumbers.country_code_for_region(region)
        for ext in range(100):
            for _ in range(samples):
                nn = f"{prefix}{ext:02d}{digits(rng, length - len(prefix) - 2)}"
                number = phonenumbers.PhoneNumber(country_code=code, national_number=int(nn))
                if not phonenumbers.is_valid_number(number) or (
                    phonenumbers.number_type(number) not in mobile
                ):
                    problems.append(f"{region} +{code} {nn}")
    return problems


# --- nationalities -------------------------------------------------------------------------


@dataclass(frozen=True)
class Nationality:
    """A nationality as exports write it, with its naming cultures and phone habits."""

    alpha2: str
    alpha3: str
    english: str  # a name pycountry.countries.lookup() resolves
    cultures: Weighted[Culture]
    languages: tuple[str, ...]  # tags that appear in the language column
    passports: tuple[str, ...]  # passport number patterns for fill()
    home_phone: float  # share whose phone is a home-country mobile (else Indonesian)
    national_form: bool = False  # some write their home number without a country code

    def written(self, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.85:
            return self.alpha2
        return self.alpha3 if r < 0.93 else self.english


# alpha-2 alpha-3 English name | language tags seen | passport patterns | share with a home
# phone | whether some write that phone without country code
_NATIONALITY_TABLE = """
CN CHN China              | zh zh en | E######## EA#######          | 0.15 |
TW TWN Taiwan             | zh       | 3########                    | 0.18 |
JP JPN Japan              | ja       | TK####### TR#######          | 0.18 | national
KR KOR South Korea        | ko       | M########                    | 0.18 | national
IN IND India              | hi en en | @#######                     | 0.12 |
MY MYS Malaysia           | ms en    | A########                    | 0.18 |
SG SGP Singapore          | en zh    | K#######@                    | 0.18 |
PH PHL Philippines        | en       | P#######@                    | 0.09 |
TH THA Thailand           | en       | AA#######                    | 0.12 |
VN VNM Viet Nam           | en       | C#######                     | 0.12 |
AU AUS Australia          | en       | PA####### PB####### N####### | 0.18 | national
US USA United States      | en       | #########                    | 0.18 |
GB GBR United Kingdom     | en       | #########                    | 0.18 | national
NL NLD Netherlands        | en       | N@@#####@                    | 0.18 | national
DE DEU Germany            | de en    | C@@######                    | 0.18 | national
FR FRA France             | fr       | ##@@#####                    | 0.18 | national
RU RUS Russian Federation | ru       | 7########                    | 0.18 |
SA SAU Saudi Arabia       | ar       | @########                    | 0.18 |
EG EGY Egypt              | ar en    | A########                    | 0.15 |
TL TLS Timor-Leste        | id en    | P#######                     | 0.12 |
"""
_CULTURES: dict[str, list[tuple[Culture, float]]] = {
    "CN": [(HAN_SC, 7), (PINYIN, 3)],
    "TW": [(HAN_TC, 1)],
    "JP": [(JAPANESE, 7), (ROMAJI, 3)],
    "KR": [(HANGUL, 7), (KOREAN_LATIN, 3)],
    "IN": [(DEVANAGARI, 4), (INDIAN_LATIN, 6)],
    "MY": [(MALAY, 6), (MALAYSIAN_CHINESE, 4)],
    "SG": [(SINGAPOREAN, 1)],
    "PH": [(FILIPINO, 1)],
    "TH": [(THAI, 1)],
    "VN": [(VIETNAMESE, 1)],
    "AU": [(ENGLISH, 1)],
    "US": [(AMERICAN, 1)],
    "GB": [(ENGLISH, 1)],
    "NL": [(DUTCH, 1)],
    "DE": [(GERMAN, 1)],
    "FR": [(FRENCH, 1)],
    "RU": [(CYRILLIC, 7), (RUSSIAN_LATIN, 3)],
    "SA": [(ARABIC, 6), (ARABIC_LATIN, 4)],
    "EG": [(EGYPTIAN, 7), (ARABIC_LATIN, 3)],
    "TL": [(TIMORESE, 1)],
}


def _nationalities() -> dict[str, Nationality]:
    out = {}
    for line in _NATIONALITY_TABLE.strip().splitlines():
        names, languages, passports, home, national = (part.strip() for part in line.split("|"))
        a2, a3, english = names.split(" ", 2)
        out[a2] = Nationality(
            a2, a3, english, Weighted(_CULTURES[a2]), _w(languages), _w(passports),
            float(home), national == "national",
        )  # fmt: skip
    return out


NATIONALITIES = _nationalities()

#: Foreigners registered at a provincial office (East Java): who is common.
NATIONALITY_MIX = Weighted(
    [
        (NATIONALITIES[c], w)
        for c, w in (
            ("CN", 18), ("KR", 8), ("JP", 8), ("AU", 7), ("MY", 7), ("IN", 6), ("US", 5),
            ("PH", 5), ("TW", 4), ("SG", 3), ("NL", 4), ("DE", 4), ("GB", 4), ("FR", 3),
            ("RU", 4), ("TH", 2), ("VN", 2), ("SA", 3), ("EG", 1), ("TL", 2),
        )
    ]
)  # fmt: skip


# --- permits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermitType:
    label: str
    code: str  # first characters of the permit number
    horizon: int  # permits of this type expire within this many days
    family: bool = False


PERMIT_TYPES = Weighted(
    [
        (PermitType("ITAS Work", "2C11", 730), 28),
        (PermitType("ITAS Family", "2C12", 730, family=True), 16),
        (PermitType("ITAS Investor", "2C21", 730), 9),
        (PermitType("ITAS Student", "2C31", 365), 5),
        (PermitType("ITAS Retirement", "2C41", 365), 5),
        (PermitType("KITAS Work", "2C11", 730), 6),
        (PermitType("KITAS Family", "2C12", 730, family=True), 4),
        (PermitType("ITAP", "2D11", 1825), 6),
        (PermitType("KITAP", "2D12", 1825), 4),
        (PermitType("Visa on Arrival Extension", "1B21", 60), 8),
        (PermitType("Second Home Visa", "2E33", 3650), 2),
    ]
)
FAMILY_TYPES = [
    PermitType("ITAS Family", "2C12", 730, True),
    PermitType("KITAS Family", "2C12", 730, True),
]

# permit numbers: the core "AB1234" is a bijection of the row's sequence number, so unique
_PERMIT_SPACE = 26 * 26 * 10000
_PERMIT_MUL = 1_234_567  # coprime with _PERMIT_SPACE (= 2^6 5^4 13^2)
MAX_ROWS = _PERMIT_SPACE

DATE_STYLES = Weighted([(0, 70.0), (1, 20.0), (2, 10.0)])  # ISO, DD/MM/YYYY, DD-MM-YYYY
_DATE_RE = {
    0: re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    1: re.compile(r"^\d{2}/\d{2}/\d{4}$"),
    2: re.compile(r"^\d{2}-\d{2}-\d{4}$"),
}
_DATE_FORMATS = {0: "%Y-%m-%d", 1: "%d/%m/%Y", 2: "%d-%m-%Y"}


def write_date(d: date, style: int) -> str:
    return d.strftime(_DATE_FORMATS[style])


def read_date(text: str) -> tuple[date, int] | None:
    """The date and its style, for the three forms the generator writes; None otherwise."""
    for style, pattern in _DATE_RE.items():
        if pattern.match(text):
            try:
                return datetime.strptime(text, _DATE_FORMATS[style]).date(), style
            except ValueError:
                return None
    return None


# --- rows ----------------------------------------------------------------------------------


@dataclass
class _Person:
    """What a family member copies from the previous row."""

    nationality: Nationality
    written: str
    culture: Culture
    surname: str
    phone: str
    whatsapp: str
    expiry: int
    permit_number: str
    office: str
    language: str


class RowFactory:
    """Makes registry rows one at a time, in constant memory.

    Every row gets the next registry id and a unique permit number; a share of rows are
    family members of the row before (same surname, phone and expiry date).
    """

    def __init__(
        self,
        rng: random.Random,
        today: date,
        *,
        office: str = "BLT",
        office_share: float = 0.85,
        id_width: int = 6,
        family_share: float = 0.05,
    ) -> None:
        self.rng = rng
        self.today = today
        self.office = office
        self.office_share = office_share
        self.id_width = id_width
        self.family_share = family_share
        self.seq = 0
        self._permit_offset = int(rng.random() * _PERMIT_SPACE)
        self.last: _Person | None = None
        self._dates: dict[int, tuple[str, str, str, int]] = {}

    # -- pieces --

    def _date(self, offset: int) -> tuple[str, str, str, int]:
        """The date `offset` days from today in the three styles, and its year (cached)."""
        cached = self._dates.get(offset)
        if cached is None:
            d = self.today + timedelta(days=offset)
            cached = (write_date(d, 0), write_date(d, 1), write_date(d, 2), d.year)
            self._dates[offset] = cached
        return cached

    def date_text(self, offset: int, style: int | None = None) -> str:
        return self._date(offset)[DATE_STYLES.pick(self.rng) if style is None else style]

    def permit_number(self, ptype: PermitType, expiry: int) -> str:
        """Unique per row: the core 'AB1234' is a bijection of the row's sequence number."""
        core = (self.seq * _PERMIT_MUL + self._permit_offset) % _PERMIT_SPACE
        letters, num = divmod(core, 10000)
        a, b = divmod(letters, 26)
        year = self._date(expiry - min(ptype.horizon, 365))[3]
        return f"{ptype.code}{chr(65 + a)}{chr(65 + b)}{num:04d}-{year % 100:02d}"

    def expiry_offset(self, ptype: PermitType) -> int:
        rng = self.rng
        if rng.random() < 0.02:
            return -1 - int(rng.random() * 60)  # recently expired, still in the export
        return int(rng.random() * (ptype.horizon + 1))

    def phone_for(self, nat: Nationality, kind: str | None = None) -> tuple[str, str, str]:
        """(phone, kind, national number), kind being 'id', 'foreign', 'national' or 'none'."""
        rng = self.rng
        if kind is None:
            r = rng.random()
            if r < 0.01:
                kind = "none"
            elif r < 0.01 + nat.home_phone:
                kind = "national" if nat.national_form and rng.random() < 0.08 else "foreign"
            else:
                kind = "id"
        if kind == "id":
            nn = id_mobile(rng)
            return format_id(nn, ID_PHONE_STYLES.pick(rng)), kind, nn
        if kind == "none":
            return "", kind, ""
        nn = foreign_mobile(rng, nat.alpha2)
        if kind == "national":
            text = national_form(nat.alpha2, nn)
            if text is not None:
                return text, kind, nn
            kind = "foreign"
        return format_foreign(nat.alpha2, nn, rng), kind, nn

    # -- rows --

    def row(
        self,
        bad: str | None = None,
        *,
        nationality: str | None = None,
        expiry: int | None = None,
        phone_kind: str | None = None,
        whatsapp: str | None = None,
        language: str | None = None,
        channels: str | None = None,
        opted_out: str | None = None,
        office: str | None = None,
        permit_type: str | None = None,
        family: bool | None = None,
        date_style: int | None = None,
    ) -> tuple[dict[str, str], str]:
        """One row and, for a deliberately bad one (`bad` one of BAD_KINDS), why it is bad
        ('' for a good row).

        The keywords pin parts of a good row: nationality (alpha-2), expiry (days from
        today), phone_kind ('id', 'foreign', 'national', 'none'), whatsapp ('none', 'same',
        'other'), language, channels, opted_out, office, permit_type (a label of
        PERMIT_TYPES; by default one whose horizon allows the expiry), family (a family
        member of the
        previous good row: same surname, phone and expiry), date_style (0 ISO, 1 DD/MM/YYYY,
        2 DD-MM-YYYY). What is not pinned is drawn at random.
        """
        rng = self.rng
        self.seq += 1
        last = self.last
        if family is None:
            family = bad is None and rng.random() < self.family_share
        if family and last is not None:
            nat, written, culture = last.nationality, last.written, last.culture
            name, surname = culture.name(rng, last.surname)
            ptype = FAMILY_TYPES[int(rng.random() * len(FAMILY_TYPES))]
            days = last.expiry
            phone = last.phone
            wa = last.whatsapp if rng.random() < 0.8 or not phone else ""
            office, language = last.office, last.language
        else:
            nat = NATIONALITIES[nationality] if nationality else NATIONALITY_MIX.pick(rng)
            written = nat.written(rng)
            culture = nat.cultures.pick(rng)
            name, surname = culture.name(rng)
            ptype = self._permit_type(permit_type, expiry)
            days = self.expiry_offset(ptype) if expiry is None else expiry
            phone, kind, nn = self.phone_for(nat, "id" if bad else phone_kind)
            wa = self._whatsapp(nat, phone, kind, nn, whatsapp)
            if office is None:
                office = self.office if rng.random() < self.office_share else ""
            if language is None:
                language = ""
                if rng.random() < 0.1:
                    language = nat.languages[int(rng.random() * len(nat.languages))]
        if channels is None:
            channels = self._channels(phone, wa)
        if opted_out is None:
            opted_out = "yes" if rng.random() < 0.003 else ""
        permit = self.permit_number(ptype, days)
        passport = nat.passports[int(rng.random() * len(nat.passports))]
        row = {
            "registry_id": f"{self.office or 'REG'}-{self.seq:0{self.id_width}d}",
            "full_name": name,
            "nationality": written,
            "passport_number": fill(passport, rng),
            "permit_type": ptype.label,
            "permit_number": permit,
            "expiry_date": self.date_text(days, date_style),
            "phone": phone,
            "whatsapp": wa,
            "language": language,
            "channels": channels,
            "opted_out": opted_out,
            "office": office,
        }
        if bad:
            return row, self.spoil(row, bad)
        self.last = _Person(
            nat, written, culture, surname, phone, wa, days, permit, office, language
        )
        return row, ""

    def _permit_type(self, label: str | None, expiry: int | None) -> PermitType:
        if label is not None:
            return next(t for t in PERMIT_TYPES.values if t.label == label)
        for _ in range(50):
            ptype = PERMIT_TYPES.pick(self.rng)
            if expiry is None or expiry <= ptype.horizon:
                return ptype
        return max(PERMIT_TYPES.values, key=lambda t: t.horizon)

    def _whatsapp(self, nat: Nationality, phone: str, kind: str, nn: str, want: str | None) -> str:
        rng = self.rng
        if kind == "none":
            want = "same"  # no phone: WhatsApp is the only way to reach them
        if want is None:
            r = rng.random()
            want = "none" if r < 0.5 else ("same" if r < 0.93 else "other")
        if want == "none":
            return ""
        if want == "other" or kind == "none":
            if rng.random() < 0.6 or kind == "none":
                return format_id(id_mobile(rng), ID_WA_STYLES.pick(rng))
            return format_foreign(nat.alpha2, foreign_mobile(rng, nat.alpha2), rng)
        if kind == "id":
            return format_id(nn, ID_WA_STYLES.pick(rng))
        if kind == "national":
            return phone
        return format_foreign(nat.alpha2, nn, rng)

    def _channels(self, phone: str, whatsapp: str) -> str:
        r = self.rng.random()
        if phone and whatsapp:
            if r < 0.04:
                return "whatsapp,sms"
            if r < 0.06:
                return "sms"
            if r < 0.07:
                return "sms,whatsapp"
        elif phone and r < 0.03:
            return "sms"
        elif whatsapp and r < 0.02:
            return "whatsapp"
        return ""

    def spoil(self, row: dict[str, str], kind: str) -> str:
        """Make a good row bad for exactly one reason; return that reason."""
        rng = self.rng
        if kind == "bad_date":
            row["expiry_date"] = value = BAD_DATES[int(rng.random() * len(BAD_DATES))]
            return f"expiry_date {value!r} is not a date"
        if kind == "invalid_phone":
            row["phone"] = value = INVALID_PHONES[int(rng.random() * len(INVALID_PHONES))]
            row["whatsapp"] = row["channels"] = ""
            return f"phone {value!r} is not a valid number, and there is no WhatsApp number"
        if kind == "unknown_nationality":
            value = UNKNOWN_NATIONALITIES[int(rng.random() * len(UNKNOWN_NATIONALITIES))]
            row["nationality"] = value
            return f"nationality {value!r} is not a country"
        if kind == "missing_permit":
            row["permit_number"] = ""
            return "permit_number is empty"
        if kind == "premium_rate":
            form = PREMIUM_FORMS[int(rng.random() * len(PREMIUM_FORMS))]
            row["phone"] = value = form.format(a=digits(rng, 3), b=digits(rng, 4))
            row["whatsapp"] = row["channels"] = ""
            return f"phone {value!r} is premium-rate (no SMS, no WhatsApp), and no other channel"
        if kind == "duplicate_permit":
            if self.last is None:
                raise ValueError("a duplicate permit number needs an earlier good row")
            row["permit_number"] = value = self.last.permit_number
            return f"permit_number {value!r} repeats an earlier row's"
        if kind == "unknown_channel":
            row["channels"] = value = UNKNOWN_CHANNELS[int(rng.random() * len(UNKNOWN_CHANNELS))]
            return f"channels {value!r} names a channel that does not exist ('pigeon')"
        raise ValueError(f"unknown kind of bad row: {kind}")
