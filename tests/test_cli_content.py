"""Cheaper texts (--gsm-safe) and content rules (--must-contain, --forbidden-words) end to end:
the CLI against a sandbox on loopback, the plan, the report and what the sandbox received."""

from __future__ import annotations

from pathlib import Path

from helpers import (
    SandboxMaker,
    env_for,
    last_json,
    read_results,
    run_cli,
    summary_pairs,
    write_csv,
)

from batch_sms.sandbox.server import SandboxHandle

# 81 characters with curly quotes: 2 UCS-2 segments as written, 1 GSM-7 segment made plain.
CURLY = "Hi “Ann”, your order ships today – see you soon! " + "x" * 32
PLAIN = 'Hi "Ann", your order ships today - see you soon! ' + "x" * 32


def campaign(folder: Path, *texts: str) -> Path:
    """A CSV with one Chinese number per text."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [[f"86138001380{i:02d}", text] for i, text in enumerate(texts)]
    return write_csv(folder / "campaign.csv", ["phone", "content"], rows)


def send(tmp_path: Path, handle: SandboxHandle, path: Path, *extra: str) -> tuple[dict, str]:
    """`batch-sms send --yes` against the sandbox: the --json object and the plan it printed."""
    result = run_cli(
        ["send", str(path), "--base-url", handle.url, "--yes", "--json", "--tps", "unlimited",
         "--out", str(tmp_path / "reports"), "--state", str(tmp_path / "state.db"), *extra],
        env=env_for(handle),
    )  # fmt: skip
    return last_json(result), result.stderr


def plan_rows(printed: str) -> dict[str, str]:
    """The plan table's rows, label → value."""
    rows = {}
    for line in printed.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def test_gsm_safe_sends_one_segment_instead_of_two_in_the_plan_and_the_sandbox(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """Must show: curly quotes cost 2 segments as UCS-2, 1 with --gsm-safe, in the plan and in
    what the sandbox received."""
    assert len(CURLY) == 81
    handle = make_sandbox()
    written = tmp_path / "as-written"
    out, printed = send(written, handle, campaign(written, CURLY))
    assert out["counts"] == {"sent": 1}
    assert plan_rows(printed)["billed segments"] == "2"
    [accepted] = handle.sandbox.accepted
    assert (accepted.content, accepted.segments) == (CURLY, 2)

    handle = make_sandbox()
    safe = tmp_path / "safe"
    prices = safe / "batch-sms.toml"
    path = campaign(safe, CURLY)
    prices.write_text('[prices]\ncurrency = "USD"\n"86" = 0.05\n', encoding="utf-8")
    out, printed = send(safe, handle, path, "--gsm-safe", "--config", str(prices))
    assert out["counts"] == {"sent": 1}
    plan = plan_rows(printed)
    assert plan["billed segments"] == "1"
    assert plan["texts made GSM-7 (--gsm-safe)"] == "1"
    assert plan["segments before → after"] == "2 → 1"
    assert plan["saved"] == "1 segment, 0.0500 USD"
    [accepted] = handle.sandbox.accepted
    assert (accepted.content, accepted.segments) == (PLAIN, 1)
    report = Path(out["report"])
    [row] = read_results(report)
    assert (row["content"], row["sms_text"], row["sms_segments"]) == (CURLY, PLAIN, 1)
    summary = summary_pairs(report)
    assert summary["Texts made GSM-7 (--gsm-safe)"] == 1
    assert summary["Segments before → after"] == "2 → 1"
    assert "gsm_safe saving" not in summary  # the record is shown by its own lines only
    assert summary["gsm_safe"] == "yes"


def test_gsm_safe_leaves_chinese_text_as_written(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    chinese = "您好 “张三”，您的订单已发货。回T退订"
    out, printed = send(tmp_path, handle, campaign(tmp_path, chinese, CURLY), "--gsm-safe")
    assert out["counts"] == {"sent": 2}
    assert sorted(a.content for a in handle.sandbox.accepted) == sorted([chinese, PLAIN])
    assert plan_rows(printed)["segments before → after"] == "3 → 2"


def test_content_rules_make_rows_invalid_before_sending(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    words = tmp_path / "forbidden.txt"
    words.write_text("# banned words\nFREE money\n\n赌博\n", encoding="utf-8")
    texts = [
        "Sale today. Reply STOP to opt out",
        "Sale today",  # lacks the opt-out line
        "Get free MONEY now. Reply STOP to opt out",  # a forbidden phrase, in other case
        "您好，赌博 Reply STOP",  # a forbidden Chinese word
    ]
    handle = make_sandbox()
    extra = ("--must-contain", "Reply STOP", "--forbidden-words", str(words))
    out, _ = send(tmp_path, handle, campaign(tmp_path, *texts), *extra)
    assert out["counts"] == {"sent": 1, "invalid": 3}
    assert [a.content for a in handle.sandbox.accepted] == [texts[0]]
    errors = [r["sms_error"] or "" for r in read_results(Path(out["report"]))]
    assert errors == [
        "",
        'text lacks required "Reply STOP"',
        'text holds forbidden word "FREE money"',
        'text holds forbidden word "赌博"',
    ]


def test_must_contain_chinese_opt_out_and_config_keys(tmp_path: Path) -> None:
    config = tmp_path / "batch-sms.toml"
    words = tmp_path / "words.txt"
    words.write_text("免费\n", encoding="utf-8")
    config.write_text(
        f'must_contain = ["回T退订"]\nforbidden_words = "{words.as_posix()}"\ngsm_safe = true\n',
        encoding="utf-8",
    )
    path = campaign(tmp_path, "新品上市，回T退订", "新品上市", "免费领取，回T退订")
    result = run_cli(
        ["validate", str(path), "--config", str(config), "--json", "--out", str(tmp_path)]
    )
    out = last_json(result)
    assert out["counts"] == {"ready": 1, "invalid": 2}
    errors = [r["sms_error"] or "" for r in read_results(Path(out["report"]))]
    assert errors == ["", 'text lacks required "回T退订"', 'text holds forbidden word "免费"']
    summary = summary_pairs(Path(out["report"]))
    assert summary["Text lacks a --must-contain text [content_lacks_required]"] == 1
    assert summary["Text holds a word of --forbidden-words [content_forbidden_word]"] == 1


def test_a_bad_forbidden_words_file_is_refused_with_exit_2(tmp_path: Path) -> None:
    path = campaign(tmp_path, "Hello")
    missing = tmp_path / "nope.txt"
    result = run_cli(["validate", str(path), "--forbidden-words", str(missing), "--out", "x"])
    assert result.exit_code == 2
    assert f"{missing}: forbidden-words file not found" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")
    result = run_cli(["validate", str(path), "--forbidden-words", str(empty), "--out", "x"])
    assert result.exit_code == 2
    assert "holds no words" in result.output
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("gr\xe1tis\n".encode("latin-1"))
    result = run_cli(["validate", str(path), "--forbidden-words", str(latin1), "--out", "x"])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output


def test_resume_sends_the_text_gsm_safe_fixed_at_send_time(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(balance=0.0)  # stops at once with code 3: resumable
    out, _ = send(tmp_path, handle, campaign(tmp_path, CURLY, "Plain hello"), "--gsm-safe")
    assert (out["status"], handle.sandbox.accepted) == ("stopped", [])
    handle.sandbox.top_up(1.0)
    result = run_cli(
        ["resume", out["run_id"], "--base-url", handle.url, "--json",
         "--out", str(tmp_path / "reports"), "--state", str(tmp_path / "state.db")],
        env=env_for(handle),
    )  # fmt: skip
    resumed = last_json(result)
    assert resumed["counts"] == {"sent": 2}
    assert sorted((a.content, a.segments) for a in handle.sandbox.accepted) == [
        (PLAIN, 1),
        ("Plain hello", 1),
    ]
    summary = summary_pairs(Path(resumed["report"]))
    assert summary["Segments before → after"] == "3 → 2"  # as planned when the run was made
