"""Options are checked before any file is read or any row is looked at (exit 2)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from helpers import DATA, run_cli


@pytest.mark.parametrize("region", ["china", "XX", "C"])
def test_an_unknown_default_region_is_a_usage_error_naming_valid_codes(
    tmp_path: Path, region: str
) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    out = tmp_path / "rep"
    good = run_cli(["validate", str(path), "--default-region", "cn", "--out", str(out)])
    assert good.exit_code == 0, good.output  # the file is fine with a real region
    bad = run_cli(["validate", str(path), "--default-region", region, "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines() == [
        f"Error: default-region {region!r} is not a region code",
        "Hint: give the two-letter ISO code of the country, e.g. --default-region CN (China), "
        "US, GB, DE, IN, BR",
    ]
    assert not (tmp_path / "b").exists()  # refused before any report was written


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("--tps", "0", "tps must be positive (or 'unlimited')"),
        ("--tps", "-2", "tps must be positive (or 'unlimited')"),
        ("--tps", "none", "--tps: 'none' is not a valid value for tps"),
        ("--hourly-cap", "-1", "hourly-cap must be at least 1"),
        ("--concurrency", "-3", "concurrency must be at least 1"),
        ("--max-attempts", "0", "max-attempts must be at least 1"),
        ("--timeout", "0", "timeout must be positive"),
        ("--max-segments", "0", "max-segments must be at least 1"),
    ],
)
def test_rate_options_that_cannot_work_are_refused_up_front(
    tmp_path: Path, option: str, value: str, error: str
) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    result = run_cli(
        [
            "send",
            str(path),
            "--sandbox",
            "--yes",
            "--default-region",
            "CN",
            "--out",
            str(tmp_path / "rep"),
            option,
            value,
        ]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: {error}"
    assert not (tmp_path / "rep").exists()


def test_only_the_word_unlimited_lifts_the_rate_limit(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    result = run_cli(
        [
            "send",
            str(path),
            "--sandbox",
            "--yes",
            "--default-region",
            "CN",
            "--out",
            str(tmp_path / "rep"),
            "--tps",
            "unlimited",
        ]
    )
    assert result.exit_code == 0, result.output


COMMANDS = [[], ["validate"], ["send"], ["resume"], ["retry"], ["report"], ["runs"],
            ["receipts"], ["receipts", "serve"], ["sandbox"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "batch-sms")
def test_help_is_not_cut_off_at_80_columns(command: list[str]) -> None:
    result = run_cli([*command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    body = result.stdout.split("\n", 1)[1]  # the usage line ends in "[ARGS]..." by design
    assert "..." not in body
    assert max(len(line) for line in body.splitlines()) <= 80


@pytest.mark.parametrize("command", ["resume", "retry"])
def test_resume_help_shows_no_default_the_runs_own_settings_replace(command: str) -> None:
    text = " ".join(run_cli([command, "--help"], env={"COLUMNS": "80"}).stdout.split())
    for default in ("[10]", "[5]", "[20]", "[30]", "[https://api2.nxcloud.com]"):
        assert default not in text
    assert "'unlimited' [the run's own]" in text
    send = " ".join(run_cli(["send", "--help"], env={"COLUMNS": "80"}).stdout.split())
    assert "'unlimited' [10]" in send


@pytest.mark.parametrize("command", ["validate", "runs"])
def test_json_prints_an_error_object_on_exit_2(tmp_path: Path, command: str) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    args = [str(path), "--default-region", "china"] if command == "validate" else ["--tps", "0"]
    if command == "runs":  # runs takes no rate option: a bad config value instead
        conf = tmp_path / "bad.toml"
        conf.write_text("tps = 0\n")
        args = ["--config", str(conf)]
    result = run_cli([command, *args, "--json", "--out", str(tmp_path / "rep")])
    assert result.exit_code == 2
    said = json.loads(result.stdout.strip().splitlines()[-1])
    assert said["status"] == "error"
    assert said["exit_code"] == 2
    assert said["error"].startswith(("default-region", "tps must be positive"))
    assert said["hint"]
    assert result.stderr.startswith("Error: ")  # the human lines still go to stderr


@pytest.mark.parametrize("args", [["send", "x.csv", "--hourly-cap", "many"], ["retry"], ["report"]])
def test_json_prints_an_error_object_for_clicks_own_usage_errors(args: list[str]) -> None:
    result = run_cli([*args, "--json"])
    assert result.exit_code == 2
    said = json.loads(result.stdout.strip().splitlines()[-1])
    assert (said["status"], said["exit_code"]) == ("error", 2)
    assert said["error"]
    assert "Error: " in result.stderr


def test_json_help_and_success_still_exit_0(tmp_path: Path) -> None:
    assert run_cli(["runs", "--help", "--json"]).exit_code == 0
    result = run_cli(["runs", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"] == []


# --- options declared once (batch_sms/cli/options.py) --------------------------------------------


def _options_by_command() -> dict[str, dict[str, click.Option]]:
    """The options of every campaign command, by flag (the simulator's own knobs left out)."""
    from batch_sms.cli import cli

    found: dict[str, dict[str, click.Option]] = {}
    for name, command in cli.commands.items():
        subcommands = command.commands if isinstance(command, click.Group) else {name: command}
        for sub_name, sub in subcommands.items():
            if sub_name == "sandbox":  # configures the simulator: its --hourly-cap is the account's
                continue
            found[sub_name] = {
                p.opts[0]: p
                for p in sub.params
                if isinstance(p, click.Option) and p.opts[0] != "--help"
            }
    return found


def test_an_option_shared_by_commands_means_the_same_in_each() -> None:
    by_flag: dict[str, list[tuple[str, click.Option]]] = {}
    for command, options in _options_by_command().items():
        for flag, option in options.items():
            by_flag.setdefault(flag, []).append((command, option))
    shared = {flag: uses for flag, uses in by_flag.items() if len(uses) > 1}
    assert {"--out", "--state", "--config", "--sandbox", "--json", "--tps"} <= set(shared)
    for flag, uses in shared.items():
        first_command, first = uses[0]
        for command, option in uses[1:]:
            where = f"{flag}: {first_command} vs {command}"
            # Each server (receipts serve, web) listens on a port of its own by default.
            default = (option.default, first.default) if flag != "--port" else (None, None)
            assert (option.name, default[0], option.is_flag) == (
                first.name, default[1], first.is_flag
            ), where  # fmt: skip
            # resume and retry show "[the run's own]" where send shows the Settings default
            assert (option.help or "").split(" [")[0] == (first.help or "").split(" [")[0], where


@pytest.mark.parametrize("name", ["tps", "hourly_cap", "concurrency", "max_attempts", "timeout",
                                  "base_url", "out"])  # fmt: skip
def test_send_help_shows_the_settings_defaults(name: str) -> None:
    from batch_sms.config import Settings

    value = getattr(Settings(), name)
    shown = str(int(value)) if isinstance(value, float) else str(value)
    text = " ".join(run_cli(["send", "--help"], env={"COLUMNS": "200"}).stdout.split())
    flag = "--" + name.replace("_", "-")
    assert re.search(rf"{flag} \w+ [^[]*\[{re.escape(shown)}\]\.", text), (flag, shown)


def test_the_sandbox_command_defaults_are_sandbox_config_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from batch_sms.sandbox import server

    made: list[server.SandboxConfig] = []

    async def serve_forever(config: server.SandboxConfig, *args: object) -> None:
        made.append(config)

    monkeypatch.setattr(server, "serve_forever", serve_forever)
    assert run_cli(["sandbox"]).exit_code == 0
    [config] = made
    default = server.SandboxConfig()
    for field in dataclasses.fields(server.SandboxConfig):
        if field.name not in {"credentials", "clock"}:
            assert getattr(config, field.name) == getattr(default, field.name), field.name


def test_a_sandbox_run_uses_the_sandbox_config_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batch_sms.commands import sending, tariff
    from batch_sms.sandbox import server

    made: list[server.SandboxConfig] = []
    real = server.SandboxConfig

    def config(**given: Any) -> server.SandboxConfig:
        made.append(real(**given))
        return made[-1]

    monkeypatch.setattr(sending.server, "SandboxConfig", config)
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    result = run_cli(["send", str(path), "--sandbox", "--yes", "-q", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [used] = made
    default = real()
    assert (used.hourly_cap, used.price, used.currency) == (
        default.hourly_cap, default.price, default.currency
    )  # fmt: skip
    assert (tariff.SANDBOX_PRICES.default, tariff.SANDBOX_PRICES.currency) == (
        default.price, default.currency
    )  # fmt: skip
