"""The receipts receiver's token: where it comes from, how a push proves it, the URL that carries
it, and how to tell a `--dr-url` that points at a receiver of ours without it."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_PATH",
    "TOKEN_ENV",
    "TOKEN_PARAM",
    "given_token",
    "lacks_token",
    "missing_token_note",
    "new_token",
    "token_matches",
    "with_token",
]

DEFAULT_PATH = "/dr"  # the receiver's URL path unless --path says otherwise
TOKEN_PARAM = "token"  # noqa: S105 (the query parameter's name, not a token)
TOKEN_ENV = "BATCH_SMS_RECEIPTS_TOKEN"  # noqa: S105 (the variable's name, not a token)


def new_token() -> str:
    """A fresh random token, safe in a URL's query string."""
    return secrets.token_urlsafe(24)


def given_token(option: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The token given by `--token`, else by the environment (None: the one kept in the state
    db), and where it comes from, in words."""
    if option:
        return option, "--token"
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV], TOKEN_ENV
    return None, "kept in the state db"


def token_matches(offered: str, expected: str) -> bool:
    """True when a push's token is the receiver's (compared in constant time)."""
    return hmac.compare_digest(offered.encode(), expected.encode())


def with_token(url: str, token: str) -> str:
    """`url` with `token=` set in its query string (any other parameters kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TOKEN_PARAM]
    return urlunsplit(parts._replace(query=urlencode([*query, (TOKEN_PARAM, token)])))


def lacks_token(dr_url: str) -> bool:
    """True when `dr_url` looks like a receiver of ours (loopback, path /dr) but carries no token:
    every receipt pushed there would be refused."""
    try:
        parts = urlsplit(dr_url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.path.rstrip("/") != DEFAULT_PATH:
        return False
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return False
        except ValueError:
            return False
    return not any(k == TOKEN_PARAM and v for k, v in parse_qsl(parts.query))


def missing_token_note(dr_url: str) -> str | None:
    """The warning for a `--dr-url` that lacks_token, or None."""
    if not dr_url or not lacks_token(dr_url):
        return None
    return (
        f"warning: --dr-url {dr_url} looks like a batch-sms receipts receiver but carries no "
        "?token=: it refuses every receipt without one (403), so no row would turn delivered; "
        "pass the --dr-url that `batch-sms receipts serve` prints"
    )
