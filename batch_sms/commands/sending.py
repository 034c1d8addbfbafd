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
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from batch_sms import dispatch
from batch_sms.commands import hints
from batch_sms.commands.canary import CanaryPhase
from batch_sms.commands.outcome import SYSTEM_CLOCK, Clock
from batch_sms.config import Settings
from batch_sms.dispatch.gates import Gate
from batch_sms.errors import UsageError
from batch_sms.journal import Journal
from batch_sms.models import DEFAULT_BASE_URL, Credentials, Status, duration_text, utc_text
from batch_sms.provider import nxcloud, receipt_token, receipts, reconcile
from batch_sms.provider.client import Client
from batch_sms.sandbox import server

__all__ = ["Provider", "SendResult", "connect", "require_credentials"]

T = TypeVar("T")
SANDBOX_DR_DELAY = 0.5  # seconds before the in-process sandbox pushes a receipt
RECEIPT_WAIT = 5.0  # how long a sandbox run waits for its receipts before writing the report


@dataclass(frozen=True)
class SendResult:
    """How a dispatch ended."""

    result: dispatch.DispatchResult
    stop_reason: str

    @property
    def stopped_by(self) -> nxcloud.Answer | None:
        """The run-fatal answer that stopped the run, if any."""
        return self.result.stopped_by

    @property
    def halted(self) -> bool:
        """True when a gate stopped the run before it was done (resumable)."""
        return bool(self.result.halted_by)

    @property
    def interrupted(self) -> bool:
        """True when the user stopped the run."""
        return self.result.interrupted


RECORD_PAGE = 500  # day records per page (the provider takes fewer than 1000)


class Provider:
    """The provider one command talks to: the real one, or a sandbox started for the command."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        simulated: bool,
        balance_url: str | None = None,
        timeout: float = 30.0,
        app_receipts: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self.app_receipts = app_receipts  # sets the simulator's app receipt URL
        self.simulated = simulated
        self._credentials = credentials
        self._balance_url = balance_url
        self._timeout = timeout

    async def _call(self, use: Callable[[Client], Awaitable[T]]) -> T:
        async with aiohttp.ClientSession() as session:
            client = Client(
                session,
                self.base_url,
                self._credentials,
                timeout=self._timeout,
                balance_url=self._balance_url,
            )
            return await use(client)

    def balance(self) -> nxcloud.Balance:
        """The account balance, or why it is not known (never raises for network trouble)."""
        return asyncio.run(self._call(lambda client: client.balance()))

    def records(self, days: Sequence[str]) -> list[reconcile.ProviderRecord] | None:
        """Every record of the given days (yyyyMMdd), or None when the provider can't tell."""

        async def fetch(client: Client) -> list[reconcile.ProviderRecord] | None:
            found: list[reconcile.ProviderRecord] = []
            for day in days:
                page = 1
                while True:
                    answer = await client.day_records(day, page, RECORD_PAGE)
                    if answer.get("code") != "0":
                        return None
                    info = answer.get("info") or {}
                    rows = info.get("rows") or []
                    found.extend(reconcile.parse_records(rows))
                    total = int(info.get("total") or 0)
                    if not rows or page * RECORD_PAGE >= total:
                        break
                    page += 1
            return found

        return asyncio.run(self._call(fetch))

    def dispatch(
        self,
        journal: Journal,
        run_id: str,
        settings: Settings,
        on_progress: Callable[[Any], None],
        note: Callable[[str], None] = lambda text: None,
        stop_with: Callable[[Callable[[], None]], None] = lambda stop: None,
        canary: CanaryPhase | None = None,
        *,
        gates: tuple[Gate, ...] = (),
        clock: Clock = SYSTEM_CLOCK,
    ) -> SendResult:
        """Send the run's pending messages; returns when done, stopped or interrupted.

        `stop_with` is handed what stops the dispatch as a first Ctrl-C does, from any thread.
        `canary`, when given, sends its messages first and decides whether the rest go. `gates`
        are asked before each send, on `clock`; with `settings.wait` the run waits on it for the
        windows of its scheduled messages and sends them as they open."""
        call = _Call(
            journal, run_id, settings, self, on_progress, note, stop_with, canary, gates, clock
        )
        return _run_on(settings.event_loop, _run(call))

    def client(self, session: aiohttp.ClientSession) -> Client:
        """A protocol client over the given session."""
        return Client(
            session,
            self.base_url,
            self._credentials,
            timeout=self._timeout,
            balance_url=self._balance_url,
        )


def require_credentials(settings: Settings, hint: str) -> None:
    """Refuse, naming what is missing, when the provider is real and a credential is not set."""
    missing = settings.credentials.missing()
    if not settings.sandbox and missing:
        raise UsageError(
            "missing credentials: " + ", ".join(missing),
            f"set them in the environment or in batch-sms.toml [credentials]; {hint}",
        )


@contextlib.contextmanager
def connect(settings: Settings) -> Iterator[Provider]:
    """The real provider from the settings, or a sandbox started for this command."""
    if not settings.sandbox:
        balance = nxcloud.BALANCE_BASE_URL if settings.base_url == DEFAULT_BASE_URL else None
        yield Provider(
            settings.base_url,
            settings.credentials,
            simulated=False,
            balance_url=balance,
            timeout=settings.timeout,
        )
        return
    limit = None if settings.tps is None else math.ceil(settings.tps)
    cfg = server.SandboxConfig(tps_limit=limit, dr_delay=SANDBOX_DR_DELAY)
    with server.running(cfg) as handle:
        yield Provider(
            handle.url, handle.credentials, simulated=True, timeout=settings.timeout,
            app_receipts=handle.receipts_to,
        )  # fmt: skip


@dataclass(frozen=True)
class Interrupts:
    """What Ctrl-C says and leaves behind; it runs in the event loop, between journal writes."""

    journal: Journal
    run_id: str
    settings: Settings
    note: Callable[[str], None]

    def first(self) -> None:
        """Say what the run is waiting for."""
        inflight = self.journal.counts(self.run_id).get(Status.INFLIGHT, 0)
        self.note(
            f"stopping: waiting for {inflight} requests in flight, then writing the report "
            "(Ctrl-C again to leave at once)"
        )

    def second(self) -> None:
        """Leave the run interrupted, not running, and say how to continue it."""
        self.journal.set_run_state(
            self.run_id, "interrupted", stop_reason="interrupted by the user (Ctrl-C twice)",
            finished_at=time.time(),
        )  # fmt: skip
        resume = hints.command("resume", self.settings, self.run_id)
        self.note(
            f"interrupted run {self.run_id} at once: the requests in flight were not waited "
            f"for and the report was not written; continue with: {resume}"
        )


def _install_signals(stop: asyncio.Event, interrupts: Interrupts) -> Callable[[], None]:
    """First Ctrl-C/SIGTERM: stop taking rows. Second: leave at once (the journal is consistent,
    every write being a committed transaction)."""
    loop = asyncio.get_running_loop()

    def first() -> None:
        if stop.is_set():
            interrupts.second()
            os._exit(130)
        stop.set()
        interrupts.first()

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


def _remote_stop(stop: asyncio.Event, interrupts: Interrupts) -> Callable[[], None]:
    """What stops the dispatch as a first Ctrl-C does, called from any thread (a notebook's
    main thread while the dispatch runs in another); once the dispatch is over, nothing."""
    loop = asyncio.get_running_loop()

    def halt() -> None:
        if not stop.is_set():
            stop.set()
            interrupts.first()

    def press() -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:  # from within the dispatch (its progress callback): at once
            halt()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the dispatch is over
            loop.call_soon_threadsafe(halt)

    return press


@contextlib.asynccontextmanager
async def _receipt_listener(state: Path) -> AsyncIterator[str]:
    """A receipts endpoint on loopback in this event loop, so sandbox runs show deliveries.

    It has its own connection to the state db: the dispatcher's stays on the main thread."""
    journal = Journal(state)
    token = receipt_token.new_token()  # this run's only: its URL lives as long as the send
    runner = receipts.app_runner(receipts.make_app(journal, token=token))
    try:
        await runner.setup()
        site = web.SockSite(runner, _loopback_socket())
        await site.start()
        port = site._sock.getsockname()[1]
        yield receipt_token.with_token(
            f"http://127.0.0.1:{port}{receipt_token.DEFAULT_PATH}", token
        )
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


def _grouped_receipts(
    provider: Provider, settings: Settings, dr_url: str, note: Callable[[str], None]
) -> None:
    """Requests to several numbers carry no drUrl: their receipts go to the app's receipt URL
    (the simulator's is set to this run's; the real app's is the user's to set)."""
    if provider.app_receipts is not None:
        provider.app_receipts(dr_url)
    elif settings.dr_url:
        note(
            "--group: requests to several numbers carry no drUrl, so their receipts go to the "
            "receipt URL set for the app in the NXCloud console, not to --dr-url; set it there "
            "to the same address"
        )


async def _wait_for_receipts(journal: Journal, run_id: str, deadline: float) -> None:
    """Give the sandbox's receipts a moment to arrive (they are pushed after a short delay)."""
    while time.monotonic() < deadline:
        if journal.counts(run_id).get(Status.SENT, 0) == 0:
            return
        await asyncio.sleep(0.1)


@dataclass(frozen=True)
class _Call:
    """What one `Provider.dispatch` was given."""

    journal: Journal
    run_id: str
    settings: Settings
    provider: Provider
    on_progress: Callable[[Any], None]
    note: Callable[[str], None]
    stop_with: Callable[[Callable[[], None]], None]
    canary: CanaryPhase | None
    gates: tuple[Gate, ...]
    clock: Clock


async def _until(clock: Clock, due: float, stop: asyncio.Event) -> None:
    """Wait on `clock` until `due`, or until the stop event."""
    sleeping = asyncio.ensure_future(clock.sleep(max(0.0, due - clock())))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((sleeping, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in (sleeping, stopping):
            waiter.cancel()
        await asyncio.gather(sleeping, stopping, return_exceptions=True)


def _run_on(event_loop: str, main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on asyncio's event loop, or uvloop's (the settings checked it is there)."""
    if event_loop != "uvloop":
        return asyncio.run(main)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _run(call: _Call) -> SendResult:
    journal, run_id, settings, provider = call.journal, call.run_id, call.settings, call.provider
    on_progress, note, stop_with = call.on_progress, call.note, call.stop_with
    stop = asyncio.Event()
    interrupts = Interrupts(journal, run_id, settings, note)
    remove = _install_signals(stop, interrupts)
    try:
        stop_with(_remote_stop(stop, interrupts))
        async with contextlib.AsyncExitStack() as stack:
            dr_url = settings.dr_url
            if warning := receipt_token.missing_token_note(dr_url):
                note(warning)
            if provider.simulated and not dr_url:
                dr_url = await stack.enter_async_context(_receipt_listener(settings.state_path))
            if settings.group > 1:
                _grouped_receipts(provider, settings, dr_url, note)
            timeout = aiohttp.ClientTimeout(total=None)
            session = await stack.enter_async_context(aiohttp.ClientSession(timeout=timeout))
            client = provider.client(session)
            options = dispatch.DispatchSettings(
                tps=settings.tps,
                concurrency=settings.concurrency,
                group=settings.group,
                hourly_cap=settings.hourly_cap,
                max_attempts=settings.max_attempts,
                sender=settings.sender,
                dr_url=dr_url,
                short_link=settings.short_link,
                link_verbose=settings.link_verbose_field,
            )

            async def send(only: Collection[int] | None = None) -> dispatch.DispatchResult:
                """One dispatch; with `only` (the canary's message ids), of those alone."""
                return await dispatch.dispatch(
                    run_id, journal, client, options, on_progress=on_progress, stop=stop,
                    gates=call.gates, clock=call.clock, only=only,
                )  # fmt: skip

            async def go() -> dispatch.DispatchResult:
                """The canary until it has passed (it may wait for its window), then the rest."""
                phase = call.canary
                if phase is not None and not phase.passed:
                    early = await phase.run(send, stop)
                    if not early.went_on or phase.held:
                        return early
                return await send()

            result = await go()
            while settings.wait and result.went_on:
                due = journal.first_next_at(run_id, Status.SCHEDULED)
                if due is None:
                    break
                left = duration_text(max(0.0, due - call.clock()))
                note(
                    f"waiting for the next window: {utc_text(due)} UTC (in {left}); Ctrl-C "
                    f"stops, {hints.command('resume', settings, run_id)} continues"
                )
                await _until(call.clock, due, stop)
                result = await go()  # at once "interrupted" after a Ctrl-C
            if provider.simulated and dr_url != settings.dr_url and not result.interrupted:
                await _wait_for_receipts(journal, run_id, time.monotonic() + RECEIPT_WAIT)
    finally:
        remove()
    reason = result.halted_by  # a gate stopped it (the cost ceiling): resumable
    if result.stopped_by is not None:
        answer = result.stopped_by
        if answer.code == "local-error":  # refused before anything left this machine
            reason = answer.result
        else:
            reason = f"provider answered {answer.code}: {nxcloud.describe(answer.code)}"
    elif result.halted_by:
        reason = result.halted_by
    return SendResult(result, reason)
