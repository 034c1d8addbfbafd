"""The sandbox's rules: body checks and their codes, billing by segment, fault shares and dice."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from helpers import CN, MY, many_numbers, post_raw, run, send_one
from hypothesis import given
from hypothesis import strategies as st

from batch_sms.checks.segments import segment
from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import (
    Kind,
    SendRequest,
    build_send,
    sign,
)
from batch_sms.sandbox.rules import billed_segments as _billed_segments
from batch_sms.sandbox.server import SandboxConfig, serve


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "1002"),
        (b'{"appKey":"APP","phone":"8613800138000","content":"x"', "1002"),
        (b"\xff\xfe{}", "1002"),
        (b"[1,2]", "1002"),
        (b'"a string"', "1002"),
        (b"{}", "2"),
        (b'{"appKey":"APP","phone":"8613800138000"}', "2"),
        (b'{"appKey":"APP","phone":8613800138000,"content":"x"}', "2"),
        (b'{"phone":"8613800138000","content":"x"}', "2"),
        (b'{"appKey":"APP","content":"x"}', "2"),
        (b'{"appKey":"APP","phone":"8613800138000","content":"x"}', "0"),
    ],
)
def test_body_shape_codes(body: bytes, code: str) -> None:
    async def main() -> None:
        async with serve() as sandbox:
            creds = sandbox.config.credentials
            raw = body.replace(b"APP", creds.app_key.encode())
            headers, _ = build_send(SendRequest(CN, ""), creds, int(time.time() * 1000))
            headers["sign"] = sign(headers, raw, creds.access_secret)
            assert (await post_raw(sandbox.url, headers, raw)).code == code

    run(main())


LONG = "x" * 1000


@pytest.mark.parametrize(
    ("config", "req", "code", "kind"),
    [
        ({}, SendRequest("+8613800138000", "Hi"), "2", Kind.ROW_FATAL),
        ({}, SendRequest("86138 0013 8000", "Hi"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN + ",", "Hi"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="short"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="a" * 51), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="run_1_2_000"), "2", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sys_message_id="a" * 50), "0", Kind.ACCEPTED),
        ({}, SendRequest(CN, ""), "4", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "   "), "4", Kind.ROW_FATAL),
        ({"forbidden": ("casino",)}, SendRequest(CN, "Win at the CASINO!"), "4", Kind.ROW_FATAL),
        ({"forbidden": ("casino",)}, SendRequest(CN, "Win a car"), "0", Kind.ACCEPTED),
        ({}, SendRequest(CN, LONG + "x"), "5", Kind.ROW_FATAL),
        ({}, SendRequest(CN, LONG), "0", Kind.ACCEPTED),
        ({}, SendRequest("8612345", "Hi"), "6", Kind.ROW_FATAL),
        ({}, SendRequest(CN + ",8612345", "Hi"), "6", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="ACME-1"), "8", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="A" * 21), "8", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="牛小信"), "8", Kind.ROW_FATAL),
        ({}, SendRequest(CN, "Hi", sender="ACME2024"), "0", Kind.ACCEPTED),
        ({"allowed_ips": ("10.0.0.1",)}, SendRequest(CN, "Hi"), "9", Kind.RUN_FATAL),
        ({"allowed_ips": ("127.0.0.1",)}, SendRequest(CN, "Hi"), "0", Kind.ACCEPTED),
        ({"deactivated": True}, SendRequest(CN, "Hi"), "102", Kind.RUN_FATAL),
        ({"balance": 0.0}, SendRequest(CN, "Hi"), "3", Kind.RUN_FATAL),
    ],
)
def test_send_codes(config: dict[str, Any], req: SendRequest, code: str, kind: Kind) -> None:
    outcome, sandbox = send_one(SandboxConfig(**config), req)
    assert (outcome.kind, outcome.code) == (kind, code)
    assert len(sandbox.accepted) == (code == "0")
    assert sandbox.answers == {code: 1}


@pytest.mark.parametrize(("count", "code"), [(5, "0"), (6, "104")])
def test_verification_app_takes_at_most_5_numbers(count: int, code: str) -> None:
    config = SandboxConfig(verification_app=True)
    outcome, _ = send_one(config, SendRequest(many_numbers(count), "Your code is 1234"))
    assert outcome.code == code


def test_marketing_app_takes_many_numbers() -> None:
    outcome, sandbox = send_one(SandboxConfig(), SendRequest(many_numbers(12), "Sale"))
    assert outcome.code == "0"
    assert len(sandbox.accepted) == 12


def test_multi_number_send_ignores_per_message_fields() -> None:
    req = SendRequest(f"{CN},{MY}", "Hi", "ACME", "bad id!", "http://127.0.0.1:9/dr", "e")
    outcome, sandbox = send_one(SandboxConfig(dr_delay=60), req)
    assert outcome.code == "0"
    first, second = sandbox.accepted
    assert first.messageid == f"{outcome.messageid}-0000000001"
    assert second.messageid == f"{outcome.messageid}-0000000002"
    assert (first.phone, second.phone) == (CN, MY)
    assert (first.sys_message_id, first.ext, first.dr_url, first.sender) == ("", "", "", "ACME")
    assert (first.segments, second.segments) == (1, 1)


@pytest.mark.parametrize(
    ("content", "phone", "segments"),
    [
        ("a" * 160, CN, 1),
        ("a" * 161, CN, 2),
        ("a" * 308, CN, 2),
        ("a" * 309, CN, 3),
        ("€" * 80, CN, 1),  # extension characters count 2
        ("€" * 81, CN, 2),
        ("a" * 153, MY, 1),  # Malaysia adds 7
        ("a" * 154, MY, 2),
        ("你" * 70, CN, 1),
        ("你" * 71, CN, 2),
        ("你" * 134, CN, 2),
        ("你" * 135, CN, 3),
        ("😀" * 35, CN, 1),  # outside the BMP: 2 UTF-16 units each
        ("😀" * 36, CN, 2),
        ("Hello 你好 🎉", CN, 1),
        ("你" * 63, MY, 1),
        ("你" * 64, MY, 2),
    ],
)
def test_any_script_is_accepted_and_charged_by_segment(
    content: str, phone: str, segments: int
) -> None:
    outcome, sandbox = send_one(SandboxConfig(price=1.0, balance=10.0), SendRequest(phone, content))
    assert outcome.code == "0"
    (msg,) = sandbox.accepted
    assert (msg.content, msg.segments, msg.charge) == (content, segments, segments)
    assert sandbox.balance == 10.0 - segments


@given(st.text(max_size=400), st.sampled_from([None, 60, 86]))
def test_private_segment_count_agrees_with_segments_module(text: str, cc: int | None) -> None:
    assert _billed_segments(text, cc) == segment(text, cc).segments


def _codes_with_faults(seed: int) -> list[str]:
    config = SandboxConfig(
        seed=seed, fail_88=0.2, fail_99=0.2, fail_500=0.1, malformed=0.1, hourly_cap=None
    )

    async def main() -> list[str]:
        async with serve(config) as sandbox, aiohttp.ClientSession() as session:
            client = Client(session, sandbox.url, config.credentials)
            return [(await client.send(SendRequest(CN, "x"))).code for _ in range(40)]

    codes: list[str] = run(main())
    return codes


def test_faults_are_deterministic_under_a_seed() -> None:
    first = _codes_with_faults(7)
    assert first == _codes_with_faults(7)
    assert first != _codes_with_faults(8)
    assert {"0", "88", "99", "http-500", "malformed"} <= set(first)


def test_fault_shares_are_checked() -> None:
    with pytest.raises(ValueError, match="shares"):
        SandboxConfig(fail_88=0.6, drop=0.6)
    with pytest.raises(ValueError, match="shares"):
        SandboxConfig(dr_delivered_share=1.5)
    with pytest.raises(ValueError, match=r"undelivered status '2': give one of 5 \(UNDELIV\)"):
        SandboxConfig(dr_undelivered_status="2")


LINK = "https://nx.ink/a"


@pytest.mark.parametrize(
    ("config", "req", "code"),
    [
        ({}, SendRequest(CN, "Go #1#", short_link="anything at all"), "0"),  # any: no list given
        ({"short_links": (LINK,)}, SendRequest(CN, "Go #1#", short_link=LINK), "0"),
        ({"short_links": (LINK,)}, SendRequest(CN, "Go #1#", short_link=LINK + "b"), "2"),
        ({}, SendRequest(CN, "Go", link_verbose="1"), "0"),
        ({}, SendRequest(CN, "Go", link_verbose="0"), "0"),
        ({}, SendRequest(CN, "Go", link_verbose="yes"), "2"),
    ],
)  # fmt: skip
def test_link_options_are_checked_as_documented(
    config: dict[str, Any], req: SendRequest, code: str
) -> None:
    answer, _ = send_one(SandboxConfig(**config), req)
    assert answer.code == code


def test_a_short_link_takes_effect_only_with_the_placeholder() -> None:
    """nxcloud-api.md: shortLink "only takes effect if content contains #1#"; without it the
    send is accepted and the link ignored."""
    answer, sandbox = send_one(SandboxConfig(), SendRequest(CN, "Go", short_link=LINK))
    assert answer.code == "0"
    assert (sandbox.accepted[0].short_link, sandbox.accepted[0].link_verbose) == ("", "1")
    req = SendRequest(CN, "Go #1#", short_link=LINK, link_verbose="0")
    answer, sandbox = send_one(SandboxConfig(), req)
    assert (sandbox.accepted[0].short_link, sandbox.accepted[0].link_verbose) == (LINK, "0")
