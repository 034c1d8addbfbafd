"""The campaign commands: validate, send, resume, retry, report, runs.

Each parses its options, calls one use case of `batch_sms.commands` and prints the outcome. The
use cases (and with them aiohttp, openpyxl, rich) are imported when a command runs, not when
`--help` is asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from batch_sms.cli import options as opt
from batch_sms.cli.app import cli, guard
from batch_sms.config import Settings, load_settings
from batch_sms.models import RETRY_DEFAULT, duration_text
from batch_sms.provider.lookup import RECEIPT_GRACE
from batch_sms.provider.reconcile import SETTLE

if TYPE_CHECKING:
    from batch_sms.commands.outcome import RunOutcome
    from batch_sms.console import Screen

__all__ = ["report", "resume", "retry", "runs", "send", "validate"]


def load(options: dict[str, Any], note: Callable[[str], None]) -> Settings:
    """Settings from the options (the config file among them), after moving an old state db
    (`note` says so)."""
    from batch_sms.commands import campaign

    settings = load_settings(options, config=options.pop("config_file", None))
    if said := campaign.adopt_old_state(settings):
        note(said)
    return settings


def _run(options: dict[str, Any], action: Callable[[Settings, Screen], RunOutcome]) -> None:
    """Build settings, run the use case, print its outcome, exit with its code."""
    from batch_sms.console import Screen

    screen = Screen(
        quiet=options.pop("quiet", False),
        as_json=options.pop("as_json", False),
        assume_yes=bool(options.get("yes")),
    )
    with guard(screen.as_json):
        settings = load(options, screen.note)
        screen.assume_yes = settings.yes
        outcome = action(settings, screen)
    screen.show_outcome(outcome)
    raise SystemExit(outcome.exit_code)


@cli.command(short_help="Check INPUT: a report of every row; nothing is sent.")
@opt.preflight
@opt.canary
@opt.window()
@opt.links()
@opt.max_cost()
@opt.outputs
def validate(**options: Any) -> None:
    """Check INPUT before sending: a report of every row; nothing is sent."""
    from batch_sms.commands import campaign

    _run(options, lambda s, ui: campaign.validate(s))


@cli.command(short_help="Check, plan, confirm and send INPUT; write its report.")
@opt.preflight
@opt.rate()
@opt.canary
@opt.window()
@opt.WAIT
@click.option(
    "--dry-run",
    is_flag=True,
    default=None,
    help="Show the plan and build every request (signed when credentials are set); send none.",
)
@opt.outputs
def send(**options: Any) -> None:
    """Check, plan, confirm and send the campaign in INPUT, then write its report."""
    from batch_sms.commands import campaign

    _run(options, campaign.send)


OVERRIDABLE = (
    "tps", "hourly_cap", "concurrency", "max_attempts", "timeout", "base_url", "dr_url", "sandbox",
    "group", "verification_app",
    "quiet_hours", "default_timezone", "not_before", "send_until", "recipient_time", "wait",
    "short_link", "link_verbose",
    "max_cost",
)  # fmt: skip


def _given(options: dict[str, Any]) -> list[str]:
    """The run settings this command line overrides."""
    return [name for name in OVERRIDABLE if options.get(name) is not None]


@cli.command(short_help="Continue a stopped or interrupted run.")
@click.argument("run_id")
@opt.rate(own=True)
@opt.window(own=True)
@opt.WAIT
@opt.RESEND_UNKNOWN
@click.option(
    "--settle",
    type=float,
    default=SETTLE,
    show_default=True,
    help="Seconds after a request before its absence from the provider's records "
    "proves it never arrived.",
)
@click.option(
    "--skip-canary",
    is_flag=True,
    help="Send the rest without the canary the run has not passed (after one that failed).",
)
@opt.outputs
def resume(
    run_id: str, resend_unknown: bool, settle: float, skip_canary: bool, **options: Any
) -> None:
    """Continue a stopped or interrupted run (rate options override the run's own)."""
    from batch_sms.commands import campaign

    given = _given(options)
    _run(
        options,
        lambda s, ui: campaign.resume(
            campaign.require_run(run_id, s),
            s,
            ui,
            resend_unknown=resend_unknown,
            settle=settle,
            given=given,
            skip_canary=skip_canary,
        ),
    )


@cli.command(short_help="Send RUN_ID's failed rows again, as a new run.")
@click.argument("run_id")
@click.option(
    "--status",
    "statuses",
    default=",".join(RETRY_DEFAULT),
    show_default=True,
    help="Which rows of RUN_ID to send again (also: undelivered, unknown, scheduled, expired).",
)
@opt.RESEND_UNKNOWN
@opt.rate(own=True)
@opt.window(own=True)
@opt.WAIT
@opt.outputs
def retry(run_id: str, statuses: str, resend_unknown: bool, **options: Any) -> None:
    """Send again, as a new run, the rows of RUN_ID that did not succeed."""
    from batch_sms.commands import campaign

    given = _given(options)
    _run(
        options,
        lambda s, ui: campaign.retry(
            campaign.require_run(run_id, s),
            s,
            ui,
            statuses=campaign.parse_statuses(statuses),
            resend_unknown=resend_unknown,
            given=given,
        ),
    )


@cli.command(short_help="Write RUN_ID's report again (with new receipts).")
@click.argument("run_id")
@click.option(
    "--refresh",
    is_flag=True,
    help="First ask the provider's records about sent messages whose receipt never came "
    "(needs the credentials of the account that sent the run).",
)
@click.option(
    "--receipt-grace",
    metavar="DURATION",
    callback=opt.duration,
    help="With --refresh: ask only about messages accepted longer ago than this, e.g. 90s, "
    f"30m, 2h [{duration_text(RECEIPT_GRACE)}].",
)
@opt.SANDBOX
@opt.outputs
def report(run_id: str, refresh: bool, receipt_grace: float | None, **options: Any) -> None:
    """Write RUN_ID's report again from the state db (with receipts received since)."""
    from batch_sms.commands import campaign

    if receipt_grace is not None and not refresh:
        raise click.UsageError("--receipt-grace applies with --refresh only")
    grace = (RECEIPT_GRACE if receipt_grace is None else receipt_grace) if refresh else None
    _run(
        options,
        lambda s, ui: campaign.rewrite_report(
            campaign.require_run(run_id, s), s, ui, refresh=grace
        ),
    )


@cli.command()
@opt.apply(opt.OUT, opt.STATE, opt.SANDBOX, opt.CONFIG, opt.JSON)
def runs(as_json: bool, **options: Any) -> None:
    """List the runs in the state db with their counts."""
    from batch_sms.commands import campaign
    from batch_sms.console import Screen

    with guard(as_json):
        settings = load(options, lambda said: click.echo(said, err=True))
        found = campaign.list_runs(settings)
        hint = campaign.other_runs_hint(settings)
    if as_json:
        state = str(settings.state_path)
        click.echo(json.dumps({"state": state, "runs": found}, ensure_ascii=False))
        return
    Screen().show_runs(found, settings.state_path, hint)
