"""Write samples/campaign.csv, campaign.xlsx and suppress.csv (run from the repository root).

The rows are a small realistic campaign: many countries, English, Chinese and emoji text, and one
row for each problem batch-sms must catch (see PROBLEMS). In the xlsx, phone cells holding only
digits are stored as numbers, as happens when Excel users type or paste them.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import phonenumbers

HERE = Path(__file__).resolve().parent
COLUMNS = ("name", "phone", "country", "code", "content")
SUPPRESSED = "+44 7400 123457"

GREETING = "Hi {name}, your code is {code}. Reply STOP to opt out."
PROMO = (
    "Hi {name}! Our spring sale starts today: 20% off everything in store and online until "
    "Sunday. Show this message at the till or use code SPRING20 at checkout. Reply STOP to opt out."
)
# name, phone as a user would type it, country, code, content
ROWS: list[tuple[str, str, str, str, str]] = [
    ("Alice Chen", "+86 139 1234 5678", "CN", "4821", GREETING),
    ("王芳", "8618612345678", "CN", "3951", "您好{name}，您的验证码是{code}，5分钟内有效。"),
    ("李雷", "+86 150 8888 6666", "CN", "7710", "尊敬的{name}：会员日全场八折 🎉 回复TD退订"),
    ("Bob Smith", "+1 201-555-0123", "US", "1180", GREETING),
    ("Carol White", "12125550187", "US", "2290", PROMO),
    ("Dan Brown", "+1 (415) 555-0132", "US", "3301", "{name}, your parcel is on its way 🚚"),
    ("Émilie Roy", "+1 506 234 5678", "CA", "4412", "Bonjour {name}, votre code est {code}."),
    ("Frank Li", "16135550199", "CA", "5523", GREETING),
    ("Grace Hall", "+44 7400 123456", "GB", "6634", "We’re open late tonight, {name}!"),
    ("Harry Jones", SUPPRESSED, "GB", "7745", GREETING),
    ("Siti Aminah", "+60 12-345 6789", "MY", "8856", "Hai {name}, kod anda ialah {code}."),
    ("Ahmad Zaki", "60198765432", "MY", "9967", GREETING),
    ("Tan Wei Ling", "+65 8123 4567", "SG", "1078", GREETING),
    ("陈美玲", "6591234567", "SG", "2189", "{name}您好，您的预约已确认 ✅"),
    ("Jörg Müller", "+49 1512 3456789", "DE", "3290", "Hallo {name}, Ihr Code lautet {code}."),
    ("Anna Schmidt", "491701234567", "DE", "4301", PROMO),
    ("Priya Sharma", "+91 81234 56789", "IN", "5412", GREETING),
    ("Rahul Verma", "919876543210", "IN", "6523", "{name}, your OTP is {code} 🔐"),
    ("João Silva", "+55 11 96123-4567", "BR", "7634", "Olá {name}, seu código é {code}."),
    ("Maria Souza", "5521987654321", "BR", "8745", GREETING),
    ("Liam Wilson", "+61 412 345 678", "AU", "9856", GREETING),
    ("佐藤 健", "+81 90-1234-5678", "JP", "1967", "{name}様、認証コードは{code}です。"),
    ("Chloé Martin", "+33 6 12 34 56 78", "FR", "2078", "Bonjour {name} 👋 code {code}"),
    # The problems, one each.
    ("Short Number", "+86 138 0013", "CN", "3189", GREETING),
    ("Alice Chen", "8613912345678", "CN", "4821", GREETING),
    ("张伟", "13812345678", "CN", "5290", "您好{name}，您的验证码是{code}，5分钟内有效。"),
    ("Excel Victim", "8.61509E+12", "CN", "6301", GREETING),
    ('=HYPERLINK("https://example.com","Click me")', "+8613700001111", "CN", "7412", GREETING),
    ("Olivia Park", "+8613512349876", "CN", "8523", "+50% more points this week, {name}!"),
]
PROBLEMS = {
    "+86 138 0013": "too short: invalid",
    "8613912345678": "same number and text as row 2: duplicate",
    "13812345678": "national CN number: valid only with --default-region CN",
    "8.61509E+12": "destroyed by Excel: invalid",
    SUPPRESSED: "on samples/suppress.csv: suppressed",
}


def rows() -> list[tuple[str, str, str, str, str]]:
    """Return the sample rows with their content filled in."""
    return [(n, p, c, k, text.format(name=n, code=k)) for n, p, c, k, text in ROWS]


def check() -> None:
    """Fail unless every phone that is meant to be valid is, and the problems are as described."""
    for _, phone, country, _, _ in ROWS:
        if phone in PROBLEMS and phone != SUPPRESSED:
            continue
        number = phonenumbers.parse(phone if phone.startswith("+") else f"+{phone}")
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == country, phone
    assert phonenumbers.is_valid_number(phonenumbers.parse("13812345678", "CN"))
    assert not phonenumbers.is_valid_number(phonenumbers.parse("+86 138 0013"))


def write_csv(path: Path) -> None:
    """Write the rows as Excel's "CSV UTF-8" (with a BOM, so Excel shows the Chinese right)."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows())


def write_xlsx(path: Path) -> None:
    """Write the rows to an xlsx, digit-only phones as numbers and every other cell as text."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Contacts"
    ws.append(COLUMNS)
    for r, row in enumerate(rows(), 2):
        for c, value in enumerate(row, 1):
            if c == 2 and value.isdigit():
                ws.cell(r, c, int(value)).number_format = "0"
            else:
                # Text that starts with "=" would otherwise be stored as a formula.
                ws.cell(r, c, value).data_type = "s"
    widths = {"A": 28, "B": 20, "C": 8, "D": 8, "E": 60}
    for column, width in widths.items():
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Return the xlsx with fixed timestamps, so regenerating it changes no bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:\w+ [^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", body)
            entry = zipfile.ZipInfo(info.filename, (2024, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()


def main() -> None:
    """Check the rows and write the sample files."""
    check()
    write_csv(HERE / "campaign.csv")
    write_xlsx(HERE / "campaign.xlsx")
    (HERE / "suppress.csv").write_text(f"phone\n{SUPPRESSED}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
