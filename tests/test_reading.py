"""How the input was read: the description line and its place in the Summary."""

from __future__ import annotations

from pathlib import Path

from helpers import COLUMNS, rows_of, summary_pairs

from batch_sms.models import Status
from batch_sms.report.summary import SummaryInfo
from batch_sms.report.workbook import write_report


def test_input_description_line_and_summary(tmp_path: Path) -> None:
    from batch_sms.input.reading import describe_input, input_line

    read = describe_input(sheet="Customers", encoding=None, delimiter=None,
                          phone_column="Mobile", content_source="template")  # fmt: skip
    assert input_line("list.xlsx", read) == (
        'Read list.xlsx: sheet "Customers", phone column "Mobile", text from template'
    )
    tab = describe_input(sheet=None, encoding="cp1252", delimiter="\t", phone_column="Phone",
                         content_source='column "Text"')  # fmt: skip
    assert input_line("list.tsv", tab) == (
        'Read list.tsv: encoding cp1252, delimiter tab, phone column "Phone", '
        'text from column "Text"'
    )
    info = SummaryInfo(run_id="r", settings={"tps": 5, "input_read": read}, input_read=read)
    files = write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "xlsx")
    pairs = summary_pairs(files.report)
    assert pairs["Input sheet"] == '"Customers"'
    assert pairs["Input phone column"] == '"Mobile"'
    assert pairs["Input text from"] == "template"
    assert pairs["tps"] == "5"
    assert "input_read" not in pairs
