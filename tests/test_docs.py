"""Meta-tests: the commands, the README and the package metadata agree."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version

import click
import pytest
from helpers import ROOT, run_cli

import batch_sms
from batch_sms.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
SEND = "batch-sms send samples/campaign.xlsx --sandbox --yes"


def commands(
    group: click.Group = cli, prefix: str = "batch-sms"
) -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand, by its full name ("batch-sms receipts serve")."""
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        yield full, command
        if isinstance(command, click.Group):
            yield from commands(command, full)


COMMANDS = dict(commands())


def readme_table_commands() -> list[str]:
    """The first cells of the README's command table, e.g. "batch-sms retry RUN_ID [--status S]"."""
    return re.findall(r"^\| `(batch-sms [^`]+)` \|", README, flags=re.MULTILINE)


def readme_intro_commands() -> list[str]:
    """The indented command lines before the README's first section."""
    intro = README.split("\n## ", 1)[0]
    return [line.strip() for line in intro.splitlines() if line.startswith("    ")]


def all_options() -> set[str]:
    """Every --option of every command (and the group's own, such as --version)."""
    found: set[str] = set()
    for command in [cli, *COMMANDS.values()]:
        for param in command.get_params(click.Context(command)):
            if isinstance(param, click.Option):
                found.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
    return found


def test_the_commands_are_the_designed_ones() -> None:
    assert set(COMMANDS) == {
        "batch-sms validate", "batch-sms send", "batch-sms resume", "batch-sms retry",
        "batch-sms report", "batch-sms runs", "batch-sms receipts", "batch-sms receipts serve",
        "batch-sms sandbox", "batch-sms web",
    }  # fmt: skip


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_has_help(name: str) -> None:
    command = COMMANDS[name]
    assert (command.help or "").strip(), f"{name} has no help text"
    assert command.get_short_help_str().strip()
    no_help = [
        p.name
        for p in command.get_params(click.Context(command))
        if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert no_help == [], f"{name}: options without help: {no_help}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_is_in_readme_table(name: str) -> None:
    table = readme_table_commands()
    assert any(entry == name or entry.startswith(f"{name} ") for entry in table), (
        f"{name} is missing from README.md's command table"
    )


def test_readme_table_names_only_real_commands() -> None:
    for entry in readme_table_commands():
        words = [w for w in entry.split() if re.fullmatch(r"[a-z-]+", w)]
        assert any(" ".join(words[:n]) in COMMANDS for n in (2, 3)), entry


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_runs(name: str) -> None:
    result = run_cli([*name.split()[1:], "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")


def test_version_comes_from_package_metadata() -> None:
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"batch-sms, version {version('batch-sms')}\n"
    assert batch_sms.__version__ == version("batch-sms")


def test_python_m_batch_sms() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "batch_sms", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: python -m batch_sms [OPTIONS] COMMAND [ARGS]...")
    for name in ("validate", "send", "resume", "retry", "report", "runs", "receipts", "sandbox"):
        assert re.search(rf"^  {name}\b", result.stdout, flags=re.MULTILINE), name


def test_readme_starts_with_the_send_and_test_commands() -> None:
    first, second, *_ = readme_intro_commands()
    install_send = first.split(" && ")
    assert install_send[0] == "python3 -m venv .venv"
    assert install_send[1] == ". .venv/bin/activate"
    assert install_send[2] == "pip install ."
    assert install_send[-1] == SEND
    install_test = second.split(" && ")
    assert install_test[:2] == install_send[:2]
    assert install_test[2] == "pip install '.[test]'"
    assert install_test[-1] == "pytest"
    assert (ROOT / "samples" / "campaign.xlsx").is_file()


def test_readme_first_command_is_the_one_the_cli_tests_run() -> None:
    """tests/test_cli_campaigns.py runs the README's send; keep the two in step."""
    from test_cli_campaigns import README_SEND

    assert " ".join(["batch-sms", *README_SEND]) == SEND


def test_readme_options_exist() -> None:
    # Lines that run a benchmark script name that script's options, not batch-sms's.
    text = "\n".join(line for line in README.splitlines() if "benchmarks/" not in line)
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))
    assert mentioned, "README.md names no options"
    missing = sorted(mentioned - all_options())
    assert missing == [], f"README.md names options no command has: {missing}"
