"""`--short-link` and `--link-verbose` end to end: checked before sending, carried by every
request, recorded by the sandbox, shown in the plan; rows without #1# are never sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from helpers import cn_numbers, env_for, last_json, read_results, run_cli, summary_pairs, write_csv

from batch_sms.sandbox.server import SandboxHandle

LINK = "https://nx.ink/a"
TEXTS = ["Sale today: #1#", "No link here", "Last call #1#"]


def _campaign(tmp_path: Path) -> Path:
    rows = [[phone, text] for phone, text in zip(cn_numbers(3), TEXTS, strict=True)]
    return write_csv(tmp_path / "links.csv", ["phone", "content"], rows)


def _send(tmp_path: Path, handle: SandboxHandle, *extra: str) -> dict:  # type: ignore[type-arg]
    result = run_cli(["send", str(_campaign(tmp_path)), "--base-url", handle.url, "--yes",
                      "--json", "--out", str(tmp_path / "reports"), *extra],
                     env=env_for(handle))  # fmt: skip
    return last_json(result)  # type: ignore[no-any-return]


def test_the_requests_carry_the_link_options_and_rows_without_placeholder_are_never_sent(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    handle = make_sandbox(short_links=(LINK,))
    out = _send(tmp_path, handle, "--short-link", LINK, "--no-link-verbose")
    assert out["counts"] == {"sent": 2, "invalid": 1}
    accepted = handle.sandbox.accepted
    assert [a.content for a in accepted] == [TEXTS[0], TEXTS[2]]
    assert {(a.short_link, a.link_verbose) for a in accepted} == {(LINK, "0")}
    rows = read_results(Path(out["report"]))
    assert [r["sms_status"] for r in rows] == ["sent", "invalid", "sent"]
    assert rows[1]["sms_error"] == "text has no #1# placeholder for --short-link"
    label = "Text has no #1# placeholder for --short-link [short_link_placeholder]"
    assert summary_pairs(Path(out["report"]))[label] == 1


def test_without_the_options_nothing_is_added(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    handle = make_sandbox()
    out = _send(tmp_path, handle, "--link-verbose")
    assert out["counts"] == {"sent": 3}
    assert {(a.short_link, a.link_verbose) for a in handle.sandbox.accepted} == {("", "1")}


def test_a_link_not_on_the_accounts_list_fails_the_rows(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    handle = make_sandbox(short_links=(LINK,))
    out = _send(tmp_path, handle, "--short-link", "https://nx.ink/other")
    assert out["counts"] == {"failed": 2, "invalid": 1}
    assert handle.sandbox.accepted == []


def test_the_plan_shows_the_link_options(tmp_path: Path, user_data_dir: Path) -> None:
    result = run_cli(["send", str(_campaign(tmp_path)), "--sandbox", "--dry-run", "--short-link",
                      LINK, "--out", str(tmp_path / "reports")])  # fmt: skip
    line = f"short link: {LINK}, placeholder #1#, verbose: yes (the provider's default)\n"
    assert line in result.output


def test_a_bad_short_link_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    result = run_cli(["send", str(tmp_path / "missing.csv"), "--sandbox", "--short-link", "nx.ink"])
    assert result.exit_code == 2
    assert "short-link 'nx.ink' is not an http(s) URL" in result.output


def test_resume_with_a_short_link_never_sends_rows_without_the_placeholder(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    """A run stopped by the balance, resumed with --short-link: its pending rows without #1#
    become invalid, the others go with the link."""
    handle = make_sandbox(balance=0.01, price=0.01)  # one message, then code 3
    out = _send(tmp_path, handle, "--concurrency", "1", "--tps", "unlimited")
    assert out["counts"] == {"sent": 1, "pending": 2}
    handle.sandbox.top_up(1.0)
    reports = str(tmp_path / "reports")
    result = run_cli(["resume", out["run_id"], "--base-url", handle.url, "--short-link", LINK,
                      "--json", "--out", reports], env=env_for(handle))  # fmt: skip
    assert last_json(result)["counts"] == {"sent": 2, "invalid": 1}
    assert "1 messages are invalid and not sent: text has no #1# placeholder" in result.output
    assert [(a.content, a.short_link) for a in handle.sandbox.accepted] == [
        (TEXTS[0], ""), (TEXTS[2], LINK),
    ]  # fmt: skip


def test_validate_checks_the_placeholder_too(tmp_path: Path, user_data_dir: Path) -> None:
    result = run_cli(["validate", str(_campaign(tmp_path)), "--short-link", LINK, "--json",
                      "--out", str(tmp_path / "reports")])  # fmt: skip
    assert result.exit_code == 1
    assert last_json(result)["counts"] == {"ready": 2, "invalid": 1}
