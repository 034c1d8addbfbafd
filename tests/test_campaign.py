"""The validate and send use cases, driven without the CLI: a fake UI, a sandbox, a report."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import DATA, SandboxMaker, accepted_counts, env_for, fresh_python, read_results

from batch_sms.checks.preflight import Plan, Preflight, run_preflight
from batch_sms.commands import campaign
from batch_sms.config import Settings, load_settings


class Ui:
    """A UI that answers the confirmation as told and keeps what it was shown."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.plans: list[Plan] = []
        self.notes: list[str] = []

    def confirm(self, plan: Plan) -> bool:
        self.plans.append(plan)
        return self.answer

    def progress(self, update: Any) -> None:
        """Progress is not looked at here."""

    def note(self, text: str) -> None:
        self.notes.append(text)

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Nothing here stops a send early."""


def settings_for(tmp_path: Path, name: str, **options: Any) -> Settings:
    """Settings for a copy of a data file, with the reports and state db under tmp_path."""
    path = shutil.copy(DATA / name, tmp_path)
    return Settings(input=Path(path), out=tmp_path / "rep", state=tmp_path / "state.db", **options)


def sandbox_settings(tmp_path: Path, url: str, environ: dict[str, str]) -> Settings:
    """Settings to send a copy of national_numbers.csv to the sandbox at `url`."""
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    options = {"input": Path(path), "out": tmp_path / "rep", "state": tmp_path / "state.db",
               "default_region": "CN", "base_url": url}  # fmt: skip
    return load_settings(options, environ=environ, cwd=tmp_path)


def test_validate_reports_every_row_and_sends_nothing(tmp_path: Path) -> None:
    outcome = campaign.validate(settings_for(tmp_path, "national_numbers.csv"))
    assert (outcome.command, outcome.status, outcome.exit_code) == ("validate", "not-ready", 1)
    assert outcome.counts == {"invalid": 2}  # national numbers need a default region
    assert outcome.report == tmp_path / "rep" / outcome.run_id / "report.xlsx"
    assert [r["sms_status"] for r in read_results(outcome.report)] == ["invalid", "invalid"]
    assert outcome.next_steps == [f"fix the rows listed in {outcome.report}, then validate again"]
    ready = campaign.validate(settings_for(tmp_path, "national_numbers.csv", default_region="CN"))
    assert (ready.status, ready.exit_code, ready.counts) == ("ready", 0, {"ready": 2})
    assert ready.next_steps == []
    assert not (tmp_path / "state.db").exists()


def test_a_declined_plan_makes_no_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "national_numbers.csv", default_region="CN", sandbox=True)
    ui = Ui(answer=False)
    outcome = campaign.send(settings, ui)
    assert (outcome.status, outcome.run_id, outcome.exit_code) == ("cancelled", "", 1)
    assert [plan.messages_ready for plan in ui.plans] == [2]
    assert not (tmp_path / "rep").exists()


def test_a_confirmed_send_goes_to_the_provider_once_per_row(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(hourly_cap=None)
    settings = sandbox_settings(tmp_path, handle.url, env_for(handle))
    outcome = campaign.send(settings, Ui(answer=True))
    assert (outcome.status, outcome.exit_code, outcome.counts) == ("finished", 0, {"sent": 2})
    assert sorted(accepted_counts(handle).values()) == [1, 1]
    assert [r["sms_status"] for r in read_results(outcome.report)] == ["sent", "sent"]


def test_a_send_holds_neither_the_input_rows_nor_the_verdicts_while_sending(
    tmp_path: Path, make_sandbox: SandboxMaker, monkeypatch: Any
) -> None:
    handle = make_sandbox(hourly_cap=None)
    settings = sandbox_settings(tmp_path, handle.url, env_for(handle))
    checked: list[Preflight] = []

    def kept(*args: Any, **kwargs: Any) -> Preflight:
        checked.append(run_preflight(*args, **kwargs))
        return checked[-1]

    monkeypatch.setattr(campaign, "run_preflight", kept)
    outcome = campaign.send(settings, Ui(answer=True))
    assert (outcome.status, outcome.counts) == ("finished", {"sent": 2})
    # A million rows would otherwise stay in memory through sending and the report.
    assert (checked[0].table.rows, checked[0].messages) == ([], [])
    rows = read_results(outcome.report)
    assert [(r["sms_status"], r["content"]) for r in rows] == [
        ("sent", "Your code is 4411"), ("sent", "Your code is 9034"),
    ]  # fmt: skip


def test_validate_loads_neither_aiohttp_nor_the_sandbox_server() -> None:
    """Start-up: the commands that only check a file import no HTTP stack (0.2 s of it)."""
    code = (
        "import sys\n"
        "import batch_sms.cli.app\n"
        "from batch_sms.commands import campaign\n"
        "loaded = [m for m in ('aiohttp', 'batch_sms.sandbox.server',\n"
        "          'batch_sms.commands.sending') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    assert fresh_python(code).strip() == "[]"
