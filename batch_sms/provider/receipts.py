"""The delivery-receipt server: stores every DR push in the state db before answering `success`.

The provider pushes each receipt only once (nxcloud-api.md §3), so the answer `success` is given
only after the receipt is committed; anything that prevents storing it answers `error`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from batch_sms.journal import Journal

__all__ = ["ReceiverHandle", "make_app", "running_receiver", "serve"]

log = logging.getLogger(__name__)

_EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)


def make_app(
    journal: Journal, *, path: str = "/dr", clock: Callable[[], float] = time.time
) -> web.Application:
    """An aiohttp app that stores receipts pushed to `path` (form POST, or query string)."""
    # One worker thread: the journal is used from one thread at a time, and a busy db (a send
    # committing in another process) waits there instead of stalling the event loop.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="receipts-journal")

    async def receive(request: web.Request) -> web.Response:
        """Store one receipt, then answer `success`; `error` when it cannot be stored."""
        fields = dict(request.query)  # older accounts send the fields in the query string
        if request.method == "POST":
            form = await request.post()
            fields.update({k: v for k, v in form.items() if isinstance(v, str)})
        messageid = fields.get("messageid", "").strip()
        if not messageid:
            log.warning("receipt without messageid refused: %s", sorted(fields))
            return web.Response(status=400, text="error")
        fields["messageid"] = messageid
        loop = asyncio.get_running_loop()
        try:
            mapped = await loop.run_in_executor(executor, journal.add_receipt, fields, clock())
        except Exception:
            log.exception("receipt %s could not be stored", messageid)
            return web.Response(status=500, text="error")
        if not mapped:
            log.info("receipt %s stored, but no message of a run matches it yet", messageid)
        return web.Response(text="success")

    async def stop_executor(app: web.Application) -> None:
        """Let a receipt being stored finish, then stop the worker thread."""
        app[_EXECUTOR].shutdown(wait=True)

    app = web.Application()
    app[_EXECUTOR] = executor
    app.router.add_route("POST", path, receive)
    app.router.add_route("GET", path, receive)
    app.on_cleanup.append(stop_executor)
    return app


def _url(runner: web.AppRunner, path: str) -> str:
    """The URL the first listening socket serves `path` at."""
    host, port = runner.addresses[0][:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{path}"


async def serve(
    journal_path: Path,
    host: str,
    port: int,
    path: str = "/dr",
    *,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Receive receipts into the state db at `journal_path` until cancelled.

    `ready` is called with the endpoint URL once it listens (useful with port 0).
    """
    with Journal(journal_path) as journal:
        runner = web.AppRunner(make_app(journal, path=path))
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            if ready is not None:
                ready(_url(runner, path))
            await asyncio.Event().wait()  # forever: only cancellation ends it
        finally:
            await runner.cleanup()


@dataclass(frozen=True)
class ReceiverHandle:
    """A receipts server running in a background thread."""

    url: str  # the full endpoint URL, path included


@contextmanager
def running_receiver(
    journal_path: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str = "/dr",
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

    task = loop.create_task(serve(journal_path, host, port, path, ready=announce))
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
