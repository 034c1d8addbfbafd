"""batch_sms.web.app and the `web` command: the printed address, the command's options, and
the app staying out of the other commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import fresh_python
from webclient import web_settings

from batch_sms.cli import cli
from batch_sms.web import WebConfig, url

ANY_HOST = "0.0.0.0"  # noqa: S104 (a bind address under test, nothing listens on it)


@pytest.mark.parametrize(
    ("host", "token", "expected"),
    [
        ("127.0.0.1", None, "http://127.0.0.1:8080/"),
        ("::1", None, "http://[::1]:8080/"),
        (ANY_HOST, "tok", "http://127.0.0.1:8080/?token=tok"),
        ("192.168.1.20", "tok", "http://192.168.1.20:8080/?token=tok"),
    ],
)
def test_url_to_open(tmp_path: Path, host: str, token: str | None, expected: str) -> None:
    assert url(WebConfig(web_settings(tmp_path), host=host, token=token)) == expected


def test_web_help_lists_its_options() -> None:
    result = CliRunner().invoke(cli, ["web", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--sandbox", "--out", "--state", "--config", "--token",
                   "--max-upload-mb"):  # fmt: skip
        assert option in result.output
    assert "127.0.0.1" in result.output
    assert "8080" in result.output


def test_other_commands_do_not_load_the_web_app() -> None:
    code = "import sys; from batch_sms.cli import main; print('batch_sms.web' in sys.modules)"
    assert fresh_python(code).strip() == "False"


def test_web_refuses_a_bad_config_before_listening(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("tps = 0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["web", "--config", str(config), "--port", "1"])
    assert result.exit_code == 2
    assert "Error: tps must be positive" in result.output
