"""The delivery-receipt server: stores every DR push in the state db before answering `success`.

The provider pushes each receipt only once (nxcloud-api.md §3), so the answer `success` is given
only after the receipt is committed; anything that prevents storing it answers `error`. A push
must carry the receiver's token as `?token=` (the provider keeps the drUrl's query string);
receipts are committed in groups by one writer thread (receipt_writer).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from batch_sms.journal import Journal
from batch_sms.provider.receipt_token import (
    DEFAULT_PATH,
    TOKEN_PARAM,
    new_token,
    token_matches,
    with_token,
)
from batch_sms.provider.receipt_writer import ReceiptWriter

__all__ = [
    "HEALTH_PATH",
    "MAX_BODY",
    "ReceiverHandle",
    "app_runner",
    "make_app",
    "running_receiver",
    "serve",
]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # bytes: a receipt is a few hundred; anything bigger is refused (413)
HEALTH_PATH = "/healthz"
_WRITER = web.AppKey("writer", ReceiptWriter)


def make_app(
    journal: Journal,
    *,
    token: str,
    path: str = DEFAULT_PATH,
    clock: Callable[[], float] = time.time,
    max_body: int = MAX_BODY,
) -> web.Application:
    """An aiohttp app that stores receipts pushed to `path?token=…` (form POST, or query string),
    and answers `GET /healthz` without the token."""
    if not token:
        raise ValueError("the receipts receiver needs a token")
    writer = ReceiptWriter(journal)

    async def receive(request: web.Request) -> web.Response:
        """Store one receipt, then answer `success`; `error` when it cannot be stored."""
        offered = request.query.get(TOKEN_PARAM, "")
        if not token_matches(offered, token):
            # Nothing of the push is logged: its fields are not ours to keep, nor a wrong token.
            why = "a wrong token" if offered else "no token"
            log.warning("receipt push from %s refused: %s", request.remote, why)
            return web.Response(status=403, text="error")
        # Older accounts send the fields in the query string, after the drUrl's own token.
        fields = {k: v for k, v in request.query.items() if k != TOKEN_PARAM}
        if request.method == "POST":
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge:
                log.warning(
                    "receipt push from %s refused: body over %d bytes", request.remote, max_body
                )
                return web.Response(status=413, text="error")
            except (ValueError, HttpProcessingError):  # a broken form or multipart body
                log.warning("receipt push from %s refused: unreadable body", request.remote)
                return web.Response(status=400, text="error")
            fields.update({k: v for k, v in form.items() if isinstance(v, str)})
        messageid = fields.get("messageid", "").strip()
        if not messageid:
            log.warning("receipt without messageid refused: %s", sorted(fields))
            return web.Response(status=400, text="error")
        fields["messageid"] = messageid
        try:
            mapped = await writer.store(fields, clock())
        except Exception:
            log.exception("receipt %s could not be stored", messageid)
            return web.Response(status=500, text="error")
        if not mapped:
            log.info("receipt %s stored, but no message of a run matches it yet", messageid)
        return web.Response(text="success")

    async def health(request: web.Request) -> web.Response:
        """`ok` while receipts can be taken; nothing about runs."""
        if not writer.alive:
            return web.Response(status=503, text="stopped")
        return web.Response(text="ok")

    async def start_writer(app: web.Application) -> None:
        app[_WRITER].start()

    async def stop_writer(app: web.Application) -> None:
        """Store the receipts still waiting, then stop the writer thread."""
        await asyncio.get_running_loop().run_in_executor(None, app[_WRITER].close)

    app = web.Application(client_max_size=max_body)
    app[_WRITER] = writer
    app.router.add_route("POST", path, receive)
    app.router.add_route("GET", path, receive)
    app.router.add_route("GET", HEALTH_PATH, health)
    app.on_startup.append(start_writer)
    app.on_cleanup.append(stop_writer)
    return app


def app_runner(app: web.Application) -> web.AppRunner:
    """A runner for the receipts app that logs no request lines: their query holds the token."""
    return web.AppRunner(app, access_log=None)


def _url(runner: web.AppRunner, path: str) -> str:
    """The URL the first listening socket serves `path` at."""
    host, port = runner.addresses[0][:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{path}"


async def serve(
    journal_path: Path,
    host: str,
    port: int,
    path: str = DEFAULT_PATH,
    *,
    token: str | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Receive receipts into the state db at `journal_path` until cancelled.

    Pushes must carry `token`; None: the token kept in the state db (made on first use), so a
    restarted receiver takes the receipts of messages sent before. `ready` is called with the
    endpoint URL, token included, once it listens (useful with port 0).
    """
    with Journal(journal_path) as journal:
        token = token or journal.receipts_token(new_token())
        journal.sync_every_commit()
        runner = app_runner(make_app(journal, token=token, path=path))
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            if ready is not None:
                ready(with_token(_url(runner, path), token))
            await asyncio.Event().wait()  # forever: only cancellation ends it
        finally:
            await runner.cleanup()


@dataclass(frozen=True)
class ReceiverHandle:
    """A receipts server running in a background thread."""

    url: str  # the full endpoint URL, path and token included


@contextmanager
def running_receiver(
    journal_path: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str = DEFAULT_PATH,
    token: str | None = None,
) -> Iterator[ReceiverHandle]:
    """Run a receipts server in a background thread with its own loop (usable from sync code)."""
    loop = asyncio.new_event_loop()
    listening: asyncio.Future[str] = loop.create_future()

    def announce(url: str) -> None:
        listening.set_result(url)

    def ended(task: asyncio.Task[None]) -> None:
        """Pass a failure to start (port in use, bad db) on to the waiting caller."""
        if listening.done():
            return
        if task.cancelled():
            listening.cancel()
        else:
            listening.set_exception(task.exception() or RuntimeError("receipts server ended"))

    task = loop.create_task(serve(journal_path, host, port, path, token=token, ready=announce))
    task.add_done_callback(ended)
    thread = threading.Thread(target=loop.run_forever, name="receipts-server", daemon=True)
    thread.start()
    try:
        url = asyncio.run_coroutine_threadsafe(_wait(listening), loop).result(30)
        yield ReceiverHandle(url)
    finally:
        loop.call_soon_threadsafe(task.cancel)
        try:
            asyncio.run_coroutine_threadsafe(_finish_cancelled(task), loop).result(30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _wait(future: asyncio.Future[str]) -> str:
    """Await a future of the server's loop."""
    return await future


async def _finish_cancelled(task: asyncio.Task[None]) -> None:
    """Wait for a cancelled task to finish, swallowing its cancellation."""
    with suppress(asyncio.CancelledError):
        await task
