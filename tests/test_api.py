"""The Python API (batch_sms.validate/send/results) against the sandbox on loopback."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import cn_numbers, env_for, fresh_python, last_json, run_cli, write_csv
from openpyxl import load_workbook

import batch_sms
from batch_sms import api
from batch_sms.checks.reasons import reason_code
from batch_sms.errors import BatchSmsError, InputError, UsageError
from batch_sms.models import RESULT_COLUMNS
from batch_sms.sandbox.server import SandboxHandle

FAST = {"sandbox": True, "tps": "unlimited"}
START = 4321  # 8613800000000 would have the look of Excel's rounding, and be refused


def campaign(count: int) -> pd.DataFrame:
    """A campaign as an analyst builds it: integer phone numbers, one text each."""
    numbers = [int(n) for n in cn_numbers(count, START)]
    return pd.DataFrame(
        {"name": [f"n{i}" for i in range(count)], "phone": numbers, "content": "Hello {{ name }}"}
    ).drop(columns="content")


def test_the_must_show_one_liner(tmp_path: Path) -> None:
    code = (
        "import batch_sms, pandas as pd; r = batch_sms.validate(pd.DataFrame({'phone': "
        "[8613800138000, None], 'content': ['hi', 'yo']})); "
        "print(r.rows()[['phone', 'sms_status']])"
    )
    lines = [line.split() for line in fresh_python(code, tmp_path).splitlines()]
    assert lines == [["phone", "sms_status"], ["0", "8613800138000", "ready"], ["1", "invalid"]]


def test_import_batch_sms_loads_no_pandas() -> None:
    code = (
        "import sys, batch_sms; print(sorted({'pandas', 'aiohttp', 'openpyxl'} & set(sys.modules)))"
    )
    assert fresh_python(code).strip() == "[]"
    assert {"validate", "send", "results", "Result"} <= set(batch_sms.__all__)
    assert batch_sms.validate is api.validate


@pytest.mark.parametrize(
    ("phones", "options", "expected"),
    [
        # an integer column: its digits
        ([8613800138000, 8613800138001], {},
         [("8613800138000", "ready"), ("8613800138001", "ready")]),
        # one missing value makes the column float64: still digits, the empty one invalid
        ([8613800138000, None], {}, [("8613800138000", "ready"), ("", "invalid")]),
        ([8613800138000.0, float("nan")], {}, [("8613800138000", "ready"), ("", "invalid")]),
        # a float that lost digits is refused as Excel's rounded cells are
        ([8613800138000.5], {}, [("8613800138000.5", "invalid")]),
        ([float(2**60)], {}, [("1152921504606846976", "invalid")]),
        # Excel's look on a number; --trust-numeric-phones accepts it, as for a spreadsheet
        ([8613910000000], {}, [("8613910000000", "invalid")]),
        ([8613910000000], {"trust_numeric_phones": True}, [("8613910000000", "ready")]),
        # text stays text
        (["+86 138 0013 8000"], {}, [("+86 138 0013 8000", "ready")]),
    ],
)  # fmt: skip
def test_phone_values_are_kept_as_a_file_keeps_them(
    tmp_path: Path, phones: list[Any], options: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    data = pd.DataFrame({"phone": phones, "content": "hi"})
    result = batch_sms.validate(data, out=tmp_path / "reports", **options)
    rows = result.rows()
    assert list(zip(rows["phone"], rows["sms_status"], strict=True)) == expected
    if expected[0][0] == "8613800138000.5":
        assert reason_code(rows["sms_error"][0]) == "number_lost_digits"
    if expected[0] == ("8613910000000", "invalid"):
        assert reason_code(rows["sms_error"][0]) == "excel_rounded"


def test_validate_a_path_as_the_command_line_does(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], [["8613800138000", "hi"]])
    result = batch_sms.validate(str(path), out=tmp_path / "reports")
    assert (result.status, result.exit_code, result.counts) == ("ready", 0, {"ready": 1})
    assert result.report is not None
    assert result.report.exists()
    assert list(result.rows().columns) == ["phone", "content", *RESULT_COLUMNS]


def test_unknown_options_and_bad_sources_are_type_errors(tmp_path: Path) -> None:
    data = pd.DataFrame({"phone": [8613800138000], "content": ["hi"]})
    with pytest.raises(TypeError, match="'phone_colum'"):
        batch_sms.validate(data, phone_colum="phone")
    with pytest.raises(TypeError, match="'progress'"):
        batch_sms.validate(data, progress=print)
    with pytest.raises(TypeError, match="not list"):
        batch_sms.validate([["8613800138000", "hi"]])  # type: ignore[arg-type]


def test_errors_are_batch_sms_errors_not_exits(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        batch_sms.validate(tmp_path / "missing.csv")
    with pytest.raises(UsageError, match="column names must be text"):
        batch_sms.validate(pd.DataFrame([[8613800138000, "hi"]]))
    with pytest.raises(UsageError, match="header_row= applies to files"):
        batch_sms.validate(pd.DataFrame({"phone": ["8613800138000"]}), header_row=2)
    with pytest.raises(BatchSmsError, match="tps must be positive"):
        batch_sms.send(pd.DataFrame({"phone": [8613800138000], "content": ["hi"]}), tps=0)


def test_rows_agree_with_the_results_sheet_cell_for_cell(tmp_path: Path) -> None:
    data = campaign(4)
    data.loc[2, "phone"] = 123  # one invalid row among the sent ones
    sent = batch_sms.send(data, template="Hello {{ name }}", out=tmp_path / "reports", **FAST)
    assert sent.status == "finished"
    assert sent.report is not None
    sheet = load_workbook(sent.report, read_only=True)["Results"]
    cells = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    rows = sent.rows()
    assert cells[0] == list(rows.columns) == ["name", "phone", *RESULT_COLUMNS]
    framed = [["" if pd.isna(v) else v for v in row] for row in rows.itertuples(index=False)]
    assert cells[1:] == framed
    assert rows["sms_status"][2] == "invalid"
    assert set(rows["sms_status"].drop(index=2)) <= {"sent", "delivered"}  # receipts may be in
    assert str(rows["sms_attempts"].dtype) == "Int64"


def test_results_of_a_run_equal_its_rows(tmp_path: Path) -> None:
    sent = batch_sms.send(campaign(3), template="Hi {{ name }}", out=tmp_path / "r", **FAST)
    again = batch_sms.results(sent.run_id, sandbox=True, out=tmp_path / "r")
    pd.testing.assert_frame_equal(again, sent.rows())
    assert again["phone"].tolist() == cn_numbers(3, START)
    assert set(again["sms_status"]) <= {"sent", "delivered"}


def test_send_inside_a_running_event_loop(tmp_path: Path) -> None:
    async def notebook_cell() -> api.Result:
        return batch_sms.send(campaign(2), template="Hi", out=tmp_path / "r", **FAST)

    sent = asyncio.run(notebook_cell())
    assert (sent.status, sent.exit_code) == ("finished", 0)
    assert sum(sent.counts.values()) == 2


def stop_on_first(update: api.Progress) -> None:
    """A progress callback that presses Ctrl-C once the first row is done."""
    raise KeyboardInterrupt


@pytest.mark.parametrize("in_loop", [False, True], ids=["script", "notebook"])
def test_interrupted_from_python_then_resumed_from_the_shell_sends_each_row_once(
    tmp_path: Path, sandboxes: list[SandboxHandle], in_loop: bool
) -> None:
    data = campaign(5)
    options = {"template": "Hi {{ name }}", "out": tmp_path / "r", "concurrency": 1, **FAST}

    def start() -> api.Result:
        return batch_sms.send(data, progress=stop_on_first, **options)

    async def notebook_cell() -> api.Result:
        return start()

    sent = asyncio.run(notebook_cell()) if in_loop else start()
    assert (sent.status, sent.exit_code) == ("interrupted", 130)
    assert sent.counts.get("pending") == 4
    resume = next(s for s in sent.next_steps if "batch-sms resume" in s).split(": ", 1)[1]
    assert resume.endswith("--sandbox")
    words = shlex.split(resume)[1:]  # as pasted into a shell, without the program name
    out = last_json(run_cli([*words, "--json"]))
    assert (out["status"], out["exit_code"]) == ("finished", 0)
    accepted = Counter(a.sys_message_id for s in sandboxes for a in s.sandbox.accepted)
    assert sorted(accepted) == sorted(f"{sent.run_id}-{row}-0" for row in range(2, 7))
    assert set(accepted.values()) == {1}
    rows = batch_sms.results(sent.run_id, sandbox=True, out=tmp_path / "r")
    assert set(rows["sms_status"]) <= {"sent", "delivered"}
    assert rows["sms_attempts"].tolist() == [1] * 5


def test_a_dataframe_run_keeps_its_input_as_csv_for_report(tmp_path: Path) -> None:
    data = pd.DataFrame({"phone": [8613800138000, None], "content": ["hi, you", "yo"]})
    sent = batch_sms.send(data, input_name="may-list", out=tmp_path / "r", **FAST)
    copy = tmp_path / "r" / sent.run_id / "input.csv"
    assert copy.exists()
    report = last_json(
        run_cli(["report", sent.run_id, "--sandbox", "--json", "--out", str(tmp_path / "r")])
    )
    assert report["counts"] == sent.counts
    runs = last_json(run_cli(["runs", "--sandbox", "--json"]))["runs"]
    assert runs[0]["input"] == "may-list"
    # the same DataFrame again is refused as the same file would be
    with pytest.raises(UsageError, match="already sent as run"):
        batch_sms.send(data, input_name="may-list", out=tmp_path / "r", **FAST)


def test_ctrl_c_while_a_notebook_waits_stops_the_work_and_waits_for_it() -> None:
    released = threading.Event()
    pressed: list[str] = []

    def work() -> str:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the main thread, waiting, gets it
        return "finished what was in flight" if released.wait(30) else "never released"

    def interrupt() -> None:
        pressed.append("stop")
        released.set()

    async def notebook_cell() -> str:
        return api._call(work, interrupt)

    # A kernel runs cells in its loop with Python's own SIGINT handler (asyncio.run would
    # install one that cancels its main task instead).
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(notebook_cell()) == "finished what was in flight"
    finally:
        loop.close()
    assert pressed == ["stop"]


def test_ctrl_c_before_the_run_is_made_makes_none() -> None:
    driver = api._Driver(None, [])
    driver.interrupt()
    assert driver.confirm(plan=None) is False  # type: ignore[arg-type]
    stopped: list[bool] = []
    driver.stop_with(lambda: stopped.append(True))  # a dispatch starting after Ctrl-C stops
    assert stopped == [True]


def test_progress_gets_the_dispatch_updates(tmp_path: Path) -> None:
    seen: list[api.Progress] = []
    batch_sms.send(campaign(3), template="Hi", out=tmp_path / "r", progress=seen.append, **FAST)
    assert seen
    assert seen[-1].done == seen[-1].total == 3


def test_the_readme_from_python_section_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # its reports go to ./reports
    names: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), names)  # noqa: S102 - the README's own example
    assert names["checked"].counts == {"ready": 2, "invalid": 1}
    assert names["sent"].status == "finished"
    assert names["sent"].counts.keys() <= {"sent", "delivered"}
    pd.testing.assert_frame_equal(names["later"], names["sent"].rows())
    assert "phone is empty" in capsys.readouterr().out


def test_a_dry_run_from_python_sends_nothing_and_has_rows(
    tmp_path: Path, sandboxes: list[SandboxHandle]
) -> None:
    sent = batch_sms.send(campaign(2), template="Hi", dry_run=True, out=tmp_path / "r", **FAST)
    assert (sent.status, sent.exit_code) == ("dry-run", 0)
    assert sent.rows()["sms_status"].tolist() == ["ready", "ready"]
    assert not sandboxes  # no provider was even started


def test_a_dataframe_run_is_retried_from_the_shell(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = make_sandbox(forbidden=("casino",))
    for name, value in env_for(handle).items():
        monkeypatch.setenv(name, value)
    data = pd.DataFrame(
        {"phone": [int(n) for n in cn_numbers(3, START)], "content": ["hi", "casino", "yo"]}
    )
    out = tmp_path / "r"
    sent = batch_sms.send(data, base_url=handle.url, tps="unlimited", out=out)
    assert (sent.status, sent.counts) == ("finished", {"sent": 2, "failed": 1})
    retry = next(s for s in sent.next_steps if "batch-sms retry" in s).split(": ", 1)[1]
    again = last_json(run_cli([*shlex.split(retry)[1:], "--base-url", handle.url, "--json"]))
    assert again["counts"] == {"failed": 1}  # the same row, read from the run's input.csv
    rows = batch_sms.results(again["run_id"], out=out)
    assert rows["content"].tolist() == ["casino"]
    assert rows["phone"].tolist() == [cn_numbers(3, START)[1]]


def test_cheaper_texts_and_content_rules_mirror_the_cli(
    tmp_path: Path, sandboxes: list[SandboxHandle]
) -> None:
    words = tmp_path / "words.txt"
    words.write_text("casino\n", encoding="utf-8")
    texts = ["Hi “Ann”, Reply STOP " + "x" * 50, "Hi Bo", "Casino! Reply STOP"]
    frame = pd.DataFrame({"phone": [int(n) for n in cn_numbers(3, START)], "content": texts})
    options = {"must_contain": "Reply STOP", "forbidden_words": words, "gsm_safe": True}
    checked = batch_sms.validate(frame, out=tmp_path / "v", **options)
    assert checked.plan is not None
    assert checked.plan.gsm_safe is not None
    assert (checked.plan.gsm_safe.segments_before, checked.plan.gsm_safe.segments_after) == (2, 1)
    rows = checked.rows()
    assert list(rows["sms_status"]) == ["ready", "invalid", "invalid"]
    assert list(rows["sms_error"])[1:] == [
        'text lacks required "Reply STOP"',
        'text holds forbidden word "casino"',
    ]
    sent = batch_sms.send(frame, out=tmp_path / "s", **FAST, **options)
    assert sent.counts["invalid"] == 2
    assert sum(sent.counts.values()) == 3  # the third sent (and, by now, maybe delivered)
    [accepted] = sandboxes[0].sandbox.accepted
    assert (accepted.content, accepted.segments) == ('Hi "Ann", Reply STOP ' + "x" * 50, 1)


def test_the_canary_options_mirror_the_command_line(
    tmp_path: Path, sandboxes: list[SandboxHandle]
) -> None:
    checked = batch_sms.validate(campaign(3), template="Hi", canary=2, out=tmp_path / "r")
    assert checked.plan is not None
    assert "canary: first 2 messages, wait up to 300 s, go on at >= 80% delivered" in (
        checked.plan.notes
    )
    sent = batch_sms.send(
        campaign(3), template="Hi", canary=2, canary_wait=30, canary_min_delivered=1.0,
        out=tmp_path / "r", **FAST,
    )  # fmt: skip
    assert (sent.status, sent.exit_code) == ("finished", 0)
    assert any(note.startswith("canary of 2: delivered 2") for note in sent.notes)
    [simulator] = sandboxes
    assert len(simulator.sandbox.accepted) == 3


def test_the_window_options_mirror_the_command_lines(tmp_path: Path) -> None:
    frame = pd.DataFrame({"phone": ["+8613800138000"], "content": ["Hello"]})
    window = {"quiet_hours": "21:00-08:00", "not_before": "2099-01-01 09:00 UTC"}
    checked = batch_sms.validate(frame, out=tmp_path, **window)
    assert checked.plan is not None
    assert "1 messages are held now" in checked.plan.notes[-1]
    with pytest.raises(TypeError, match="wait"):
        batch_sms.validate(frame, out=tmp_path, wait=True)
    sent = batch_sms.send(frame, out=tmp_path, state=tmp_path / "s.db", sandbox=True, **window)
    assert (sent.counts, sent.exit_code) == ({"scheduled": 1}, 1)
    assert sent.rows()["sms_error"][0].startswith("--not-before 2099-01-01 09:00 UTC")


def test_the_link_options_mirror_the_command_line(tmp_path: Path, user_data_dir: Path) -> None:
    frame = pd.DataFrame({"phone": cn_numbers(2), "content": ["Sale #1#", "Sale"]})
    checked = batch_sms.validate(frame, short_link="https://nx.ink/a", out=tmp_path)
    assert checked.counts == {"ready": 1, "invalid": 1}
    assert checked.plan is not None
    assert (
        checked.plan.short_link
        == "https://nx.ink/a, placeholder #1#, verbose: yes (the provider's default)"
    )
    sent = batch_sms.send(frame, sandbox=True, short_link="https://nx.ink/a", link_verbose=False,
                          out=tmp_path)  # fmt: skip
    assert sent.counts == {"delivered": 1, "invalid": 1}


def test_max_cost_mirrors_the_command_line(tmp_path: Path, sandboxes: list[SandboxHandle]) -> None:
    """The sandbox's own tariff (0.01 a segment) prices 4 messages at 0.04: a ceiling below is
    refused before any sandbox is even started; one at the estimate sends them all."""
    with pytest.raises(UsageError, match="above the ceiling"):
        batch_sms.send(campaign(4), template="Hi", max_cost=0.039, out=tmp_path / "r", **FAST)
    assert sandboxes == []
    sent = batch_sms.send(campaign(4), template="Hi", max_cost=0.04, out=tmp_path / "r", **FAST)
    assert sent.exit_code == 0
    assert [len(handle.sandbox.accepted) for handle in sandboxes] == [4]
