"""Ctrl-C before a run exists or at the prompt, and a cancelled prompt: no run is made."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from helpers import DATA, last_json, run_cli

from batch_sms import console
from batch_sms.commands import campaign


@pytest.mark.parametrize("key", [KeyboardInterrupt, click.Abort])
def test_ctrl_c_at_the_prompt_exits_130_and_makes_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: type[BaseException]
) -> None:
    def pressed(self: console.Screen, plan: object) -> bool:
        raise key()  # what click.confirm raises on Ctrl-C

    monkeypatch.setattr(console.Screen, "confirm", pressed)
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    result = run_cli(["send", str(path), "--sandbox", "--out", str(tmp_path / "rep")])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted: nothing was sent and no run was made"
    runs = last_json(run_cli(["runs", "--sandbox", "--json", "--out", str(tmp_path / "rep")]))
    assert runs["runs"] == []


def test_ctrl_c_during_preflight_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def reading(settings: object, table: object = None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(campaign, "run_preflight", reading)
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    result = run_cli(["validate", str(path), "--out", str(tmp_path / "rep")])
    assert result.exit_code == 130
    assert "interrupted: nothing was sent" in result.stderr


def test_a_cancelled_prompt_names_no_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.Screen, "confirm", lambda self, plan: False)
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    out = str(tmp_path / "rep")
    result = run_cli(["send", str(path), "--sandbox", "--json", "--out", out])
    assert result.exit_code == 1
    said = last_json(result)
    assert (said["status"], said["run_id"]) == ("cancelled", None)
    assert "send: cancelled; no run was made" in result.stderr
    assert last_json(run_cli(["runs", "--sandbox", "--json", "--out", out]))["runs"] == []
