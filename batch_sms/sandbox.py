"""An aiohttp simulator of the NXCloud SMS API (nxcloud-api.md): the test double and the demo.

It checks headers, signature, clock, credentials and body as the provider documents, enforces the
account TPS limit and the per-number hourly cap on an injectable clock, charges the balance per
billed segment, pushes delivery receipts once, answers the record and balance calls, and injects
faults (latency, 88/99, HTTP 500, dropped connections, hangs, malformed JSON) under a seed.

Choices where the provider's documentation is silent: a multi-number send is all or nothing
(one invalid or capped number rejects it); the record call answers `"row": null` for an unknown
message; receipt times are UTC; a receipt's `price` is the message's charge and `rate` the price
per segment; the side calls authenticate with `appkey` = app key and `secretkey` = access secret.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import aiohttp
import phonenumbers
from aiohttp import web

from batch_sms.nxcloud import (
    ACTION,
    BALANCE_PATH,
    BIZ_TYPE,
    DAY_RECORDS_PATH,
    RECORD_PATH,
    SEND_PATH,
    SIGNED_HEADERS,
    Credentials,
    describe,
    sign,
)

__all__ = ["Accepted", "Receipt", "Sandbox", "SandboxConfig", "SandboxHandle", "running", "serve"]

_PHONES = re.compile(r"[0-9]+(,[0-9]+)*")
_SYS_ID = re.compile(r"[0-9a-zA-Z-]{10,50}")
_SENDER = re.compile(r"[A-Za-z0-9]{1,20}")
_TS = re.compile(r"[0-9]{1,16}")
_OPTIONAL = ("sourceAddress", "sysMessageId", "shortLink", "linkVerbose", "drUrl", "ext")
_FAULTS = ("http-500", "malformed", "88", "99", "dropped", "hung")


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
    latency: float = 0.0  # seconds added before every send answer …
    jitter: float = 0.0  # … plus up to this many more, drawn from the seeded dice
    fail_500: float = 0.0
    malformed: float = 0.0
    fail_88: float = 0.0
    fail_99: float = 0.0
    drop: float = 0.0  # connection closed with no answer
    hang: float = 0.0  # answer held back for `hang_seconds` (or until the sandbox stops)
    drop_accepts: bool = True  # a dropped or hung request is processed (maybe accepted) first
    hang_seconds: float = 300.0
    seed: int | None = None
    dr_url: str = ""  # where receipts go when a message names no drUrl; "" = nowhere
    dr_delay: float = 1.0  # seconds (real time) from acceptance to the receipt
    dr_delivered_share: float = 1.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        shares = [self.fail_500, self.malformed, self.fail_88, self.fail_99, self.drop, self.hang]
        if any(not 0 <= s <= 1 for s in [*shares, self.dr_delivered_share]) or sum(shares) > 1:
            raise ValueError("fault shares must lie in [0, 1] and add up to at most 1")


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
    dr_status: str = ""  # "2" delivered, "5" undelivered, "" no receipt yet
    dr_time: float | None = None


@dataclass(frozen=True)
class Receipt:
    """One receipt push: where, what, and how the receiver answered (or the error)."""

    url: str
    fields: dict[str, str]
    answer: str


def _billed_segments(text: str, country_code: int | None) -> int:
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


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _day(epoch: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(epoch))


def _country(number: str) -> int | None:
    """The country code of a valid number, else None."""
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    return parsed.country_code if phonenumbers.is_valid_number(parsed) else None


class Sandbox:
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
        self._window: deque[float] = deque()
        self._sent_to: dict[str, deque[float]] = {}
        self._ids = 0
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def balance(self) -> float:
        """The account's current balance."""
        with self._lock:
            return self._balance

    def top_up(self, amount: float) -> None:
        """Add money to the account (safe from any thread, while running)."""
        with self._lock:
            self._balance += amount

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
        fault = self._fault(roll)
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
        if fault == "malformed":
            self.answers[fault] += 1
            return web.Response(text='{"result":"Request succ', headers=date)
        if fault in ("88", "99"):
            return self._answer(fault)
        code, messageid = "99", ""
        if fault is None or cfg.drop_accepts:
            code, messageid = self._process(request, raw, over_tps)
        if fault is None:
            return self._answer(code, messageid)
        self.answers[fault] += 1
        if fault == "hung":
            await self._pause(cfg.hang_seconds)
            # Answer if the client is still listening: what the lost answer would have said.
            body = {"result": describe(code), "code": code, "messageid": messageid}
            return web.json_response(body, headers=date)
        if request.transport is not None:
            request.transport.abort()
        return web.Response()

    def _fault(self, roll: float) -> str | None:
        cfg = self.config
        shares = (cfg.fail_500, cfg.malformed, cfg.fail_88, cfg.fail_99, cfg.drop, cfg.hang)
        edge = 0.0
        for name, share in zip(_FAULTS, shares, strict=True):
            edge += share
            if roll < edge:
                return name
        return None

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
        return self._check_body(raw)

    def _check_body(self, raw: bytes) -> tuple[str, str]:
        cfg = self.config
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return "2", ""
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            return "2", ""
        if not body.get("appKey") or "content" not in body:
            return "2", ""
        if body["appKey"] != cfg.credentials.app_key:
            return "1", ""
        phone, content = body.get("phone", ""), body["content"]
        if not _PHONES.fullmatch(phone):
            return "2", ""
        if not content.strip() or any(w.casefold() in content.casefold() for w in cfg.forbidden):
            return "4", ""
        if len(content) > 1000:
            return "5", ""
        sender = body.get("sourceAddress")
        if sender is not None and not _SENDER.fullmatch(sender):
            return "8", ""
        numbers = list(dict.fromkeys(phone.split(",")))
        if cfg.verification_app and len(numbers) > 5:
            return "104", ""
        single = len(numbers) == 1
        sys_id = body.get("sysMessageId", "") if single else ""
        if sys_id and not _SYS_ID.fullmatch(sys_id):
            return "2", ""
        countries = [_country(n) for n in numbers]
        if None in countries:
            return "6", ""
        return self._accept(body, numbers, [c for c in countries if c is not None], single)

    def _accept(
        self, body: dict[str, str], numbers: list[str], countries: list[int], single: bool
    ) -> tuple[str, str]:
        cfg, now = self.config, self.config.clock()
        if cfg.hourly_cap is not None:
            for number in numbers:
                sent = self._sent_to.setdefault(number, deque())
                while sent and sent[0] <= now - 3600:
                    sent.popleft()
                if len(sent) >= cfg.hourly_cap:
                    return "27", ""
        content = body["content"]
        segments = [_billed_segments(content, cc) for cc in countries]
        charges = [round(s * cfg.price, 6) for s in segments]
        with self._lock:
            if self._balance < sum(charges):
                return "3", ""
            self._balance -= sum(charges)
        self._ids += 1
        messageid = str(300_000_000_000 + self._ids)
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
                messageid=messageid if single else f"{messageid}-{i + 1:010d}",
                segments=segs,
                time=now,
                country_code=cc,
                charge=charge,
            )
            self.accepted.append(msg)
            delivered = self._dr_dice.random() < cfg.dr_delivered_share
            task = asyncio.get_running_loop().create_task(self._deliver(msg, delivered))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return "0", messageid

    # --- delivery receipts -----------------------------------------------------------------

    async def _deliver(self, msg: Accepted, delivered: bool) -> None:
        await asyncio.sleep(self.config.dr_delay)
        msg.dr_time = self.config.clock()
        msg.dr_status = "2" if delivered else "5"
        if not msg.dr_url or self._session is None:
            return
        fields = {
            "phone": msg.phone,
            "status": msg.dr_status,
            "result": "DELIVRD" if delivered else "UNDELIV",
            "drtime": _stamp(msg.dr_time),
            "sendtime": _stamp(msg.time),
            "messageid": msg.messageid,
            "currency": self.config.currency,
            "price": f"{msg.charge:.4f}",
            "rate": f"{self.config.price:.4f}",
            "size": str(msg.segments),
            "ext": msg.ext,
        }
        try:  # pushed once, whatever the receiver answers: as the provider does
            timeout = aiohttp.ClientTimeout(total=10)
            async with self._session.post(msg.dr_url, data=fields, timeout=timeout) as resp:
                answer = f"{resp.status} {(await resp.text())[:100]}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            answer = f"error: {exc!r}"
        self.receipts.append(Receipt(msg.dr_url, fields, answer))

    # --- the form-encoded side calls -------------------------------------------------------

    async def _form(self, request: web.Request) -> dict[str, str] | None:
        form = {k: str(v) for k, v in (await request.post()).items()}
        creds = self.config.credentials
        ok = form.get("appkey") == creds.app_key and secrets.compare_digest(
            form.get("secretkey", "").encode(), creds.access_secret.encode()
        )
        return form if ok else None

    @staticmethod
    def _row(msg: Accepted) -> dict[str, Any]:
        return {
            "msgid": msg.messageid,
            "phone": msg.phone,
            "dr": {"2": "DELIVRD", "5": "UNDELIV"}.get(msg.dr_status, ""),
            "dr_status": msg.dr_status,
            "billing_size": msg.segments,
            "billing_price": f"{msg.charge:.4f}",
            "date": _stamp(msg.time),
            "dr_time": _stamp(msg.dr_time) if msg.dr_time is not None else "",
        }

    def _days_records(self, date: str) -> list[Accepted]:
        oldest = self.config.clock() - 31 * 86400
        return [m for m in self.accepted if _day(m.time) == date and m.time >= oldest]

    async def _balance_call(self, request: web.Request) -> web.Response:
        if await self._form(request) is None:
            return web.json_response({"code": "1", "result": describe("1")})
        balance = f"{self.balance:.2f}"
        return web.json_response({"code": "0", "balance": balance, "credit_balance": "0"})

    async def _record_call(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if form is None:
            return web.json_response({"code": "1", "result": describe("1")})
        if not re.fullmatch(r"[0-9]{8}", form.get("date", "")) or not form.get("messageid"):
            return web.json_response({"code": "2", "result": describe("2")})
        found = [m for m in self._days_records(form["date"]) if m.messageid == form["messageid"]]
        return web.json_response({"code": "0", "row": self._row(found[0]) if found else None})

    async def _day_call(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if form is None:
            return web.json_response({"code": "1", "result": describe("1")})
        page, size = form.get("page", ""), form.get("page_size", "")
        if not (re.fullmatch(r"[0-9]{8}", form.get("date", "")) and page.isdigit()):
            return web.json_response({"code": "2", "result": describe("2")})
        if not size.isdigit() or not 0 < int(size) < 1000 or int(page) < 1:
            return web.json_response({"code": "2", "result": describe("2")})
        rows = self._days_records(form["date"])
        if form.get("sort_type", "") in ("2", "desc"):
            rows.reverse()
        start = (int(page) - 1) * int(size)
        info = {
            "total": len(rows),
            "page": int(page),
            "pageSize": int(size),
            "rows": [self._row(m) for m in rows[start : start + int(size)]],
        }
        return web.json_response({"code": "0", "info": info})


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
