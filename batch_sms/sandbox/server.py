"""An aiohttp simulator of the NXCloud SMS API (nxcloud-api.md): the test double and the demo.

It checks headers, signature, clock, credentials and body as the provider documents, enforces the
account TPS limit and the per-number hourly cap on an injectable clock, charges the balance per
billed segment, pushes delivery receipts once, answers the record and balance calls, and injects
faults (latency, 88/99, HTTP 500, dropped connections, hangs, malformed JSON) under a seed.

Choices where the provider's documentation is silent: a multi-number send is all or nothing
(one invalid or capped number rejects it); the record call answers `"row": null` for an unknown
message; receipt times are UTC; a receipt's `price` is the message's charge and `rate` the price
per segment; the side calls authenticate with `appkey` = app key and `secretkey` = access secret;
a body that is not a JSON object answers 1002 ("bad body"), a JSON object with missing or
malformed fields answers 2, and so do a `shortLink` not on the account's list (`short_links`;
by default every link is) and a `linkVerbose` other than "1" or "0". A `shortLink` with no `#1#`
in the content is accepted and ignored, as documented (`Accepted.short_link` stays "").

This module holds the send call and the ways to run a sandbox; the settings, records, body checks
and billing are in `sandbox_rules`, the balance, receipt pushes and record calls in `sandbox_side`.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import formatdate

import aiohttp
from aiohttp import web

from batch_sms.provider.nxcloud import (
    ACTION,
    BALANCE_PATH,
    BIZ_TYPE,
    DAY_RECORDS_PATH,
    LINK_PLACEHOLDER,
    RECORD_PATH,
    SEND_PATH,
    SIGNED_HEADERS,
    Credentials,
    describe,
    member_messageid,
    sign,
)
from batch_sms.sandbox.delivery import SideCallsMixin
from batch_sms.sandbox.rules import (
    Accepted,
    CheckedSend,
    Receipt,
    SandboxConfig,
    billed_segments,
    check_body,
    credentials_from_env,
    generate_credentials,
    pick_fault,
)

__all__ = [
    "Accepted",
    "Receipt",
    "Sandbox",
    "SandboxConfig",
    "SandboxHandle",
    "credentials_from_env",
    "generate_credentials",
    "running",
    "serve",
    "serve_forever",
]

_TS = re.compile(r"[0-9]{1,16}")


class Sandbox(SideCallsMixin):
    """The simulated provider; run it with `start()`/`stop()`, `async with`, or `running()`."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        """Build the application; nothing listens until `start()`."""
        self.config = config or SandboxConfig()
        self.app = web.Application()
        self.app.router.add_post(SEND_PATH, self._send)
        self.app.router.add_post(BALANCE_PATH, self._balance_call)
        self.app.router.add_post(RECORD_PATH, self._record_call)
        self.app.router.add_post(DAY_RECORDS_PATH, self._day_call)
        self.accepted: list[Accepted] = []
        # One entry per send: its provider code, or "http-500", "malformed", "dropped", "hung".
        self.answers: Counter[str] = Counter()
        self.arrivals: list[float] = []
        self.receipts: list[Receipt] = []
        self.url = ""
        self._balance = self.config.balance
        self._lock = threading.Lock()  # top_up may come from another thread
        seed = self.config.seed
        self._dice = random.Random(seed)
        self._dr_dice = random.Random(None if seed is None else seed + 1)
        self._drop_dice = random.Random(None if seed is None else seed + 2)
        self._window: deque[float] = deque()
        self._sent_to: dict[str, deque[float]] = {}
        self._ids = 0
        # Like the provider's, messageids are unique beyond one sandbox's life: runs that share a
        # state db must never see two messages with the same id.
        self._id_base = secrets.randbelow(900_000) + 100_000
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = a free port) and return the base URL."""
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except BaseException:
            await self.stop()
            raise
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Release hung answers, cancel pending receipts, close the server and the push session."""
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def drain(self) -> None:
        """Wait until every receipt scheduled so far has been decided and pushed."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the send call ---------------------------------------------------------------------

    def _answer(self, code: str, messageid: str = "") -> web.Response:
        self.answers[code] += 1
        result = "Request succeeded" if code == "0" else describe(code)
        body = {"result": result, "code": code, "messageid": messageid}
        return web.json_response(
            body, headers={"Date": formatdate(self.config.clock(), usegmt=True)}
        )

    async def _send(self, request: web.Request) -> web.StreamResponse:
        cfg = self.config
        now = cfg.clock()
        self.arrivals.append(now)
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        over_tps = cfg.tps_limit is not None and len(self._window) >= cfg.tps_limit
        self._window.append(now)
        roll, extra = self._dice.random(), self._dice.random()
        fault = pick_fault(cfg, roll)
        raw = await request.read()
        delay = cfg.latency + cfg.jitter * extra
        if delay > 0:
            await self._pause(delay)
        if self._stopping.is_set():  # shutting down mid-latency: the request is never processed
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        date = {"Date": formatdate(cfg.clock(), usegmt=True)}
        if fault == "http-500":
            self.answers[fault] += 1
            return web.Response(status=500, text="Internal Server Error", headers=date)
        if fault in ("88", "99"):
            return self._answer(fault)
        code, messageid = "99", ""
        if fault is None or cfg.drop_accepts:
            code, messageid = self._process(request, raw, over_tps)
        if fault is None:
            return self._answer(code, messageid)
        self.answers[fault] += 1
        if fault == "malformed":
            # The answer breaks off mid-body: whatever was decided above stays decided.
            return web.Response(text='{"result":"Request succ', headers=date)
        if fault == "hung":
            await self._pause(cfg.hang_seconds)
            # Answer if the client is still listening: what the lost answer would have said.
            body = {"result": describe(code), "code": code, "messageid": messageid}
            return web.json_response(body, headers=date)
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the sandbox stops (keeps shutdown quick)."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _process(self, request: web.Request, raw: bytes, over_tps: bool) -> tuple[str, str]:
        """Decide the provider code of one send (synchronous, so it is atomic on the loop)."""
        cfg, creds = self.config, self.config.credentials
        headers = {name: request.headers.get(name, "") for name in (*SIGNED_HEADERS, "sign")}
        if not all(headers.values()):
            return "1001", ""
        if headers["bizType"] != BIZ_TYPE or headers["action"] != ACTION:
            return "1002", ""
        if headers["accessKey"] != creds.access_key:
            return "1005", ""
        if (
            not _TS.fullmatch(headers["ts"])
            or abs(int(headers["ts"]) - cfg.clock() * 1000) > 60_000
        ):
            return "1004", ""
        expected = sign(headers, raw, creds.access_secret).encode()
        if not secrets.compare_digest(expected, headers["sign"].encode()):
            return "1003", ""
        if cfg.allowed_ips is not None and request.remote not in cfg.allowed_ips:
            return "9", ""
        if cfg.deactivated:
            return "102", ""
        if over_tps:
            return "28", ""
        checked = check_body(raw, cfg)
        if isinstance(checked, str):
            return checked, ""
        return self._accept(checked)

    def _accept(self, send: CheckedSend) -> tuple[str, str]:
        body, numbers, countries, single = send.body, send.numbers, send.countries, send.single
        cfg, now = self.config, self.config.clock()
        if cfg.hourly_cap is not None:
            for number in numbers:
                sent = self._sent_to.setdefault(number, deque())
                while sent and sent[0] <= now - 3600:
                    sent.popleft()
                if len(sent) >= cfg.hourly_cap:
                    return "27", ""
        content = body["content"]
        # nxcloud-api.md: shortLink "only takes effect if content contains #1#".
        link = body.get("shortLink", "") if LINK_PLACEHOLDER in content else ""
        segments = [billed_segments(content, cc) for cc in countries]
        charges = [round(s * cfg.price, 6) for s in segments]
        with self._lock:
            if self._balance < sum(charges):
                return "3", ""
            self._balance -= sum(charges)
        self._ids += 1
        messageid = f"{self._id_base}{self._ids:09d}"
        for i, (number, cc, segs, charge) in enumerate(
            zip(numbers, countries, segments, charges, strict=True)
        ):
            self._sent_to.setdefault(number, deque()).append(now)
            msg = Accepted(
                phone=number,
                content=content,
                sender=body.get("sourceAddress", ""),
                sys_message_id=body.get("sysMessageId", "") if single else "",
                ext=body.get("ext", "") if single else "",
                dr_url=(body.get("drUrl", "") if single else "") or cfg.dr_url,
                messageid=messageid if single else member_messageid(messageid, i + 1),
                segments=segs,
                time=now,
                country_code=cc,
                charge=charge,
                short_link=link,
                link_verbose=body.get("linkVerbose", "1"),
            )
            self.accepted.append(msg)
            delivered = self._dr_dice.random() < cfg.dr_delivered_share
            push = self._drop_dice.random() >= cfg.dr_drop_share
            task = asyncio.get_running_loop().create_task(self._deliver(msg, delivered, push))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return "0", messageid


async def serve_forever(
    config: SandboxConfig,
    host: str,
    port: int,
    started: Callable[[str], None],
    stopped: Callable[[Sandbox], None],
) -> None:
    """Run a standalone sandbox until cancelled (Ctrl-C): `started` gets its URL, `stopped` the
    sandbox once it has shut down."""
    sandbox = Sandbox(config)
    started(await sandbox.start(host, port))
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()
        stopped(sandbox)


@asynccontextmanager
async def serve(config: SandboxConfig | None = None) -> AsyncIterator[Sandbox]:
    """Run a sandbox on the current event loop for the duration of the block."""
    sandbox = Sandbox(config)
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@dataclass(frozen=True)
class SandboxHandle:
    """A sandbox running in a background thread: its base URL, the object, its credentials."""

    url: str
    sandbox: Sandbox
    credentials: Credentials
    loop: asyncio.AbstractEventLoop = field(repr=False)

    def receipts_to(self, url: str) -> None:
        """Set the app's receipt URL: where receipts of messages that name no drUrl go."""
        self.sandbox.config.dr_url = url

    def drain(self, timeout: float = 30.0) -> None:
        """Block until every receipt scheduled so far has been decided and pushed."""
        asyncio.run_coroutine_threadsafe(self.sandbox.drain(), self.loop).result(timeout)


@contextmanager
def running(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SandboxHandle]:
    """Run a sandbox in a background thread with its own event loop (usable from sync code)."""
    sandbox = Sandbox(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="nxcloud-sandbox", daemon=True)
    thread.start()
    try:
        url = asyncio.run_coroutine_threadsafe(sandbox.start(host, port), loop).result(30)
        yield SandboxHandle(url, sandbox, sandbox.config.credentials, loop)
    finally:
        try:
            asyncio.run_coroutine_threadsafe(sandbox.stop(), loop).result(30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
