"""Wiring for one dispatch: the HTTP session, the provider (real or the in-process sandbox),
the receipts listener that goes with the sandbox, and Ctrl-C/SIGTERM handling."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from batch_sms import dispatch, nxcloud, receipts, sandbox
from batch_sms.config import Settings
from batch_sms.journal import Journal
from batch_sms.models import Status

__all__ = ["SendResult", "run_dispatch"]

SANDBOX_DR_DELAY = 0.5  # seconds before the in-process sandbox pushes a receipt
RECEIPT_WAIT = 5.0  # how long a sandbox run waits for its receipts before writing the report


@dataclass(frozen=True)
class SendResult:
    """How a dispatch ended."""

    result: dispatch.DispatchResult
    stop_reason: str

    @property
    def stopped_by(self) -> nxcloud.Outcome | None:
        """The run-fatal answer that stopped the run, if any."""
        return self.result.stopped_by

    @property
    def interrupted(self) -> bool:
        """True when the user stopped the run."""
        return self.result.interrupted


@dataclass(frozen=True)
class _Provider:
    base_url: str
    credentials: nxcloud.Credentials
    simulated: bool


@contextlib.contextmanager
def _provider(settings: Settings) -> Iterator[_Provider]:
    """The real provider from the settings, or a sandbox started for this run."""
    if not settings.sandbox:
        creds = settings.credentials
        yield _Provider(
            settings.base_url,
            nxcloud.Credentials(creds.access_key, creds.access_secret, creds.app_key),
            simulated=False,
        )
        return
    limit = None if settings.tps is None else math.ceil(settings.tps)
    cfg = sandbox.SandboxConfig(tps_limit=limit, hourly_cap=5, dr_delay=SANDBOX_DR_DELAY)
    with sandbox.running(cfg) as handle:
        yield _Provider(handle.url, handle.credentials, simulated=True)


def run_dispatch(
    journal: Journal, run_id: str, settings: Settings, on_progress: Callable[[Any], None]
) -> SendResult:
    """Send the run's pending messages; returns when done, stopped or interrupted."""
    with _provider(settings) as provider:
        return asyncio.run(_run(journal, run_id, settings, provider, on_progress))


def _install_signals(stop: asyncio.Event) -> Callable[[], None]:
    """First Ctrl-C/SIGTERM: stop taking rows. Second: leave at once (the journal is consistent,
    every write being a committed transaction)."""
    loop = asyncio.get_running_loop()

    def first() -> None:
        if stop.is_set():
            os._exit(130)
        stop.set()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, first)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return remove


@contextlib.asynccontextmanager
async def _receipt_listener(state: Path) -> AsyncIterator[str]:
    """A receipts endpoint on loopback in this event loop, so sandbox runs show deliveries.

    It has its own connection to the state db: the dispatcher's stays on the main thread."""
    journal = Journal(state)
    runner = web.AppRunner(receipts.make_app(journal))
    try:
        await runner.setup()
        site = web.SockSite(runner, _loopback_socket())
        await site.start()
        port = site._sock.getsockname()[1]
        yield f"http://127.0.0.1:{port}/dr"
    finally:
        await runner.cleanup()
        journal.close()


def _loopback_socket() -> socket.socket:
    """A listening socket on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _wait_for_receipts(journal: Journal, run_id: str, deadline: float) -> None:
    """Give the sandbox's receipts a moment to arrive (they are pushed after a short delay)."""
    while time.monotonic() < deadline:
        if journal.counts(run_id).get(Status.SENT, 0) == 0:
            return
        await asyncio.sleep(0.1)


async def _run(
    journal: Journal,
    run_id: str,
    settings: Settings,
    provider: _Provider,
    on_progress: Callable[[Any], None],
) -> SendResult:
    stop = asyncio.Event()
    remove = _install_signals(stop)
    try:
        async with contextlib.AsyncExitStack() as stack:
            dr_url = settings.dr_url
            if provider.simulated and not dr_url:
                dr_url = await stack.enter_async_context(_receipt_listener(settings.state_path))
            timeout = aiohttp.ClientTimeout(total=None)
            session = await stack.enter_async_context(aiohttp.ClientSession(timeout=timeout))
            client = nxcloud.Client(
                session, provider.base_url, provider.credentials, timeout=settings.timeout
            )
            options = dispatch.DispatchSettings(
                tps=settings.tps,
                concurrency=settings.concurrency,
                hourly_cap=settings.hourly_cap,
                max_attempts=settings.max_attempts,
                sender=settings.sender,
                dr_url=dr_url,
            )
            result = await dispatch.dispatch(
                run_id, journal, client, options, on_progress=on_progress, stop=stop
            )
            if provider.simulated and dr_url != settings.dr_url and not result.interrupted:
                await _wait_for_receipts(journal, run_id, time.monotonic() + RECEIPT_WAIT)
    finally:
        remove()
    reason = ""
    if result.stopped_by is not None:
        answer = result.stopped_by
        reason = f"provider answered {answer.code}: {nxcloud.describe(answer.code)}"
    return SendResult(result, reason)
