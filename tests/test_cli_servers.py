"""`batch-sms sandbox`: its options, refusals, a taken port, and serving until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import aiohttp
import pytest
from click.testing import CliRunner
from helpers import CN, run

from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import (
    Answer,
    Credentials,
    Kind,
    SendRequest,
)


def test_sandbox_command_help() -> None:
    from batch_sms.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--tps-limit", "--hourly-cap", "--fail-88", "--drop", "--hang", "--seed"):
        assert option in result.output


def test_sandbox_command_rejects_impossible_shares() -> None:
    from batch_sms.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "--fail-88", "0.6", "--drop", "0.6"])
    assert result.exit_code == 2
    assert "shares" in result.output


def test_sandbox_command_reports_a_taken_port() -> None:
    from batch_sms.cli import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(cli, ["sandbox", "--port", port])
    assert result.exit_code == 2
    assert "is in use" in result.output


@pytest.mark.slow
def test_sandbox_command_serves_until_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    env["NXCLOUD_ACCESS_KEY"] = "key-from-env"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "batch_sms", "sandbox", "--port", "0", "--tps-limit", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"http://\S+", lines[0])
        assert url is not None, lines
        assert "environment and these new ones" in lines[1]
        printed = dict(re.findall(r"export (\w+)=(\S+)", "".join(lines)))
        assert set(printed) == {"NXCLOUD_ACCESS_SECRET", "NXCLOUD_APP_KEY"}
        creds = Credentials(
            "key-from-env", printed["NXCLOUD_ACCESS_SECRET"], printed["NXCLOUD_APP_KEY"]
        )

        async def main() -> Answer:
            async with aiohttp.ClientSession() as session:
                return await Client(session, url.group(0), creds).send(SendRequest(CN, "Hi"))

        assert run(main()).kind is Kind.ACCEPTED
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "sandbox stopped" in out
    assert "key-from-env" not in "".join(lines) + out


def test_sandbox_command_sets_the_delivered_share_and_the_undelivered_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from batch_sms.cli import cli
    from batch_sms.sandbox import server

    seen: list[server.SandboxConfig] = []

    async def serve_forever(config: server.SandboxConfig, *args: object) -> None:
        seen.append(config)

    monkeypatch.setattr(server, "serve_forever", serve_forever)
    args = ["sandbox", "--port", "0", "--delivered-share", "0", "--undelivered-status", "9"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [config] = seen
    assert (config.dr_delivered_share, config.dr_undelivered_status) == (0.0, "9")
    refused = CliRunner().invoke(cli, ["sandbox", "--undelivered-status", "2"])
    assert refused.exit_code == 2
    assert "'2' is not one of '5', '6'" in refused.output
