"""The web app's guards: access token, CSRF token, allowed hosts and security headers.

A campaign tool can spend money and message thousands of people, so every request passes here:
- on a non-loopback address an access token is required (`?token=` once, then an HttpOnly,
  SameSite=Strict cookie);
- on loopback the Host header must name loopback, so a web page whose domain resolves to
  127.0.0.1 (DNS rebinding) cannot read the pages;
- every POST carries the CSRF token of its form, equal to the browser's CSRF cookie;
- every answer carries a Content-Security-Policy that allows no inline script.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import MultipartReader, web

__all__ = [
    "ACCESS_COOKIE",
    "CSP",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "access_token",
    "csrf_token",
    "is_loopback",
    "middlewares",
]

ACCESS_COOKIE = "batch_sms_access"
CSRF_COOKIE = "batch_sms_csrf"
CSRF_FIELD = "csrf"
TOKEN_ENV = "BATCH_SMS_WEB_TOKEN"  # noqa: S105 (the variable's name, not a token)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_KEY = web.RequestKey("csrf", str)
FORM_KEY = web.RequestKey("form_reader", MultipartReader)  # a checked form's reader, after csrf
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True when `host` (an address or name to bind or to be reached at) is this machine only."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def access_token(host: str, given: str | None, env: Mapping[str, str]) -> str | None:
    """The token every request must carry: `--token`, else the environment's, else (off
    loopback only) a new random one; None when none is needed."""
    token = given or env.get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    return token


def csrf_token(request: web.Request) -> str:
    """The CSRF token the forms of this page carry (the browser's cookie, or a new one)."""
    token: str = request.get(CSRF_KEY, "")
    return token


def _same(a: str | None, b: str) -> bool:
    """Compare a secret in constant time."""
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _host_name(request: web.Request) -> str:
    """The host the browser asked for, without its port."""
    host = request.headers.get("Host", "")
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def middlewares(
    token: str | None, loopback: bool
) -> list[Callable[..., Awaitable[web.StreamResponse]]]:
    """The guards, outermost first: host, access token, CSRF."""

    @web.middleware
    async def host_check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if loopback and not is_loopback(_host_name(request)):
            raise web.HTTPForbidden(
                text="This address is not served: open batch-sms web at http://127.0.0.1 "
                "or http://localhost with its port.",
            )
        return await handler(request)

    @web.middleware
    async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is None:
            return await handler(request)
        given = request.query.get("token")
        if given is not None:
            if not _same(given, token):
                raise web.HTTPForbidden(text="This access token is wrong.")
            # The token leaves the address bar at once: the cookie carries it from now on.
            query = {k: v for k, v in request.query.items() if k != "token"}
            target = (
                request.rel_url.with_query(query) if query else request.rel_url.with_query(None)
            )
            found = web.HTTPSeeOther(location=str(target))
            found.set_cookie(ACCESS_COOKIE, token, httponly=True, samesite="Strict", path="/")
            raise found
        if not _same(request.cookies.get(ACCESS_COOKIE), token):
            raise web.HTTPUnauthorized(
                text="This batch-sms web needs its access token: open the address it printed "
                "when it started (the one ending in ?token=…).",
            )
        return await handler(request)

    @web.middleware
    async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
        cookie = request.cookies.get(CSRF_COOKIE)
        request[CSRF_KEY] = cookie or secrets.token_urlsafe(24)
        if request.method not in _SAFE_METHODS:
            await _check_form(request, cookie)
        response = await handler(request)
        if cookie is None:
            response.set_cookie(
                CSRF_COOKIE, request[CSRF_KEY], httponly=True, samesite="Strict", path="/"
            )
        return response

    return [host_check, access, csrf]


async def _check_form(request: web.Request, cookie: str | None) -> None:
    """Refuse (403) a POST whose form does not carry the browser's CSRF token.

    A multipart form is checked on its first field, before any file in it is read; its reader
    is left in request[FORM_KEY] for the handler."""
    forged = web.HTTPForbidden(
        text="This form is out of date or did not come from this app (its security token is "
        "missing or wrong); nothing was changed. Go back, reload the page and try again.",
    )
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and origin.split("://", 1)[-1] != request.headers.get("Host"):
        raise forged
    if cookie is None:
        raise forged
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != CSRF_FIELD:
            raise forged
        value = (await part.read(decode=True)).decode("utf-8", "replace")  # type: ignore[union-attr]
        if not _same(value, cookie):
            raise forged
        request[FORM_KEY] = reader
        return
    form = await request.post()
    value = form.get(CSRF_FIELD)
    if not isinstance(value, str) or not _same(value, cookie):
        raise forged
