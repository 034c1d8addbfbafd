"""The aiohttp application of `batch-sms web`: routes, guards, pages and static files."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from batch_sms.web import pages, security, views_campaign, views_runs, views_send
from batch_sms.web.state import STATE, WebConfig, WebState

__all__ = ["AccessLogger", "app_runner", "make_app", "serve", "url"]

STATIC = Path(__file__).parent / "static"
TITLES = {
    400: "That cannot be used",
    401: "Access token needed",
    403: "Refused",
    404: "Not found",
    405: "Not allowed",
    409: "Not sent",
    413: "File too large",
}
log = logging.getLogger("batch_sms.web")


class AccessLogger(AbstractAccessLogger):
    """Method, path and status of each request: never the query, which may hold the token."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Log one request."""
        self.logger.info("%s %s %s", request.method, request.path, response.status)


@web.middleware
async def _pages(request: web.Request, handler: Any) -> web.StreamResponse:
    """Errors as pages saying what to do; the security headers on every answer."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            error.headers.update(security.HEADERS)
            raise
        text = error.text or ""
        if error.status == 413 and "upload limit" not in text:
            text = _too_large(request)
        response = pages.error_page(request, error.status, TITLES.get(error.status, "Error"), text)
        for name in ("Set-Cookie",):
            for value in error.headers.getall(name, ()):
                response.headers.add(name, value)
    response.headers.update(security.HEADERS)
    return response


def _too_large(request: web.Request) -> str:
    """The 413 text for a form over the limit that aiohttp refused by itself."""
    limit = request.app[STATE].config.max_upload_mb
    return (
        f"The upload is larger than the limit of {limit:g} MB; nothing was stored. Split the "
        "list into smaller files, or start batch-sms web with a larger --max-upload-mb."
    )


def make_app(config: WebConfig) -> web.Application:
    """The app for `config`."""
    loopback = security.is_loopback(config.host)
    app = web.Application(
        middlewares=[_pages, *security.middlewares(config.token, loopback)],
        client_max_size=config.max_upload_bytes + 64 * 1024,
    )
    app[STATE] = WebState(config)
    pages.install(app)
    app.add_routes(views_runs.routes)
    app.add_routes(views_campaign.routes)
    app.add_routes(views_send.routes)
    app.router.add_static("/static", STATIC, append_version=True)
    return app


def url(config: WebConfig) -> str:
    """The address to open: with the access token inside it when one is needed."""
    host = config.host if ":" not in config.host else f"[{config.host}]"
    if host in ("0.0.0.0", "[::]"):  # noqa: S104 (a user's choice to listen everywhere)
        host = "127.0.0.1"
    base = f"http://{host}:{config.port}/"
    return f"{base}?token={config.token}" if config.token else base


def app_runner(config: WebConfig) -> web.AppRunner:
    """The runner that serves the app, with the access log that leaves out queries."""
    return web.AppRunner(make_app(config), access_log_class=AccessLogger)


async def serve(config: WebConfig, ready: Any = None) -> None:
    """Serve until cancelled; call `ready(url)` once listening."""
    runner = app_runner(config)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    if ready is not None:
        ready(url(config))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
