"""Reason codes: rows grouped by the kind of problem, each keeping its own full sentence."""

from __future__ import annotations

from helpers import preflight_of

from batch_sms.checks.reasons import REASONS
from batch_sms.report.results import ResultRow
from batch_sms.report.summary import SummaryInfo, Tally, summary_lines


def test_top_reasons_group_rows_by_kind_with_example_rows() -> None:
    messages = preflight_of("many_reasons.csv", default_region="CN").messages
    assert [m.reason for m in messages] == (
        ["phone_landline"] * 12 + ["phone_junk"] * 3 + ["", "duplicate", "content_empty"]
    )
    tally = Tally()
    for m in messages:
        tally.add(ResultRow(m.row, (m.raw_phone, m.content), m.status, error=m.error))
    lines = summary_lines(SummaryInfo(run_id="r"), tally, len(messages) + 1)
    reasons = [values for kind, values in lines if kind == "reason"]
    assert reasons == [
        (f"{REASONS['phone_landline']} [phone_landline]", 12, "2, 3, 4, 5, 6"),
        (f"{REASONS['phone_junk']} [phone_junk]", 3, "14, 15, 16"),
        (f"{REASONS['duplicate']} [duplicate]", 1, "18"),
        (f"{REASONS['content_empty']} [content_empty]", 1, "19"),
    ]
    # Each row keeps its own full sentence.
    assert messages[0].error.startswith('phone "010-62345670" cannot receive SMS (landline)')
