"""Write the pre-flight checks' input fixtures into tests/data/ (deterministic; commit the output).

Run from the repository root: `python tests/data/make_check_fixtures.py`. tests/test_preflight.py
(with test_columns.py, test_reasons.py and test_cli_input.py) says what each file must give.
The writers are make_fixtures.py's, so the bytes are as stable.
"""

from __future__ import annotations

from make_fixtures import write_text, write_xlsx

# Numbers as people paste them from web pages, chats and CRMs (read with --default-region CN),
# and the verdict each must get: "ready", or a phrase of the reason it is invalid.
PASTED = [
    ("\u200b+8613812345601", "ready"),  # zero-width space copied from a web page
    ("+86 138\u200b1234\u200d5602", "ready"),  # zero-width space and joiner inside
    ("\ufeff13812345603", "ready"),  # a BOM glued to the number
    ("\t13812345604\t", "ready"),  # tabs around it
    ("\u200e+8613812345605\u200f", "ready"),  # direction marks from a right-to-left page
    ("\u2060138 1234 5606", "ready"),  # word joiner
    ("+86\u2212138\u22121234\u22125607", "ready"),  # minus signs
    ("138\u20131234\u20135608", "ready"),  # en dashes (a word processor's autocorrect)
    ("138\u20141234\u20155609", "ready"),  # em dash and horizontal bar
    ("138\ufe631234\uff0d5610", "ready"),  # small and full-width hyphen-minus
    ("138\u20101234\u20115611", "ready"),  # hyphen and non-breaking hyphen
    ("+008613812345612", "ready"),  # "+" and "00" both written
    ("13812345613...", 'ends in "..."'),  # trailing junk
    ("+86 138 1234 5614.", 'ends in "."'),
    ("010-62345678", "cannot receive SMS (landline)"),  # Beijing landline
    ("+1 800 234 5678", "cannot receive SMS (toll-free number)"),
    ("+44 909 879 0000", "cannot receive SMS (premium-rate number)"),
    ("10086", "is a short code"),
    ("+44 7400 123457", "ready"),  # a GB mobile
    ("+1 201 555 0123", "ready"),  # a US "fixed line or mobile" number
]


def main() -> None:
    lines = ["phone,content,expect"]
    quoted = [(phone, expect.replace('"', '""')) for phone, expect in PASTED]
    lines += [f'"{phone}",Your parcel is on its way,"{expect}"' for phone, expect in quoted]
    write_text("phones_as_pasted.csv", "\n".join(lines) + "\n", "utf-8")
    write_text(
        "mobile_and_phone.csv",
        "Name,Phone,Mobile,content\n"
        "Li Wei,010-62345678,13812345621,Your order has shipped\n"
        "Wang Fang,021-62345678,13812345622,Your order has shipped\n",
        "utf-8",
    )
    write_text(
        "phone_number_twice.csv",
        "phone number,phonenumber,content\n+8613812345631,+8613812345632,Hello\n",
        "utf-8",
    )
    write_text(
        "header_spellings.csv",
        "Name,MobileNumber,Message\nLi Wei,+8613812345641,Hello\n",
        "utf-8",
    )
    # Numbers as a spreadsheet holds them: number cells, one rounded by Excel (8.61391E+12 saved
    # again), and text cells, one ending in zeros by right, one in European scientific notation.
    write_xlsx(
        "excel_rounded.xlsx",
        [
            (
                "Sheet1",
                [
                    ("name", "phone", "content"),
                    ("Number cell", 8613812345651, "Your parcel is on its way"),
                    ("Rounded number cell", 8613910000000, "Your parcel is on its way"),
                    ("Text cell, zeros", "8613910000000", "Your parcel is on its way"),
                    ("European notation", "8,61391E+12", "Your parcel is on its way"),
                    ("National number cell", 13812345655, "Your parcel is on its way"),
                ],
            )
        ],
    )


if __name__ == "__main__":
    main()
