"""The NXCloud SMS protocol: sign, build the exact request, classify answers. Pure: the HTTP
client that uses it is `provider.client`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

from batch_sms.models import Credentials

__all__ = [
    "ACTION",
    "BALANCE_BASE_URL",
    "BALANCE_PATH",
    "BIZ_TYPE",
    "DAY_RECORDS_PATH",
    "LINK_PLACEHOLDER",
    "RECORD_PATH",
    "SEND_PATH",
    "UNANSWERED",
    "Answer",
    "Balance",
    "Credentials",
    "Kind",
    "SendRequest",
    "build_send",
    "classify",
    "describe",
    "grouped",
    "member_messageid",
    "parse_http_date",
    "raw_text",
    "sign",
]

SEND_PATH = "/api/sms/mtsend_v2"
BALANCE_PATH = "/api/common/getBalance"
BALANCE_BASE_URL = "https://api.nxcloud.com"  # the balance call lives on another host (§4)
RECORD_PATH = "/api/sms/get"
DAY_RECORDS_PATH = "/api/sms/getSmsCdr"
BIZ_TYPE = "3"
ACTION = "mtsend"
SIGNED_HEADERS = ("accessKey", "action", "bizType", "ts")
_SIGNED_SORTED = tuple(sorted(SIGNED_HEADERS))  # the order the signature lists them in
LINK_PLACEHOLDER = "#1#"  # where the provider puts `shortLink` in the content
_RAW_KEEP = 500  # characters of an odd answer kept for the report; enough to diagnose, not a dump


def sign(headers: Mapping[str, str], body: str | bytes, secret: str) -> str:
    """Return the §2 signature of the signed headers (`sign` excluded) and the exact body text."""
    text = "&".join([f"{k}={headers[k]}" for k in _SIGNED_SORTED if k in headers]).encode()
    raw = body.encode() if isinstance(body, str) else body
    if raw:
        text += b"&body=" + raw
    text += b"&accessSecret=" + secret.encode()
    return hashlib.md5(text, usedforsecurity=False).hexdigest()


@dataclass(slots=True)  # one per request: not frozen, whose __init__ is ten times slower
class SendRequest:
    """One mtsend_v2 call: phone (or comma-joined phones), content; empty optionals omitted."""

    phone: str
    content: str
    sender: str = ""
    sys_message_id: str = ""
    dr_url: str = ""
    ext: str = ""
    short_link: str = ""  # takes effect only where content holds the placeholder #1#
    link_verbose: str = ""  # "1" collect clicks, "0" don't; "" leaves the provider's default


def grouped(
    phones: Sequence[str],
    content: str,
    sender: str = "",
    short_link: str = "",
    link_verbose: str = "",
) -> SendRequest:
    """One request for the same text to several numbers: no sysMessageId, drUrl or ext, which
    the provider ignores there (nxcloud-api.md §1); receipts come by per-number messageid."""
    return SendRequest(",".join(phones), content, sender, short_link=short_link,
                       link_verbose=link_verbose)  # fmt: skip


def member_messageid(messageid: str, position: int) -> str:
    """The messageid of the number at `position` (1-based, in the order sent) of a send to
    several numbers: the send's id, "-" and a 10-digit number (nxcloud-api.md §3)."""
    return f"{messageid}-{position:010d}"


def build_send(req: SendRequest, creds: Credentials, ts_ms: int) -> tuple[dict[str, str], bytes]:
    """Return the headers and the exact body bytes of a send, signed over those very bytes."""
    body: dict[str, str] = {"appKey": creds.app_key, "phone": req.phone, "content": req.content}
    for key, value in zip(_OPTIONAL_KEYS, _optional_values(req), strict=True):
        if value:
            body[key] = value
    text = _to_json(body)
    headers = {"accessKey": creds.access_key, "ts": str(ts_ms), "bizType": BIZ_TYPE}
    headers["action"] = ACTION
    headers["sign"] = sign(headers, text, creds.access_secret)
    headers["Content-Type"] = "application/json"
    return headers, text.encode()


# The optional body fields in their order, and the SendRequest attributes they come from.
_OPTIONAL_KEYS = ("sourceAddress", "sysMessageId", "shortLink", "linkVerbose", "drUrl", "ext")
_optional_values = operator.attrgetter(
    "sender", "sys_message_id", "short_link", "link_verbose", "dr_url", "ext"
)
# One encoder for every body: json.dumps with options builds a new one per call.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Kind(StrEnum):
    """What a sender should do with an answer."""

    ACCEPTED = "accepted"  # code 0: record the messageid
    ROW_FATAL = "row_fatal"  # this row fails for good
    RUN_FATAL = "run_fatal"  # every row would fail: stop the run
    THROTTLED = "throttled"  # code 28: slow down, send again; nothing was sent
    CAPPED = "capped"  # code 27: this number's hourly cap; defer
    TRANSIENT = "transient"  # certainly not accepted: retry with back-off
    CLOCK = "clock"  # code 1004: re-sign with a corrected ts
    UNCERTAIN = "uncertain"  # may have been accepted: resending may deliver twice


_CODES: dict[str, tuple[Kind, str]] = {
    "0": (Kind.ACCEPTED, "accepted"),
    "1": (Kind.RUN_FATAL, "application unavailable or wrong app key"),
    "2": (Kind.ROW_FATAL, "parameter error or empty"),
    "3": (Kind.RUN_FATAL, "insufficient balance"),
    "4": (Kind.ROW_FATAL, "content empty or contains forbidden keywords"),
    "5": (Kind.ROW_FATAL, "content too long"),
    "6": (Kind.ROW_FATAL, "invalid number"),
    "8": (Kind.ROW_FATAL, "sender id must be 1-20 letters or digits"),
    "9": (Kind.RUN_FATAL, "caller's IP address not allowed"),
    "27": (Kind.CAPPED, "per-number hourly cap reached"),
    "28": (Kind.THROTTLED, "account TPS limit reached"),
    "88": (Kind.TRANSIENT, "request failed"),
    "99": (Kind.TRANSIENT, "provider system error"),
    "102": (Kind.RUN_FATAL, "account deactivated"),
    "104": (Kind.ROW_FATAL, "more than 5 numbers on a verification-code application"),
    "1001": (Kind.RUN_FATAL, "a required header is missing"),
    "1002": (Kind.RUN_FATAL, "wrong bizType/action or bad body"),
    "1003": (Kind.RUN_FATAL, "invalid signature"),
    "1004": (Kind.CLOCK, "timestamp more than 60 s away from the provider's clock"),
    "1005": (Kind.RUN_FATAL, "wrong access key or no SMS permission"),
}
_LOCAL_CODES = {
    "connect": "could not connect to the provider; nothing was sent",
    "timeout": "no answer in time; the message may have been accepted",
    "disconnected": "connection lost after sending; the message may have been accepted",
    "malformed": "the provider's answer was not the documented JSON",
    "local-error": "the request could not be made here; nothing was sent",
}
# This client's codes for a send the server never answered (no round trip to measure).
UNANSWERED = frozenset({"connect", "timeout", "disconnected", "local-error"})


def describe(code: str) -> str:
    """Return the human meaning of a provider code (or of one of this client's own codes)."""
    if code in _CODES:
        return _CODES[code][1]
    if code in _LOCAL_CODES:
        return _LOCAL_CODES[code]
    if code.startswith("http-"):
        return f"HTTP status {code[5:]} from the provider"
    return f"unknown provider code {code}"


@dataclass(slots=True)  # one per answer: not frozen, whose __init__ is ten times slower
class Answer:
    """A classified answer; `code` is the provider's or 'http-N', 'connect', 'timeout', …."""

    kind: Kind
    code: str
    result: str
    messageid: str = ""
    raw: str = ""  # the answer's text, kept when it is odd (unknown code, malformed)
    server_date: float | None = None  # the answer's Date header as epoch seconds


def raw_text(body: bytes) -> str:
    """The start of an odd answer's body as text, enough to diagnose it."""
    return body.decode("utf-8", "replace")[:_RAW_KEEP]


def classify(http_status: int, body: bytes, server_date: float | None = None) -> Answer:
    """Classify one HTTP answer of mtsend_v2."""
    if http_status >= 500:
        hcode = f"http-{http_status}"
        return Answer(
            Kind.TRANSIENT, hcode, describe(hcode), raw=raw_text(body), server_date=server_date
        )
    try:
        data = json.loads(body)
    except ValueError:  # UnicodeDecodeError is one too
        data = None
    code = data.get("code") if isinstance(data, dict) else None
    if isinstance(code, int | str) and not isinstance(code, bool) and str(code) != "":
        code = str(code)
        result = str(data.get("result") or describe(code)) if isinstance(data, dict) else ""
        if code in _CODES:
            kind = _CODES[code][0]
            messageid = str(data.get("messageid") or "") if isinstance(data, dict) else ""
            return Answer(kind, code, result, messageid, server_date=server_date)
        return Answer(Kind.TRANSIENT, code, result, raw=raw_text(body), server_date=server_date)
    if http_status != 200:
        hcode = f"http-{http_status}"
        # 4xx other than 408/429 means a wrong base URL or endpoint: every row would fail alike.
        kind = Kind.TRANSIENT
        if http_status == 429:
            kind = Kind.THROTTLED
        elif 400 <= http_status < 500 and http_status != 408:
            kind = Kind.RUN_FATAL
        return Answer(kind, hcode, describe(hcode), raw=raw_text(body), server_date=server_date)
    return Answer(
        Kind.TRANSIENT,
        "malformed",
        describe("malformed"),
        raw=raw_text(body),
        server_date=server_date,
    )


def parse_http_date(value: str | None) -> float | None:
    """Return an HTTP Date header as epoch seconds, or None when absent or unreadable."""
    if not value:
        return None
    return _parse_date(value)


@functools.lru_cache(maxsize=8)
def _parse_date(value: str) -> float | None:
    """One Date header's epoch seconds (cached: it changes once a second, answers come by
    the thousand)."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Balance:
    """The account balance; `code` is '0' when known, else why not (provider or local code)."""

    code: str
    balance: float | None = None
    credit_balance: float | None = None
    result: str = ""
