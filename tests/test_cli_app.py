"""The CLI's one error path: every user error ends in `Error:` (and `Hint:`) lines and exit 2."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from batch_sms.commands import campaign
from batch_sms.provider import receipts

DATA = Path(__file__).parent / "data"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


@pytest.mark.parametrize("command", [["receipts", "serve"], ["sandbox"]])
def test_a_port_in_use_is_an_error_with_exit_2(
    tmp_path: Path, taken_port: int, command: list[str]
) -> None:
    state = ["--state", str(tmp_path / "st.db")] if command[0] == "receipts" else []
    result = run_cli([*command, "--port", str(taken_port), *state])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: port {taken_port} on 127.0.0.1 is in use; choose another with --port\n"
    )
    assert result.stdout == ""  # nothing claims to listen


@pytest.mark.parametrize("command", [["receipts", "serve"], ["sandbox"]])
def test_an_address_not_of_this_machine_is_an_error(tmp_path: Path, command: list[str]) -> None:
    state = ["--state", str(tmp_path / "st.db")] if command[0] == "receipts" else []
    result = run_cli([*command, "--host", "192.0.2.1", "--port", "0", *state])  # TEST-NET-1
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: cannot listen on 192.0.2.1:0: not an address of this machine\n"
        "Hint: give --host an address of this machine, e.g. 127.0.0.1 or 0.0.0.0\n"
    )


def test_ctrl_c_stops_the_receipts_server_with_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(receipts, "serve", interrupted)
    result = run_cli(["receipts", "serve", "--state", str(tmp_path / "st.db")])
    assert result.exit_code == 0
    assert result.stdout == "stopped\n"


def test_sandbox_shares_over_one_are_an_error() -> None:
    result = run_cli(["sandbox", "--fail-88", "0.6", "--drop", "0.6"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: fault shares must lie in [0, 1] and add up to at most 1\n"
        "Hint: see batch-sms sandbox --help for each option\n"
    )


def test_a_config_that_is_a_folder_is_an_error(tmp_path: Path) -> None:
    result = run_cli(["runs", "--config", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path}: cannot read the config file: Is a directory\n"
        "Hint: check the path given to --config\n"
    )


@pytest.mark.parametrize("command", ["runs", "report"])
def test_a_state_db_that_is_a_folder_is_an_error(tmp_path: Path, command: str) -> None:
    args = ["report", "20260101-000000-abcd"] if command == "report" else ["runs"]
    result = run_cli([*args, "--state", str(tmp_path), "--json"])
    assert result.exit_code == 2
    message = f"{tmp_path}: cannot open the state db: unable to open database file"
    assert result.stderr == (
        f"Error: {message}\nHint: point --state at a file you may write, in a folder that exists\n"
    )
    assert json.loads(result.stdout.splitlines()[-1])["error"] == message


@pytest.mark.parametrize("command", ["validate", "send"])
def test_an_out_folder_under_a_file_is_an_error(tmp_path: Path, command: str) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    extra = ["--sandbox", "--yes"] if command == "send" else []
    result = run_cli([command, str(path), *extra, "--out", str(blocker / "rep"), "-q"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Error: {blocker / 'rep'}")
    assert lines[0].endswith(": Not a directory")
    assert lines[1] == "Hint: check that path and its permissions"
    runs = json.loads(run_cli(["runs", "--sandbox", "--json"]).stdout)
    assert runs["runs"] == []  # the run never started


def test_a_template_file_that_is_a_folder_is_an_error(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    result = run_cli(
        ["validate", str(path), "--template-file", str(tmp_path), "--out", str(tmp_path / "rep")]
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {tmp_path}: Is a directory\nHint: check that path and its permissions\n"
    )


def test_ctrl_c_while_listing_runs_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def pressed(settings: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(campaign, "list_runs", pressed)
    result = run_cli(["runs"])
    assert result.exit_code == 130
    assert result.stderr == "\ninterrupted: nothing was sent and no run was made\n"


@pytest.mark.parametrize("command", [["receipts", "serve"], ["sandbox"]])
def test_a_port_out_of_range_is_a_usage_error(command: list[str]) -> None:
    result = run_cli([*command, "--port", "99999"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535."
    )


def test_an_out_folder_the_user_may_not_write_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    locked = tmp_path / "locked"
    mkdir = Path.mkdir

    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.is_relative_to(locked):  # what a folder without write permission answers
            raise PermissionError(13, "Permission denied", str(self))
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    result = run_cli(["validate", str(path), "--out", str(locked), "--json"])
    assert result.exit_code == 2
    error, hint = result.stderr.splitlines()
    assert error.startswith(f"Error: {locked}")
    assert error.endswith(": Permission denied")
    assert hint == "Hint: check that path and its permissions"
    assert json.loads(result.stdout.splitlines()[-1])["exit_code"] == 2
