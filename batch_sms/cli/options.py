"""Every option declared once: the same name, help text and default wherever a command takes it.

Defaults shown in help come from `Settings` (campaign options) and `SandboxConfig` (simulator
knobs), so a number is written in one place only. Campaign options default to None here: None
means "not given", and `load_settings` fills in the config file, the environment or the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from batch_sms.config import CONFIG_NAME, EVENT_LOOPS, Settings
from batch_sms.models import parse_duration
from batch_sms.sandbox.rules import UNDELIVERED_STATUSES as _UNDELIVERED
from batch_sms.sandbox.rules import SandboxConfig

__all__ = [
    "CONFIG", "JSON", "OUT", "QUIET", "RESEND_UNKNOWN", "SANDBOX", "STATE", "WAIT", "WINDOW",
    "apply", "canary", "duration", "links", "listen", "max_cost", "outputs", "preflight", "rate",
    "sandbox_knobs", "shown", "token", "window",
]  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]


def shown(name: str) -> str:
    """How help text shows the default of the setting `name` ("10", "unlimited", "reports")."""
    value = getattr(Settings(), name)
    if value is None:
        return "unlimited" if name == "tps" else "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def apply(*decorators: Callable[[Any], Any]) -> Callable[[F], F]:
    """One decorator made of several, applied so that help lists them in the order given."""

    def decorate(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


_PATH = click.Path(path_type=Path)

OUT = click.option("--out", type=_PATH, help=f"Output folder [{shown('out')}].")
STATE = click.option(
    "--state", type=_PATH, help="State db [one per user, in the user's data folder]."
)
CONFIG = click.option(
    "--config", "config_file", type=_PATH, help=f"Config file [./{CONFIG_NAME} when present]."
)
SANDBOX = click.option(
    "--sandbox",
    is_flag=True,
    default=None,
    help="Use the built-in NXCloud simulator and its own state db (no account needed).",
)
JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout as the last line."
)
QUIET = click.option("--quiet", "-q", is_flag=True, help="Print only errors (and --json).")
RESEND_UNKNOWN = click.option(
    "--resend-unknown",
    is_flag=True,
    help="Also send messages whose fate is unknown: they may have arrived and would arrive "
    "twice (retry takes them with --status unknown).",
)


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """An option's duration such as 30m, 2h or 90s (models.parse_duration) as seconds."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a duration; give e.g. 90s, 30m, 2h or 1h30m", ctx, param
        ) from None


def listen(host: str, port: int) -> Callable[[F], F]:
    """Where a server command listens (receipts serve, sandbox), with its defaults."""
    return apply(
        click.option("--host", default=host, show_default=True, help="Address to listen on."),
        click.option(
            "--port",
            default=port,
            show_default=True,
            type=click.IntRange(0, 65535),
            help="Port to listen on (0: any free one).",
        ),
    )


def token(source: str) -> Decorator[Any]:
    """The access token a server command (receipts serve, web) requires; `source` says where it
    comes from when not given."""
    return click.option("--token", help=f"Access token every request must carry [{source}].")


# Options every command that writes reports takes; they locate the run and its config.
outputs = apply(OUT, STATE, CONFIG, JSON, QUIET)


# The rate options: flag, Settings field, value type, what it means (the default follows).
_RATE = (
    ("--tps", "tps", str, "Requests started per second at most, or 'unlimited'"),
    ("--hourly-cap", "hourly_cap", int, "Accepted messages per number per sliding hour"),
    ("--concurrency", "concurrency", int, "Requests in flight at most"),
    (
        "--group",
        "group",
        int,
        "Identical texts to up to N numbers in one request (receipts "
        "come to the app's receipt URL; 1: one number per request)",
    ),
    ("--max-attempts", "max_attempts", int, "Attempts per message on transient failures"),
    ("--timeout", "timeout", float, "Seconds to wait for an answer"),
    ("--base-url", "base_url", str, "Provider base URL"),
)


OWN = "the run's own"


def links(own: bool = False) -> Callable[[F], F]:
    """The short-link options (validate, send, resume, retry); for `own` the run's are the
    defaults."""
    return apply(
        click.option(
            "--short-link",
            metavar="URL",
            help="A short link of your account, sent as shortLink; the provider puts it where "
            f"a text has #1#, so rows without it are invalid [{OWN if own else 'none'}].",
        ),
        click.option(
            "--link-verbose/--no-link-verbose",
            default=None,
            help="Whether the provider collects clicks on the short link (linkVerbose) "
            f"[{OWN if own else 'the provider default: yes'}].",
        ),
    )


def max_cost(own: bool = False) -> Decorator[Any]:
    """--max-cost: the cost ceiling (validate shows it in the plan; send, resume, retry keep to
    it). For `own` (resume, retry) the run's recorded ceiling is the default."""
    return click.option(
        "--max-cost",
        type=click.FloatRange(min=0, min_open=True),
        metavar="AMOUNT",
        help="Cost ceiling of the run and its retries, in the prices' currency: refuse to start "
        "when the estimate is above it or a country has no price, stop (resumable) before the "
        "cost so far (receipts' prices, else the estimate) would pass it "
        f"[{OWN if own else 'none'}].",
    )


def rate(own: bool = False) -> Callable[[F], F]:
    """Options that shape the sending (send, resume, retry). For `own` (resume, retry) the run's
    recorded settings are the defaults, so the help shows no other."""
    limits = [
        click.option(flag, type=kind, help=f"{text} [{OWN if own else shown(name)}].")
        for flag, name, kind, text in _RATE
    ]
    return apply(
        *limits,
        max_cost(own),
        click.option("--dr-url", help="Where the provider pushes delivery receipts."),
        click.option(
            "--verification-app",
            is_flag=True,
            default=None,
            help="The app is a verification-code one: refuse --group above 5 (code 104) "
            f"[{OWN if own else 'no'}].",
        ),
        links(own),
        SANDBOX,
        click.option(
            "--event-loop",
            type=click.Choice(EVENT_LOOPS),
            help="The event loop the sending runs on: uvloop is faster and needs the extra "
            "(pip install 'batch-sms[uvloop]') [asyncio].",
        ),
        click.option("--yes", "-y", is_flag=True, default=None, help="Don't ask before sending."),
    )


def _flag(name: str, help_text: str) -> Decorator[Any]:
    """A switch that is None unless given (so the config file can set it)."""
    return click.option(name, is_flag=True, default=None, help=help_text)


def _given_texts(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """A repeatable option's texts, or None when not given (so the config file can set them)."""
    return value or None


# Cheaper texts and content rules (validate, send).
content = apply(
    _flag(
        "--gsm-safe",
        "Replace curly quotes, dashes, odd spaces, … with plain twins when the whole text then "
        "fits GSM-7 (160 characters per SMS, not 70).",
    ),
    click.option(
        "--must-contain",
        multiple=True,
        callback=_given_texts,
        help="Text every message must hold, e.g. 'Reply STOP'; repeatable.",
    ),
    click.option(
        "--forbidden-words",
        type=_PATH,
        help="File of words no message may hold: one per line, UTF-8, # comments.",
    ),
)
# When messages may go: flag, what it means (send and validate; resume and retry override the
# run's own with them).
WINDOW = (
    ("--quiet-hours", "Never send in these hours of each recipient's own time, e.g. 21:00-08:00: "
     "held messages end scheduled"),
    ("--default-timezone", "Time zone of numbers whose zone is not known, e.g. Asia/Shanghai"),
    ("--not-before", 'Hold every message until then, e.g. "2026-12-01 09:00 Asia/Shanghai" '
     "[the machine's zone unless the value names one]"),
    ("--send-until", "A message not accepted by then ends expired, never sent late (same form)"),
)  # fmt: skip
WAIT = _flag("--wait", "Keep running until the held messages' windows open, and send them then.")


def window(own: bool = False) -> Callable[[F], F]:
    """The quiet-hours and send-window options; for `own` (resume, retry) the run's recorded
    values are the defaults."""
    tail = f" [{OWN}]" if own else ""
    return apply(
        *(click.option(flag, help=f"{text}.{tail}") for flag, text in WINDOW),
        _flag(
            "--recipient-time",
            f"Read --not-before and --send-until in each recipient's own time zone.{tail}",
        ),
    )


# Options that describe the input and its checks (validate, send).
preflight = apply(
    click.argument("input", type=_PATH),
    click.option("--phone-column", help="Column with the phone numbers [auto-detected]."),
    click.option("--content-column", help="Column with the message text [auto-detected]."),
    click.option("--template", help="Message template, e.g. 'Hi {{ name }}'."),
    click.option("--template-file", type=_PATH, help="File holding the message template (UTF-8)."),
    click.option(
        "--sheet",
        help="Worksheet to read, hidden ones too [the tab the workbook opens on; if empty, the "
        "first visible sheet with rows].",
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
    click.option("--suppress", type=_PATH, help="File of numbers never to message (opt-outs)."),
    _flag("--allow-duplicates", "Send the same text to the same number again."),
    click.option("--max-segments", type=int, help="Refuse texts longer than N messages."),
    _flag("--allow-landlines", "Send to landline, toll-free, shared-cost and company numbers too."),
    _flag(
        "--trust-numeric-phones", "Accept number cells that look rounded by Excel (8613910000000)."
    ),
    content,
)

# The canary (validate shows it in the plan; send sends it first).
canary = apply(
    click.option(
        "--canary",
        type=int,
        help="Send the first N messages (spread over the countries) first, and go on only when "
        "their delivery receipts say delivered.",
    ),
    click.option(
        "--canary-wait",
        type=float,
        help=f"Seconds to wait for the canary's receipts [{shown('canary_wait')}].",
    ),
    click.option(
        "--canary-min-delivered",
        type=float,
        help="Share of the canary's receipts that must say delivered "
        f"[{shown('canary_min_delivered')}].",
    ),
)

_SANDBOX_DEFAULTS = {f.name: f.default for f in fields(SandboxConfig) if f.default is not MISSING}
_share = click.FloatRange(0.0, 1.0)


def _knob(flag: str, name: str, help_text: str, kind: Any = float, **extra: Any) -> Decorator[Any]:
    """A `batch-sms sandbox` option for the SandboxConfig field `name`, with its default."""
    default = _SANDBOX_DEFAULTS[name]
    return click.option(
        flag, name, type=kind, default=default, show_default=bool(default), help=help_text, **extra
    )


# The simulator's behaviour (`batch-sms sandbox`), one option per SandboxConfig knob.
sandbox_knobs = apply(
    click.option("--tps-limit", type=click.IntRange(min=1), help="Account TPS limit (code 28)."),
    _knob(
        "--hourly-cap",
        "hourly_cap",
        "Accepted messages per number per hour (code 27); 0: no cap.",
        click.IntRange(min=0),
    ),
    _knob("--price", "price", "Price per segment."),
    _knob("--balance", "balance", "Opening balance."),
    _knob("--currency", "currency", "Currency in receipts.", str),
    click.option("--forbidden", multiple=True, help="A forbidden word (code 4); repeatable."),
    click.option("--verification-app", is_flag=True, help="At most 5 numbers per send (code 104)."),
    click.option("--deactivated", is_flag=True, help="Answer every send with 102."),
    click.option(
        "--allow-ip", multiple=True, help="Allowed caller IP (code 9 otherwise); repeatable."
    ),
    click.option(
        "--short-link",
        "short_link",
        multiple=True,
        help="A short link on the account's list (others answer 2) [any]; repeatable.",
    ),
    _knob("--fail-88", "fail_88", "Share of sends answered 88.", _share),
    _knob("--fail-99", "fail_99", "Share of sends answered 99.", _share),
    _knob("--fail-500", "fail_500", "Share of sends answered HTTP 500.", _share),
    _knob("--drop", "drop", "Share of connections dropped unanswered.", _share),
    _knob("--hang", "hang", "Share of answers held back.", _share),
    _knob("--hang-seconds", "hang_seconds", "How long a held-back answer waits."),
    click.option(
        "--drop-accepts/--drop-rejects",
        default=_SANDBOX_DEFAULTS["drop_accepts"],
        show_default=True,
        help="Whether a dropped or held-back send is accepted first.",
    ),
    _knob("--malformed", "malformed", "Share of answers with broken JSON.", _share),
    _knob("--latency", "latency", "Seconds added to every answer."),
    _knob("--jitter", "jitter", "Up to this many more seconds, at random."),
    click.option("--seed", type=int, help="Seed for the fault dice (repeatable runs)."),
    _knob("--dr-url", "dr_url", "Receipt URL for messages that name none.", str),
    _knob("--dr-delay", "dr_delay", "Seconds from acceptance to the delivery receipt."),
    _knob(
        "--delivered-share",
        "dr_delivered_share",
        "Share of messages whose receipt says delivered.",
        _share,
    ),
    _knob(
        "--undelivered-status",
        "dr_undelivered_status",
        "Receipt status of the others: " + ", ".join(f"{k} {v}" for k, v in _UNDELIVERED.items()),
        click.Choice(list(_UNDELIVERED)),
    ),
    _knob(
        "--drop-receipts",
        "dr_drop_share",
        "Share of receipts never pushed (the record query still knows their status).",
        _share,
    ),
)
