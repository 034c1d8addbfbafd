"""Generate a seeded, realistic campaign CSV (name, phone, city, content) for the benchmarks.

The mix is what a large marketing list looks like: numbers from 15 countries (mostly the
provider's bare international digits, some "+", spaced, dashed or "00" forms), about 3.5% of
rows with a broken number (national form, too short or long, letters, Excel's scientific
notation, unknown prefix, empty), 0.5% of cells with two numbers, about 2% exact duplicate rows
and 1% repeated numbers with another text. Content is mostly English (some personalised, some
two segments, some with curly quotes that force UCS-2) and some Chinese. The `name` column makes
the file usable with a template too: `--template "Hi {{ name }}, ..."`.

    python benchmarks/make_data.py --rows 1000000   # writes benchmarks/data/campaign-1000000-s1.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

__all__ = ["COLUMNS", "DATA_DIR", "data_path", "ensure", "generate"]

DATA_DIR = Path(__file__).resolve().parent / "data"
COLUMNS = ("name", "phone", "city", "content")
DEFAULT_SEED = 1

# (calling code, mobile prefixes, digits after the prefix, weight, cities, share of Chinese text).
# Every prefix/length pair was checked against phonenumbers 9.0: all such numbers are valid.
_COUNTRIES: tuple[tuple[str, tuple[str, ...], int, int, tuple[str, ...], float], ...] = (
    ("86", ("130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
            "156", "158", "159", "180", "182", "185", "186", "187", "188", "189"), 8, 25,
     ("北京", "上海", "广州", "深圳", "杭州", "成都", "Shanghai", "Beijing"), 0.6),
    ("1", ("212", "213", "310", "312", "415", "646", "617", "702", "305", "206"), -7, 15,
     ("New York", "Los Angeles", "Chicago", "San Francisco", "Boston", "Seattle"), 0.02),
    ("44", ("7400", "7500", "7712", "7534", "7800", "7900"), 6, 8,
     ("London", "Manchester", "Leeds", "Glasgow"), 0.01),
    ("91", ("98", "99", "97", "94", "70", "88", "90", "63"), 8, 9,
     ("Mumbai", "Delhi", "Bengaluru", "Chennai"), 0.0),
    ("62", ("812", "813", "821", "822", "852", "857", "878", "896"), 8, 7,
     ("Jakarta", "Surabaya", "Bandung"), 0.0),
    ("60", ("12", "16", "19"), 7, 6, ("Kuala Lumpur", "Penang", "Johor Bahru"), 0.2),
    ("63", ("917", "918", "905", "906", "927", "998"), 7, 5, ("Manila", "Cebu", "Davao"), 0.0),
    ("84", ("90", "91", "93", "94", "96", "97", "98", "32", "35", "38"), 7, 5,
     ("Hanoi", "Ho Chi Minh City", "Da Nang"), 0.0),
    ("55", ("119", "219", "319", "619", "479"), 8, 4, ("São Paulo", "Rio de Janeiro"), 0.0),
    ("52", ("55", "33", "81"), 8, 3, ("Ciudad de México", "Guadalajara", "Monterrey"), 0.0),
    ("49", ("151", "152", "160", "170", "171", "176"), 8, 3, ("Berlin", "München", "Köln"), 0.0),
    ("234", ("803", "805", "806", "807", "813", "816"), 7, 2, ("Lagos", "Abuja"), 0.0),
    ("971", ("50", "52", "54", "55", "56", "58"), 7, 2, ("Dubai", "Abu Dhabi"), 0.0),
    ("65", ("81", "82", "85", "87", "88", "91", "93", "96", "97", "98"), 6, 3, ("Singapore",), 0.3),
    ("66", ("8", "9"), 8, 3, ("Bangkok", "Chiang Mai", "Phuket"), 0.0),
)  # fmt: skip
_WEIGHTS = [c[3] for c in _COUNTRIES]

_FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "Wei",
          "Aisha", "Carlos", "Priya", "Nguyen", "Siti", "Ahmed", "Sofia", "Lucas", "Hana", "Ravi",
          "Emma", "Olivia", "Noah", "Liam", "Ana", "Juan", "Fatima", "Ken", "Mei")  # fmt: skip
_LAST = ("Smith", "Johnson", "Garcia", "Tan", "Lim", "Kumar", "Singh", "Wong", "Santos",
         "Müller", "Okafor", "Reyes", "Tran", "Silva", "Hernández", "Brown", "Lee", "Khan",
         "Rahman")  # fmt: skip
_ZH_SURNAME = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_ZH_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

# Personalised texts are unique per row (no cache helps); generic ones repeat across the list.
_EN_PERSONAL = (
    "Hi {name}, your order {order} has shipped and arrives {day}. Track it: acme.example/t/{code}",
    "{name}, 20% off everything this weekend only! Use code {code} at checkout. Reply STOP to opt "
    "out",
    "Your ACME verification code is {otp}. It expires in 10 minutes. Never share it.",
    "Reminder: your appointment in {city} is on {day} at {hour}:00. Reply Y to confirm or N to "
    "cancel.",
    "Dear {name}, thank you for shopping with ACME in {city}. As a member you now have {points} "
    "points. Spend them on anything in store or online before the end of the month, and enjoy "
    "free delivery on orders over 50. Details: acme.example/m/{code}",  # two segments
    "Don’t miss out, {name}! Your “VIP” voucher {code} is waiting.",  # curly quotes: UCS-2
)
_EN_GENERIC = (
    "Flash sale: 2 for 1 on all shoes today only. Shop now at acme.example/sale",
    "ACME: our stores close at 6pm on public holidays. Online orders ship as usual.",
    "Your parcel is out for delivery today between 9:00 and 18:00.",
    "New arrivals are in! See the autumn collection at acme.example/new. Reply STOP to opt out",
    "ACME Bank: a payment of 49.90 was made with your card ending 4821. Not you? Call us.",
    "Summer clearance up to 70% off. Ends Sunday. acme.example/clearance",
)
_ZH_PERSONAL = (
    "【ACME】{name}您好，您的订单{order}已发货，预计{zh_day}送达。",
    "【ACME】您的验证码是{otp}，10分钟内有效，请勿泄露。",
    "【ACME】尊敬的{name}，您在{city}的预约时间为{zh_day}{hour}点，回复Y确认。",
)
_ZH_GENERIC = (
    "【ACME】双十一大促，全场五折起，满199包邮，回复TD退订",
    "【ACME】会员日来啦！积分翻倍，门店与线上同享。回复TD退订",
)


def data_path(rows: int, seed: int = DEFAULT_SEED) -> Path:
    """Where the file for `rows` rows and `seed` lives (benchmarks/data/ is git-ignored)."""
    return DATA_DIR / f"campaign-{rows}-s{seed}.csv"


def _digits(rng: random.Random, count: int) -> str:
    return f"{rng.randrange(10**count):0{count}d}"


def _number(rng: random.Random, country: tuple[str, tuple[str, ...], int, int, tuple[str, ...],
            float]) -> tuple[str, str]:  # fmt: skip
    """A valid mobile number: (calling code, national number)."""
    code, prefixes, rest = country[0], country[1], country[2]
    if rest < 0:  # NANP: the exchange may not start with 0 or 1
        national = rng.choice(prefixes) + str(rng.randint(2, 9)) + _digits(rng, -rest - 1)
    else:
        national = rng.choice(prefixes) + _digits(rng, rest)
    return code, national


def _written(rng: random.Random, code: str, national: str) -> str:
    """The number as people write it in a sheet: mostly bare international digits."""
    roll = rng.random()
    if roll < 0.80:
        return code + national
    if roll < 0.92:
        return f"+{code}{national}"
    if roll < 0.96:
        return f"+{code} {national[:3]} {national[3:7]} {national[7:]}".rstrip()
    if roll < 0.98:
        return f"00{code}{national}"
    return f"+{code}-{national[:3]}-{national[3:]}"


def _broken(rng: random.Random, code: str, national: str) -> str:
    """A number pre-flight must reject, of one of the kinds real lists carry."""
    kind = rng.randrange(7)
    if kind == 0:
        return "0" + national  # national form, no country code
    if kind == 1:
        return (code + national)[:7]  # too short
    if kind == 2:
        return code + national + _digits(rng, 16 - len(code + national))  # too long
    if kind == 3:
        full = code + national
        return full[:5] + "ABC" + full[8:]  # letters
    if kind == 4:
        return f"{int(code + national):.5E}"  # Excel's scientific notation
    if kind == 5:
        return "8612" + _digits(rng, 9)  # no Chinese number starts with 12
    return ""


def _name(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return rng.choice(_ZH_SURNAME) + "".join(rng.choices(_ZH_GIVEN, k=rng.randint(1, 2)))
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _content(rng: random.Random, name: str, city: str, chinese: bool) -> str:
    personal = rng.random() < 0.6
    if chinese:
        pattern = rng.choice(_ZH_PERSONAL if personal else _ZH_GENERIC)
    else:
        pattern = rng.choice(_EN_PERSONAL if personal else _EN_GENERIC)
    if not personal:
        return pattern
    return pattern.format(
        name=name,
        city=city,
        order=f"A{rng.randrange(10**7):07d}",
        code="".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=6)),
        otp=_digits(rng, 6),
        day=rng.choice(_DAYS),
        zh_day=rng.choice(_ZH_DAYS),
        hour=rng.randint(9, 18),
        points=rng.randrange(100, 10_000),
    )


def generate(path: Path, rows: int, seed: int = DEFAULT_SEED) -> Path:
    """Write `rows` data rows (plus the header) to `path`; the same seed gives the same bytes."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    recent: list[list[str]] = []  # earlier rows, the source of duplicates
    temp = path.with_name(path.name + ".tmp")
    with temp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for _ in range(rows):
            roll = rng.random()
            if recent and roll < 0.02:  # the same row again: a duplicate
                writer.writerow(rng.choice(recent))
                continue
            country = rng.choices(_COUNTRIES, _WEIGHTS)[0]
            chinese = rng.random() < country[5]
            name = _name(rng, chinese)
            city = rng.choice(country[4])
            code, national = _number(rng, country)
            if recent and roll < 0.03:  # a number seen before, with another text
                phone = rng.choice(recent)[1]
            elif roll < 0.065:
                phone = _broken(rng, code, national)
            elif roll < 0.07:
                other = _number(rng, rng.choices(_COUNTRIES, _WEIGHTS)[0])
                phone = f"{code}{national}{rng.choice(';,')}{other[0]}{other[1]}"
            else:
                phone = _written(rng, code, national)
            record = [name, phone, city, _content(rng, name, city, chinese)]
            writer.writerow(record)
            if len(recent) < 10_000:
                recent.append(record)
            else:
                recent[rng.randrange(10_000)] = record
    temp.replace(path)
    return path


def ensure(rows: int, seed: int = DEFAULT_SEED) -> Path:
    """The data file for `rows` and `seed`, generated first if it is not there yet."""
    path = data_path(rows, seed)
    if not path.exists():
        generate(path, rows, seed)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: generate the file and say where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows [1,000,000]")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed [1]")
    parser.add_argument("--out", type=Path, help="output path [benchmarks/data/campaign-N-sS.csv]")
    args = parser.parse_args(argv)
    path = args.out or data_path(args.rows, args.seed)
    start = time.perf_counter()
    generate(path, args.rows, args.seed)
    seconds = time.perf_counter() - start
    size = path.stat().st_size / 1e6
    print(f"{path}: {args.rows:,} rows, {size:.1f} MB in {seconds:.1f} s", file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
