"""batch_sms.web.form: the options form's quiet hours, send window, canary, cost ceiling and
text options: their defaults from the settings, their values reaching the check, and bad values
refused with the CLI's own messages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from webclient import COLUMNS, Client, csrf_of, form, page_text, run, upload, web_settings

from batch_sms.cli import cli
from batch_sms.web import WebConfig
from batch_sms.web import form as options_form
from batch_sms.web.state import STATE

LIST = b"phone,content\n+8613912345678,\xe2\x80\x9cSale\xe2\x80\x9d today Reply STOP\n" \
       b"+14155550123,Cheap pills Reply STOP\n+8613912345679,Hello\n"  # fmt: skip


async def posted(client: Client, *files: tuple[str, str, bytes], **fields: str) -> Any:
    """Upload LIST and post its options form with `fields`; the answer (redirect not followed)."""
    csrf = await csrf_of(client)
    uploaded = await upload(client, csrf, "list.csv", LIST)
    return await client.post(
        uploaded.headers["Location"] + "/check",
        data=form(csrf, *files, **{**COLUMNS, **fields}),
        allow_redirects=False,
    )


def test_options_page_offers_the_safety_settings_with_the_configs_defaults(
    tmp_path: Path,
) -> None:
    settings = web_settings(
        tmp_path, quiet_hours="21:00-08:00", default_timezone="Asia/Shanghai",
        not_before="2026-12-01 09:00", send_until="2026-12-01 21:00", recipient_time=True,
        canary=5, canary_wait=60, canary_min_delivered=0.9, max_cost=12.5, gsm_safe=True,
        must_contain=["Reply STOP", "回T退订"], short_link="https://nx.ink/abc", link_verbose=False,
    )  # fmt: skip

    async def scenario(client: Client) -> str:
        uploaded = await upload(client, await csrf_of(client), "list.csv", LIST)
        return await (await client.get(uploaded.headers["Location"])).text()

    page = run(WebConfig(settings), scenario)
    for field, value in [
        ("quiet_hours", "21:00-08:00"), ("default_timezone", "Asia/Shanghai"),
        ("not_before", "2026-12-01 09:00"), ("send_until", "2026-12-01 21:00"),
        ("canary", "5"), ("canary_wait", "60"), ("canary_min_delivered", "0.9"),
        ("max_cost", "12.5"), ("short_link", "https://nx.ink/abc"),
    ]:  # fmt: skip
        assert re.search(rf'name="{field}"[^>]* value="{re.escape(value)}"', page), field
    assert re.search(r'name="recipient_time" value="1" checked', page)
    assert re.search(r'name="gsm_safe" value="1" checked', page)
    assert ">Reply STOP\n回T退订</textarea>" in page
    assert '<option value="0" selected>no</option>' in page
    assert 'type="file" id="forbidden_words" name="forbidden_words"' in page


def test_the_forms_safety_settings_reach_the_check(tmp_path: Path) -> None:
    words = ("forbidden_words", "words.txt", b"# promotions\npills\n")

    async def scenario(client: Client) -> Any:
        response = await posted(
            client, words, quiet_hours="21:00-08:00", default_timezone="Asia/Shanghai",
            send_until="2099-12-01 21:00 UTC", recipient_time="0", canary="2", canary_wait="30",
            canary_min_delivered="0.5", max_cost="10", gsm_safe="1",
            must_contain="Reply STOP\n\n", short_link="", link_verbose="1",
        )  # fmt: skip
        assert response.status == 303, await response.text()
        return client.server.app[STATE].checks.get(response.headers["Location"].rsplit("/")[-1])

    check = run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario)
    s = check.settings
    assert (s.quiet_hours, s.default_timezone, s.send_until) == (
        "21:00-08:00", "Asia/Shanghai", "2099-12-01 21:00 UTC")  # fmt: skip
    assert (s.canary, s.canary_wait, s.canary_min_delivered, s.max_cost) == (2, 30.0, 0.5, 10.0)
    assert (s.gsm_safe, s.must_contain, s.link_verbose, s.recipient_time) == (
        True, ("Reply STOP",), True, False)  # fmt: skip
    found = {p.row: (p.status, p.reason) for p in check.problems}
    assert set(found) == {3, 4}
    assert found[3][0] == found[4][0] == "invalid"
    assert "pills" in found[3][1]  # the forbidden word
    assert "Reply STOP" in found[4][1]  # the text it must contain


def test_blank_fields_and_unticked_boxes_clear_the_configs_defaults(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, quiet_hours="21:00-08:00", canary=5, max_cost=3,
                            gsm_safe=True, must_contain=["Reply STOP"], sandbox=True)  # fmt: skip

    async def scenario(client: Client) -> Any:
        response = await posted(client, quiet_hours=" ", canary="", max_cost="", gsm_safe="0",
                                must_contain="")  # fmt: skip
        assert response.status == 303, await response.text()
        return client.server.app[STATE].checks.get(response.headers["Location"].rsplit("/")[-1])

    s = run(WebConfig(settings), scenario).settings
    assert (s.quiet_hours, s.canary, s.max_cost, s.gsm_safe, s.must_contain) == (
        None, None, None, False, ())  # fmt: skip


def test_fields_the_form_did_not_post_keep_the_defaults(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, quiet_hours="22:00-07:00", gsm_safe=True, canary_wait=9)
    assert options_form.exact({}) == {}
    assert options_form.exact({"canary_wait": ""}) == {}  # a blank wait keeps the default
    assert options_form.defaults(settings)["canary_wait"] == "9"
    assert options_form.defaults(settings)["quiet_hours"] == "22:00-07:00"


# The CLI's options and the form's fields giving the same bad value.
BAD = [
    (["--quiet-hours", "25:00-08:00"], {"quiet_hours": "25:00-08:00"}),
    (["--default-timezone", "Mars/Base"], {"default_timezone": "Mars/Base"}),
    (["--not-before", "tomorrow"], {"not_before": "tomorrow"}),
    (["--recipient-time"], {"recipient_time": "1"}),
    (["--canary", "0"], {"canary": "0"}),
    (["--canary-min-delivered", "2"], {"canary_min_delivered": "2"}),
    (["--canary-wait", "-1"], {"canary_wait": "-1"}),
    (["--short-link", "ftp://nx.ink/a"], {"short_link": "ftp://nx.ink/a"}),
]


@pytest.mark.parametrize(("args", "fields"), BAD, ids=[a[0] for a, _ in BAD])
def test_bad_safety_values_are_refused_with_the_clis_message(
    tmp_path: Path, args: list[str], fields: dict[str, str]
) -> None:
    data = tmp_path / "list.csv"
    data.write_bytes(LIST)
    out = CliRunner().invoke(cli, ["validate", str(data), "--out", str(tmp_path),
                                   "--state", str(tmp_path / "cli.sqlite3"), *args])  # fmt: skip
    assert out.exit_code == 2, out.output
    message = " ".join(out.output.split("Error:", 1)[1].split("\n", 1)[0].split())

    async def scenario(client: Client) -> tuple[int, str]:
        response = await posted(client, **fields)
        return response.status, await response.text()

    status, page = run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario)
    assert status == 400
    assert message in page_text(page)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"canary": "five"}, "canary 'five' is not a whole number"),
        ({"max_cost": "lots"}, "max cost 'lots' is not a number"),
        ({"max_cost": "-3"}, "max-cost must be a positive amount"),  # the config file's words
        ({"link_verbose": "maybe"}, "link verbose 'maybe' is not one of the choices"),
    ],
)
def test_values_the_cli_never_receives_are_said_on_the_options_page(
    tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    async def scenario(client: Client) -> tuple[int, str]:
        response = await posted(client, **fields)
        return response.status, await response.text()

    status, page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert status == 400
    assert message in page_text(page)
    assert 'name="quiet_hours"' in page  # the form again, with what was given


def test_a_forbidden_words_file_without_words_is_named_as_the_user_named_it(
    tmp_path: Path,
) -> None:
    async def scenario(client: Client) -> str:
        response = await posted(client, ("forbidden_words", "my words.txt", b"# none yet\n"))
        return await response.text()

    page = page_text(run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario))
    assert "my words.txt: the forbidden-words file holds no words" in page
    assert "uploads/" not in page
