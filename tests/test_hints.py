"""The next command to run, spelled with the options that find the run again."""

from __future__ import annotations

import shlex
from pathlib import Path


def test_a_hint_carries_the_options_that_find_the_run_again(tmp_path: Path) -> None:
    from batch_sms.commands import hints
    from batch_sms.config import load_settings

    conf = tmp_path / "my conf.toml"
    conf.write_text('sender = "ACME"\n')
    settings = load_settings(
        {"out": tmp_path / "rep", "state": tmp_path / "s.db", "sandbox": True}, config=conf
    )
    assert shlex.split(hints.command("resume", settings, "RUN")) == [
        "batch-sms", "resume", "RUN", "--out", str(tmp_path / "rep"), "--state",
        str(tmp_path / "s.db"), "--config", str(conf), "--sandbox",
    ]  # fmt: skip
    assert hints.command("report", load_settings({}, environ={}, cwd=tmp_path), "R") == (
        "batch-sms report R"
    )
