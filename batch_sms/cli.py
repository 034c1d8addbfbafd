"""The command line: parse options, call one campaign function, print, choose the exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from batch_sms import __version__
from batch_sms.cli_sandbox import sandbox_command
from batch_sms.commands import campaign
from batch_sms.config import Settings, load_settings
from batch_sms.console import Screen
from batch_sms.errors import BatchSmsError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """click's group, except that with --json a usage error click finds itself (a bad option
    value, a missing argument) also ends in the JSON error object, as ours do."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's main; with --json, its own usage errors print the JSON error object too."""
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as error:
            error.show()
            _json_error(error.format_message(), "see batch-sms COMMAND --help", error.exit_code)
            raise SystemExit(error.exit_code) from None
        except click.Abort:
            click.echo("\ninterrupted: nothing was sent and no run was made", err=True)
            raise SystemExit(130) from None
        raise SystemExit(code if isinstance(code, int) else 0)


def _json_error(message: str, hint: str, exit_code: int) -> None:
    """The --json line of a command that failed."""
    click.echo(json.dumps({"status": "error", "error": message, "hint": hint,
                           "exit_code": exit_code}, ensure_ascii=False))  # fmt: skip


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batch-sms")
def cli() -> None:
    """Send personalised SMS campaigns from CSV/Excel files through the NXCloud SMS API."""


def main() -> None:
    """Run the command line."""
    cli()


def _fail(error: BatchSmsError, as_json: bool = False) -> None:
    """Print a user-facing error and its hint (with --json, also as the JSON line on stdout);
    exit with its code."""
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)
    if as_json:
        _json_error(error.message, error.hint, error.exit_code)
    raise SystemExit(error.exit_code)


def _outputs(func: F) -> F:
    """Options every command that writes reports takes."""
    for option in reversed(
        [
            click.option("--out", type=click.Path(path_type=Path), help="Output folder [reports]."),
            click.option(
                "--state",
                type=click.Path(path_type=Path),
                help="State db [one per user, in the user's data folder].",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(path_type=Path),
                help="Config file [./batch-sms.toml when present].",
            ),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="Print one JSON object on stdout as the last line.",
            ),
            click.option("--quiet", "-q", is_flag=True, help="Print only errors (and --json)."),
        ]
    ):
        func = option(func)
    return func


def _rate(own: bool = False) -> Callable[[F], F]:
    """Options that shape the sending (send, resume, retry). For `own` (resume, retry) the run's
    recorded settings are the defaults, so the help shows no other."""

    def default(value: str) -> str:
        return " [the run's own]" if own else f" [{value}]"

    def decorate(func: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--tps",
                    type=str,
                    help="Requests started per second at most, or "
                    "'unlimited'" + default("10") + ".",
                ),
                click.option(
                    "--hourly-cap",
                    type=int,
                    help="Accepted messages per number per sliding hour" + default("5") + ".",
                ),
                click.option(
                    "--concurrency",
                    type=int,
                    help="Requests in flight at most" + default("20") + ".",
                ),
                click.option(
                    "--max-attempts",
                    type=int,
                    help="Attempts per message on transient failures" + default("5") + ".",
                ),
                click.option(
                    "--timeout",
                    type=float,
                    help="Seconds to wait for an answer" + default("30") + ".",
                ),
                click.option(
                    "--base-url",
                    help="Provider base URL" + default("https://api2.nxcloud.com") + ".",
                ),
                click.option("--dr-url", help="Where the provider pushes delivery receipts."),
                click.option(
                    "--sandbox",
                    is_flag=True,
                    default=None,
                    help="Use the built-in NXCloud simulator (no account needed).",
                ),
                click.option(
                    "--yes", "-y", is_flag=True, default=None, help="Don't ask before sending."
                ),
            ]
        ):
            func = option(func)
        return func

    return decorate


def _preflight(func: F) -> F:
    """Options that describe the input and its checks (validate, send)."""
    for option in reversed(
        [
            click.argument("input", type=click.Path(path_type=Path)),
            click.option("--phone-column", help="Column with the phone numbers [auto-detected]."),
            click.option("--content-column", help="Column with the message text [auto-detected]."),
            click.option("--template", help="Message template, e.g. 'Hi {{ name }}'."),
            click.option(
                "--template-file",
                type=click.Path(path_type=Path),
                help="File holding the message template (UTF-8).",
            ),
            click.option(
                "--sheet",
                help="Worksheet to read, hidden ones too [the tab the workbook "
                "opens on; if empty, the first visible sheet with rows].",
            ),
            click.option("--encoding", help="Text encoding of a CSV file, e.g. cp1252 [guessed]."),
            click.option(
                "--header-row",
                type=int,
                help="Row number of the header, below title rows [the first non-empty row].",
            ),
            click.option(
                "--default-region", help="Country of numbers written without country code, e.g. CN."
            ),
            click.option("--sender", help="Sender id (sourceAddress): 1-20 letters or digits."),
            click.option(
                "--suppress",
                type=click.Path(path_type=Path),
                help="File of numbers never to message (opt-outs).",
            ),
            click.option(
                "--allow-duplicates",
                is_flag=True,
                default=None,
                help="Send the same text to the same number again.",
            ),
            click.option("--max-segments", type=int, help="Refuse texts longer than N messages."),
            click.option(
                "--allow-landlines",
                is_flag=True,
                default=None,
                help="Send to landline, toll-free, shared-cost and company numbers too.",
            ),
            click.option(
                "--trust-numeric-phones",
                is_flag=True,
                default=None,
                help="Accept number cells that look rounded by Excel (8613910000000).",
            ),
        ]
    ):
        func = option(func)
    return func


def _settings(options: dict[str, Any]) -> tuple[Settings, Screen]:
    """Split out the printing options, merge the rest into settings."""
    screen = Screen(
        quiet=options.pop("quiet", False),
        as_json=options.pop("as_json", False),
        assume_yes=bool(options.get("yes")),
    )
    config_file = options.pop("config_file", None)
    settings = load_settings(options, config=config_file)
    screen.assume_yes = settings.yes
    if note := campaign.adopt_old_state(settings):
        screen.note(note)
    return settings, screen


def _run(options: dict[str, Any], action: Callable[[Settings, Screen], campaign.Outcome]) -> None:
    """Build settings, run the use case, print its outcome, exit with its code."""
    as_json = bool(options.get("as_json"))
    try:
        settings, screen = _settings(options)
        outcome = action(settings, screen)
    except BatchSmsError as error:
        _fail(error, as_json)
        return
    except (KeyboardInterrupt, click.Abort):  # Ctrl-C before any run exists (pre-flight, prompt)
        click.echo("\ninterrupted: nothing was sent and no run was made", err=True)
        raise SystemExit(130) from None
    screen.show_outcome(outcome)
    raise SystemExit(outcome.exit_code)


@cli.command(short_help="Check INPUT: a report of every row; nothing is sent.")
@_preflight
@_outputs
def validate(**options: Any) -> None:
    """Check INPUT before sending: a report of every row; nothing is sent."""
    _run(options, lambda s, ui: campaign.validate(s))


@cli.command(short_help="Check, plan, confirm and send INPUT; write its report.")
@_preflight
@_rate()
@click.option(
    "--dry-run",
    is_flag=True,
    default=None,
    help="Show the plan and build every request (signed when credentials are set); send none.",
)
@_outputs
def send(**options: Any) -> None:
    """Check, plan, confirm and send the campaign in INPUT, then write its report."""
    _run(options, campaign.send)


OVERRIDABLE = (
    "tps",
    "hourly_cap",
    "concurrency",
    "max_attempts",
    "timeout",
    "base_url",
    "dr_url",
    "sandbox",
)


def _given(options: dict[str, Any]) -> list[str]:
    """The run settings this command line overrides."""
    return [name for name in OVERRIDABLE if options.get(name) is not None]


@cli.command(short_help="Continue a stopped or interrupted run.")
@click.argument("run_id")
@_rate(own=True)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Also send messages whose fate is unknown (they may arrive twice).",
)
@click.option(
    "--settle",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds after a request before its absence from the provider's records "
    "proves it never arrived.",
)
@_outputs
def resume(run_id: str, resend_unknown: bool, settle: float, **options: Any) -> None:
    """Continue a stopped or interrupted run (rate options override the run's own)."""
    given = _given(options)
    _run(
        options,
        lambda s, ui: campaign.resume(
            campaign.require_run(run_id),
            s,
            ui,
            resend_unknown=resend_unknown,
            settle=settle,
            given=given,
        ),
    )


@cli.command(short_help="Send RUN_ID's failed rows again, as a new run.")
@click.argument("run_id")
@click.option(
    "--status",
    "statuses",
    default=",".join(campaign.RETRY_DEFAULT),
    show_default=True,
    help="Which rows of RUN_ID to send again (also: undelivered, unknown).",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Allow --status unknown: those may have arrived and would arrive twice.",
)
@_rate(own=True)
@_outputs
def retry(run_id: str, statuses: str, resend_unknown: bool, **options: Any) -> None:
    """Send again, as a new run, the rows of RUN_ID that did not succeed."""
    given = _given(options)
    _run(
        options,
        lambda s, ui: campaign.retry(
            campaign.require_run(run_id),
            s,
            ui,
            statuses=campaign.parse_statuses(statuses),
            resend_unknown=resend_unknown,
            given=given,
        ),
    )


@cli.command(short_help="Write RUN_ID's report again (with new receipts).")
@click.argument("run_id")
@click.option("--sandbox", is_flag=True, default=None, help="A run made with --sandbox.")
@_outputs
def report(run_id: str, **options: Any) -> None:
    """Write RUN_ID's report again from the state db (with receipts received since)."""
    _run(options, lambda s, ui: campaign.rewrite_report(campaign.require_run(run_id), s))


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), help="Output folder [reports].")
@click.option("--state", type=click.Path(path_type=Path), help="State db.")
@click.option("--sandbox", is_flag=True, default=None, help="List the runs made with --sandbox.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
def runs(**options: Any) -> None:
    """List the runs in the state db with their counts."""
    as_json = options.pop("as_json")
    try:
        settings = load_settings(options, config=options.pop("config_file", None))
        note = campaign.adopt_old_state(settings)
        found = campaign.list_runs(settings)
        hint = campaign.other_runs_hint(settings)
    except BatchSmsError as error:
        _fail(error, as_json)
        return
    if note:
        click.echo(note, err=True)
    if as_json:
        state = str(settings.state_path)
        click.echo(json.dumps({"state": state, "runs": found}, ensure_ascii=False))
        return
    Screen().show_runs(found, settings.state_path, hint)


@cli.group()
def receipts() -> None:
    """Delivery receipts pushed by the provider."""


@receipts.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=int, help="Port to listen on.")
@click.option("--path", default="/dr", show_default=True, help="URL path of the endpoint.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder [reports].")
@click.option("--state", type=click.Path(path_type=Path), help="State db.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file.")
def receipts_serve(host: str, port: int, path: str, **options: Any) -> None:
    """Store delivery receipts in the state db until stopped (Ctrl-C)."""
    import asyncio

    from batch_sms.provider import receipts as receiver

    try:
        settings = load_settings(options, config=options.pop("config_file", None))
        note = campaign.adopt_old_state(settings)
    except BatchSmsError as error:
        _fail(error)
        return
    if note:
        click.echo(note)
    click.echo(
        f"receiving delivery receipts at http://{host}:{port}{path} "
        f"into {settings.state_path}; Ctrl-C stops"
    )
    try:
        asyncio.run(receiver.serve(settings.state_path, host, port, path))
    except KeyboardInterrupt:
        click.echo("stopped")


cli.add_command(sandbox_command)


@cli.command(short_help="The campaign flow in a browser: upload, check, send, watch, report.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option("--sandbox", is_flag=True, default=None, help="Send to the built-in simulator.")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder [reports].")
@click.option("--state", type=click.Path(path_type=Path), help="State db.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Config file.")
@click.option(
    "--token",
    help="Access token the browser must give [BATCH_SMS_WEB_TOKEN; generated off loopback].",
)
@click.option("--max-upload-mb", default=50.0, show_default=True, type=float,
              help="Largest file a browser may upload, in MB.")  # fmt: skip
def web(host: str, port: int, token: str | None, max_upload_mb: float, **options: Any) -> None:
    """Serve the campaign flow to a browser until stopped (Ctrl-C)."""
    import asyncio
    import os

    from batch_sms import web as webapp  # aiohttp only when this command runs

    try:
        settings = load_settings(options, config=options.pop("config_file", None))
    except BatchSmsError as error:
        _fail(error)
        return
    token = webapp.security.access_token(host, token, os.environ)
    config = webapp.WebConfig(settings, host, port, token, max_upload_mb)
    ready = lambda address: click.echo(f"batch-sms web: open {address}  (Ctrl-C stops)")  # noqa: E731
    try:
        asyncio.run(webapp.serve(config, ready))
    except KeyboardInterrupt:
        click.echo("stopped")
    except OSError as error:
        _fail(UsageError(f"cannot listen on {host}:{port}: {error.strerror}",
                         "give another --port, or stop the program using it"))  # fmt: skip
