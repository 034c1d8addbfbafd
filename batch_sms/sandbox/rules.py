"""The sandbox's account settings and records, and the provider's rules on a send body.

Billing follows nxcloud-api.md §5 here, apart from segments.py on purpose: the tests compare the
two, so a mistake in either shows.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from batch_sms.models import DR_STATUSES, SECRET_ENV, Credentials

# Where `batch-sms sandbox` listens unless told otherwise.
STANDALONE_HOST = "127.0.0.1"
STANDALONE_PORT = 8787

_PHONES = re.compile(r"[0-9]+(,[0-9]+)*")
_SYS_ID = re.compile(r"[0-9a-zA-Z-]{10,50}")
_SENDER = re.compile(r"[A-Za-z0-9]{1,20}")
_FAULTS = ("http-500", "malformed", "88", "99", "dropped", "hung")
# The receipt statuses of a message not delivered, that a sandbox may push.
UNDELIVERED_STATUSES = {k: v for k, v in DR_STATUSES.items() if k != "2"}
_OPTIONAL = ("sourceAddress", "sysMessageId", "shortLink", "linkVerbose", "drUrl", "ext")


def credentials_from_env(environ: Mapping[str, str]) -> tuple[Credentials, list[tuple[str, str]]]:
    """Credentials for a standalone sandbox: those set in the environment (the same variables a
    campaign reads), the rest generated; also (variable, value) of each generated one, to show."""
    fresh = generate_credentials()
    values = {name: environ.get(env) or getattr(fresh, name) for name, env in SECRET_ENV.items()}
    made = [(env, values[name]) for name, env in SECRET_ENV.items() if not environ.get(env)]
    return Credentials(**values), made


def generate_credentials() -> Credentials:
    """Fresh random credentials for a sandbox account."""
    return Credentials(secrets.token_hex(8), secrets.token_urlsafe(18), secrets.token_hex(12))


@dataclass
class SandboxConfig:
    """Every behaviour knob of the sandbox; shares are probabilities in [0, 1]."""

    credentials: Credentials = field(default_factory=generate_credentials)
    tps_limit: int | None = None  # requests per sliding second over all arrivals; None: no limit
    hourly_cap: int | None = 5  # accepted messages per number per sliding hour; None: no cap
    price: float = 0.01  # charge per billed segment
    balance: float = 1000.0
    currency: str = "USD"
    forbidden: tuple[str, ...] = ()  # words that make content rejected with code 4
    verification_app: bool = False  # a verification-code app takes at most 5 numbers (104)
    deactivated: bool = False  # every send answers 102
    allowed_ips: tuple[str, ...] | None = None  # caller IP allow-list (code 9); None: any
    short_links: tuple[str, ...] | None = None  # the account's short links; None: any link
    latency: float = 0.0  # seconds added before every send answer …
    jitter: float = 0.0  # … plus up to this many more, drawn from the seeded dice
    fail_500: float = 0.0
    malformed: float = 0.0
    fail_88: float = 0.0
    fail_99: float = 0.0
    drop: float = 0.0  # connection closed with no answer
    hang: float = 0.0  # answer held back for `hang_seconds` (or until the sandbox stops)
    # A dropped, hung or malformed-answer request is processed (maybe accepted) first.
    drop_accepts: bool = True
    hang_seconds: float = 300.0
    seed: int | None = None
    dr_url: str = ""  # where receipts go when a message names no drUrl; "" = nowhere
    dr_delay: float = 1.0  # seconds (real time) from acceptance to the receipt
    dr_delivered_share: float = 1.0
    dr_undelivered_status: str = "5"  # the receipt status of a message not delivered (§3)
    # Receipts decided but never pushed, as if lost on the way; the record query still has them.
    dr_drop_share: float = 0.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        shares = [self.fail_500, self.malformed, self.fail_88, self.fail_99, self.drop, self.hang]
        receipts = [self.dr_delivered_share, self.dr_drop_share]
        if any(not 0 <= s <= 1 for s in [*shares, *receipts]) or sum(shares) > 1:
            raise ValueError("fault shares must lie in [0, 1] and add up to at most 1")
        if self.dr_undelivered_status not in UNDELIVERED_STATUSES:
            raise ValueError(
                f"undelivered status {self.dr_undelivered_status!r}: give one of "
                + ", ".join(f"{k} ({v})" for k, v in UNDELIVERED_STATUSES.items())
            )


@dataclass
class Accepted:
    """One accepted message (one per number of a multi-number send), with its receipt state."""

    phone: str
    content: str
    sender: str
    sys_message_id: str
    ext: str
    dr_url: str
    messageid: str
    segments: int
    time: float
    country_code: int
    charge: float
    short_link: str = ""  # the shortLink that took effect ("" none, or no #1# in the content)
    link_verbose: str = "1"  # whether clicks on it are collected (the documented default "1")
    dr_status: str = ""  # "2" delivered, "5" undelivered, "" no receipt yet
    dr_time: float | None = None


@dataclass(frozen=True)
class Receipt:
    """One receipt push: where, what, and how the receiver answered (or the error)."""

    url: str
    fields: dict[str, str]
    answer: str


def billed_segments(text: str, country_code: int | None) -> int:
    """Billed messages for `text` per nxcloud-api.md §5 (kept apart from segments.py on purpose)."""
    if not text:
        return 0
    if all(c in _GSM_BASIC or c in _GSM_EXT for c in text):
        units, single, multi = sum(2 if c in _GSM_EXT else 1 for c in text), 160, 154
    else:
        units, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    units += 7 if country_code == 60 else 0
    return 1 if units <= single else math.ceil(units / multi)


_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = frozenset("\f^{}\\[~]|€")


def _country(number: str) -> int | None:
    """The country code of a valid number, else None."""
    import phonenumbers  # here: the `sandbox` command's help reads this module without it

    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    return parsed.country_code if phonenumbers.is_valid_number(parsed) else None


@dataclass(frozen=True)
class CheckedSend:
    """A send body that passed every check: what the sandbox needs to accept it."""

    body: dict[str, str]
    numbers: list[str]  # distinct, in the order given
    countries: list[int]  # the country code of each number
    single: bool  # one number: sysMessageId, ext and drUrl apply


def check_body(raw: bytes, cfg: SandboxConfig) -> CheckedSend | str:
    """Check a send body as the provider does: the checked send, or the provider's error code."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except ValueError:
        return "1002"  # nxcloud-api.md: "wrong bizType/action or bad body"
    if not isinstance(body, dict):
        return "1002"  # JSON, but not the object a body is: as bad as no JSON at all
    if not all(isinstance(v, str) for v in body.values()):
        return "2"  # the documented body, with a field that is not a string
    if not body.get("appKey") or "content" not in body:
        return "2"
    if body["appKey"] != cfg.credentials.app_key:
        return "1"
    phone, content = body.get("phone", ""), body["content"]
    if not _PHONES.fullmatch(phone):
        return "2"
    if not content.strip() or any(w.casefold() in content.casefold() for w in cfg.forbidden):
        return "4"
    if len(content) > 1000:
        return "5"
    sender = body.get("sourceAddress")
    if sender is not None and not _SENDER.fullmatch(sender):
        return "8"
    numbers = list(dict.fromkeys(phone.split(",")))
    if cfg.verification_app and len(numbers) > 5:
        return "104"
    single = len(numbers) == 1
    sys_id = body.get("sysMessageId", "") if single else ""
    if sys_id and not _SYS_ID.fullmatch(sys_id):
        return "2"
    link = body.get("shortLink")
    if link is not None and cfg.short_links is not None and link not in cfg.short_links:
        return "2"  # not a link from the account's list
    if body.get("linkVerbose", "1") not in ("0", "1"):
        return "2"
    countries = [_country(n) for n in numbers]
    if None in countries:
        return "6"
    return CheckedSend(body, numbers, [c for c in countries if c is not None], single)


def pick_fault(cfg: SandboxConfig, roll: float) -> str | None:
    """The fault a request gets for a dice roll in [0, 1), or None for a normal answer."""
    shares = (cfg.fail_500, cfg.malformed, cfg.fail_88, cfg.fail_99, cfg.drop, cfg.hang)
    edge = 0.0
    for name, share in zip(_FAULTS, shares, strict=True):
        edge += share
        if roll < edge:
            return name
    return None
