"""batch_sms.web.views_campaign: the New campaign and Check pages: upload, options,
the pre-flight of `batch-sms validate`, its rows that will not be sent, paging and bad uploads."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from webclient import (
    COLUMNS,
    ROOT,
    SAMPLE,
    Client,
    check_of,
    confirmed,
    csrf_of,
    finished,
    form,
    run,
    upload,
    web_settings,
)

from batch_sms.cli import cli
from batch_sms.web import WebConfig
from batch_sms.web.views_campaign import PAGE_ROWS

OPTIONS = {**COLUMNS, "tps": "10"}


def text(html: str) -> str:
    """A page's text without tags, spaces collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def checked(
    client: Client, name: str, content: bytes, *files: tuple[str, str, bytes], **fields: str
) -> tuple[Any, str]:
    """Upload a file, post its options, and return the check's answer and page text."""
    csrf = await csrf_of(client)
    uploaded = await upload(client, csrf, name, content)
    assert uploaded.status == 303, await uploaded.text()
    options = uploaded.headers["Location"]
    response = await client.post(
        f"{options}/check", data=form(csrf, *files, **{**OPTIONS, **fields})
    )
    return response, await response.text()


def test_sample_workbook_walks_from_upload_to_check(tmp_path: Path) -> None:
    async def scenario(client: Client) -> tuple[str, str, bytes]:
        csrf = await csrf_of(client)
        uploaded = await upload(client, csrf, "campaign.xlsx", SAMPLE.read_bytes())
        options = await (await client.get(uploaded.headers["Location"])).text()
        response = await client.post(
            f"{uploaded.headers['Location']}/check", data=form(csrf, **OPTIONS),
            allow_redirects=False,
        )  # fmt: skip
        assert response.status == 303
        check = await client.get(response.headers["Location"])
        report = await client.get(response.headers["Location"] + "/report")
        assert report.status == 200
        return options, await check.text(), await report.read()

    options, check, report = run(WebConfig(web_settings(tmp_path)), scenario)
    assert '<option value="phone" selected>phone</option>' in options
    assert '<option value="content" selected>content</option>' in options
    assert "campaign.xlsx , sheet “Contacts”: 29 rows, 5 columns." in text(options)
    shown = text(check)
    assert "25 ready rows 3 invalid rows 1 duplicate row" in shown
    assert "4 recipients will not be sent" in shown
    assert "messages to send 25" in shown
    assert "billed segments 27" in shown
    for row, reason in [
        (25, 'invalid phone "+86 138 0013" is not a valid number'),
        (26, "duplicate same number and text as row 2"),
        (27, 'invalid phone "13812345678" is not a valid number'),
        (28, 'invalid phone "8.61509E+12" was turned into scientific notation by Excel'),
    ]:
        assert f"{row} {reason}" in shown
    # The bad cell of each of those rows is the phone cell, marked.
    assert len(re.findall(r'<td class="bad"[^>]*><mark>', check)) == 4
    assert "<mark>8.61509E+12</mark>" in check
    assert report[:2] == b"PK"


def test_check_counts_are_those_of_batch_sms_validate(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", str(SAMPLE), "--out", str(tmp_path / "cli"), "--json",
              "--state", str(tmp_path / "state.sqlite3")],
    )  # fmt: skip
    [line] = [x for x in result.output.splitlines() if x.startswith("{")]
    counts = json.loads(line)["counts"]
    assert counts == {"ready": 25, "invalid": 3, "duplicate": 1}

    async def scenario(client: Client) -> str:
        return (await checked(client, "campaign.xlsx", SAMPLE.read_bytes()))[1]

    shown = text(run(WebConfig(web_settings(tmp_path)), scenario))
    for status, count in counts.items():
        assert f"{count} {status} row" in shown


def two_sheets(path: Path) -> Path:
    """A workbook whose second sheet has other columns than the first."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Shop A"
    first.append(["mobile", "message"])
    first.append(["+8613912345678", "Hello A"])
    second = book.create_sheet("Shop B")
    second.append(["tel", "name", "text"])
    second.append(["+8613912345679", "Bo", "Hello B"])
    book.save(path)
    return path


def test_sheet_choice_changes_the_columns(tmp_path: Path) -> None:
    content = two_sheets(tmp_path / "shops.xlsx").read_bytes()

    async def scenario(client: Client) -> tuple[str, str, str]:
        uploaded = await upload(client, await csrf_of(client), "shops.xlsx", content)
        where = uploaded.headers["Location"]
        first = await (await client.get(where)).text()
        second = await (await client.get(f"{where}?sheet=Shop B")).text()
        response, check = await checked_on(client, where, sheet="Shop B", phone_column="tel",
                                           content_column="text")  # fmt: skip
        assert response.status == 200
        return first, second, check

    first, second, check = run(WebConfig(web_settings(tmp_path)), scenario)
    assert '<option value="Shop A" selected>Shop A</option>' in first
    assert '<option value="Shop B">Shop B</option>' in first
    assert '<option value="mobile" selected>mobile</option>' in first
    assert '<option value="Shop B" selected>Shop B</option>' in second
    assert '<option value="tel" selected>tel</option>' in second
    assert "mobile" not in second.split('<form method="post"', 1)[1]
    assert "1 ready row" in text(check)


async def checked_on(client: Client, where: str, **fields: str) -> tuple[Any, str]:
    """Post the options form of an upload already made."""
    csrf = await csrf_of(client)
    response = await client.post(f"{where}/check", data=form(csrf, **{**OPTIONS, **fields}))
    return response, await response.text()


def test_ods_without_a_message_column_offers_a_template(tmp_path: Path) -> None:
    content = (ROOT / "tests" / "data" / "contacts.ods").read_bytes()

    async def scenario(client: Client) -> tuple[str, str]:
        uploaded = await upload(client, await csrf_of(client), "contacts.ods", content)
        options = await (await client.get(uploaded.headers["Location"])).text()
        _, check = await checked_on(
            client, uploaded.headers["Location"], source="template",
            template="Hi {{ name }}, see you soon", content_column="",
        )  # fmt: skip
        return options, check

    options, check = run(WebConfig(web_settings(tmp_path)), scenario)
    assert 'value="template" checked' in options
    assert "Choose the column of messages" in options
    assert "2 ready rows" in text(check)


def test_template_naming_a_missing_column_is_shown_on_the_options_page(tmp_path: Path) -> None:
    csv = b"phone,name\n+8613912345678,Ann\n"

    async def scenario(client: Client) -> tuple[int, str]:
        response, page = await checked(
            client, "list.csv", csv, source="template", template="Hi {{ nmae }}"
        )
        return response.status, page

    status, page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert status == 400
    shown = text(page)
    assert "The check could not run" in shown
    assert "nmae" in shown
    assert "Campaign options" in shown  # the form stays, to be fixed


def test_missing_phone_column_is_said_on_the_options_page(tmp_path: Path) -> None:
    csv = b"name,content\nAnn,Hello\n"

    async def scenario(client: Client) -> tuple[str, int, str]:
        uploaded = await upload(client, await csrf_of(client), "list.csv", csv)
        options = await (await client.get(uploaded.headers["Location"])).text()
        response, page = await checked_on(client, uploaded.headers["Location"], phone_column="")
        return options, response.status, page

    options, status, page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert '<option value="" selected>Choose the column of phone numbers</option>' in options
    assert status == 400
    assert "no phone column found; columns: name, content" in text(page)
    assert str(tmp_path) not in page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv: the file is empty."),
        ("photo.png", b"\x89PNG\r\n\x1a\n", "photo.png: not a spreadsheet batch-sms reads."),
        ("list.xlsx", b"phone,content\n+8613912345678,Hi\n", "list.xlsx"),
        ("list.csv", b"phone,content\n", "list.csv"),
    ],
    ids=["empty", "not-a-spreadsheet", "text-named-xlsx", "header-only"],
)
def test_bad_uploads_are_refused_with_the_users_file_name(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    async def scenario(client: Client) -> tuple[int, str]:
        response = await upload(client, await csrf_of(client), name, content)
        return response.status, await response.text()

    status, page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert status == 400
    assert message in text(page)
    assert str(tmp_path) not in page
    folder = tmp_path / "out" / "uploads"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_upload_without_a_file_asks_for_one(tmp_path: Path) -> None:
    async def scenario(client: Client) -> tuple[int, str]:
        csrf = await csrf_of(client)
        response = await client.post("/campaigns/new", data=form(csrf, other="x"))
        return response.status, await response.text()

    status, page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert status == 400
    assert "Choose the file of recipients to upload." in page


def test_opt_out_upload_suppresses_its_numbers(tmp_path: Path) -> None:
    csv = b"phone,content\n+8613912345678,Hello\n+8613912345679,Hello\n"
    optout = b"phone\n+8613912345679\n"

    async def scenario(client: Client) -> str:
        return (await checked(client, "list.csv", csv, ("suppress", "optout.csv", optout)))[1]

    shown = text(run(WebConfig(web_settings(tmp_path)), scenario))
    assert "1 ready row 1 suppressed row" in shown
    assert "3 suppressed number is on the suppression list" in shown


def test_options_start_from_the_settings_defaults(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, tps="7", hourly_cap=2, sender="ACME", default_region="GB")

    async def scenario(client: Client) -> str:
        uploaded = await upload(client, await csrf_of(client), "list.csv", b"phone,content\n1,x\n")
        return await (await client.get(uploaded.headers["Location"])).text()

    page = run(WebConfig(settings), scenario)
    for field, value in [("tps", "7"), ("hourly_cap", "2"), ("sender", "ACME"),
                         ("default_region", "GB")]:  # fmt: skip
        assert re.search(rf'name="{field}"[^>]* value="{value}"', page), field


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tps": "fast"}, "TPS 'fast' is not a number"),
        ({"tps": "0"}, "tps must be positive"),
        ({"hourly_cap": "many"}, "hourly cap 'many' is not a whole number"),
        ({"default_region": "XX"}, "default-region 'XX' is not a region code"),
        ({"sender": "A B"}, "--sender 'A B'"),
    ],
)
def test_bad_options_are_said_on_the_options_page(
    tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    async def scenario(client: Client) -> tuple[int, str]:
        response, page = await checked(client, "list.csv", b"phone,content\n1,x\n", **fields)
        return response.status, page

    status, page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert status == 400
    assert message in text(page)


def test_rows_that_will_not_be_sent_are_paged(tmp_path: Path) -> None:
    bad = PAGE_ROWS * 2 + 7
    lines = ["phone,content", "+8613912345678,Hello"] + [f"12{i},Hello" for i in range(bad)]
    csv = "\n".join(lines).encode()

    async def scenario(client: Client) -> list[str]:
        response, _ = await checked(client, "many.csv", csv)
        where = str(response.url.path)
        return [await (await client.get(f"{where}?page={p}")).text() for p in ("1", "3", "x", "9")]

    first, last, junk, beyond = run(WebConfig(web_settings(tmp_path)), scenario)
    assert f"{bad} recipients will not be sent" in text(first)
    assert first.count('<td class="bad"') == PAGE_ROWS
    assert "Page 1 of 3" in text(first)
    assert 'href="?page=2#problems"' in first
    assert last.count('<td class="bad"') == 7
    assert "Page 3 of 3" in text(last)
    assert "Page 1 of 3" in text(junk)
    assert "Page 3 of 3" in text(beyond)


def test_a_check_or_upload_that_is_not_kept_is_a_clear_404(tmp_path: Path) -> None:
    async def scenario(client: Client) -> list[tuple[int, str]]:
        out = []
        for path in ("/checks/20260101-000000-abcd", "/uploads/0123456789abcdef01234567"):
            response = await client.get(path)
            out.append((response.status, await response.text()))
        return out

    for status, page in run(WebConfig(web_settings(tmp_path)), scenario):
        assert status == 404
        assert "Start again from New campaign" in page


@pytest.mark.parametrize(("sandbox", "shown"), [(True, True), (False, False)])
def test_plan_shows_the_balance_where_the_account_answers(
    tmp_path: Path, sandbox: bool, shown: bool
) -> None:
    """The simulator answers with its balance; without credentials nothing is asked."""

    async def scenario(client: Client) -> str:
        return (await checked(client, "list.csv", b"phone,content\n+8613912345678,Hi\n"))[1]

    page = text(run(WebConfig(web_settings(tmp_path, sandbox=sandbox)), scenario))
    assert ("account balance 1,000.00" in page) is shown
    assert "estimated duration 0m 00s" in page


def test_template_preview_shows_the_first_messages_with_their_encoding(tmp_path: Path) -> None:
    csv = "phone,name\n+8613912345678,Ann\n+8613912345679,\n+8613912345670,王芳\n".encode()

    async def scenario(client: Client) -> list[dict[str, Any]]:
        uploaded = await upload(client, await csrf_of(client), "list.csv", csv)
        where = uploaded.headers["Location"]
        answers = []
        for template in ("Hi {{ name }}, see you", "Hi {{ nmae }}", "  ", "{% if %}"):
            response = await client.get(f"{where}/preview", params={"template": template})
            assert response.status == 200
            answers.append(await response.json())
        return answers

    shown, unknown, empty, broken = run(WebConfig(web_settings(tmp_path)), scenario)
    assert shown["error"] == ""
    first, second, third = shown["rows"]
    assert first == {"row": 2, "text": "Hi Ann, see you", "encoding": "GSM-7", "units": 15,
                     "segments": 1, "ucs2": []}  # fmt: skip
    assert second["row"] == 3
    assert "empty in this row" in second["error"]
    assert third["encoding"] == "UCS-2"
    assert third["ucs2"] == ["王", "芳"]
    assert "nmae" in unknown["error"]
    assert unknown["rows"] == []
    assert empty == {"rows": [], "error": ""}
    assert broken["error"].startswith("template")


def test_xls_workbook_is_checked_and_sent(tmp_path: Path) -> None:
    """An Excel 97 workbook (tests/data/web_campaign.xls, made by `soffice --headless
    --convert-to xls` from a four-row CSV; its second phone is a number cell) walks from upload
    to a finished send on the sandbox."""
    content = (ROOT / "tests" / "data" / "web_campaign.xls").read_bytes()

    async def scenario(client: Client) -> tuple[str, str, dict[str, Any]]:
        uploaded = await upload(client, await csrf_of(client), "campaign.xls", content)
        assert uploaded.status == 303, await uploaded.text()
        options = await (await client.get(uploaded.headers["Location"])).text()
        check = await check_of(client, "campaign.xls", content)
        page = await (await client.get(check)).text()
        _, ticket = await confirmed(client, check)
        csrf = await csrf_of(client)
        sent = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket},
                                 allow_redirects=False)  # fmt: skip
        return options, page, await finished(client, sent.headers["Location"])

    options, page, now = run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario)
    assert "campaign.xls , sheet “campaign_small”: 4 rows, 3 columns." in text(options)
    assert '<option value="phone" selected>phone</option>' in options
    shown = text(page)
    assert "3 ready rows 1 invalid row" in shown
    assert '4 invalid phone "12345" is a short code; short codes cannot receive SMS' in shown
    assert now["state"] == "finished"
    assert now["counts"] == {"delivered": 3, "invalid": 1}


def test_check_page_shows_the_gsm_safe_saving_and_the_short_link(tmp_path: Path) -> None:
    """Curly quotes force UCS-2: 2 segments; --gsm-safe makes the text GSM-7, 1 segment."""
    quoted = "“Winter sale” ends tonight: every coat and scarf half price in all our shops " \
             "until midnight #1#"  # fmt: skip
    assert 70 < len(quoted) <= 160
    csv = f"phone,content\n+8613912345678,{quoted}\n".encode()

    async def scenario(client: Client) -> str:
        _, page = await checked(client, "sale.csv", csv, gsm_safe="1",
                                short_link="https://nx.ink/abc", link_verbose="0")  # fmt: skip
        return page

    shown = text(run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario))
    assert "billed segments 1 texts made GSM-7 (--gsm-safe) 1 segments before → after 2 → 1 " \
           "saved 1 segment, 0.0100 USD estimated cost 0.0100 USD" in shown  # fmt: skip
    assert "short link https://nx.ink/abc, placeholder #1#, verbose: no" in shown
