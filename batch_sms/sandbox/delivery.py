"""The sandbox's side of an accepted message: the balance, receipt pushes, and record calls."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import time
from typing import Any

import aiohttp
from aiohttp import web

from batch_sms.models import DR_STATUSES
from batch_sms.provider.lookup import RECORD_DAYS
from batch_sms.provider.nxcloud import describe
from batch_sms.sandbox.rules import Accepted, Receipt, SandboxConfig


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _day(epoch: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(epoch))


class SideCallsMixin:
    """The Sandbox's account balance, receipt pushes and form-encoded side calls."""

    config: SandboxConfig
    accepted: list[Accepted]
    receipts: list[Receipt]
    _balance: float
    _lock: threading.Lock
    _session: aiohttp.ClientSession | None

    @property
    def balance(self) -> float:
        """The account's current balance."""
        with self._lock:
            return self._balance

    def top_up(self, amount: float) -> None:
        """Add money to the account (safe from any thread, while running)."""
        with self._lock:
            self._balance += amount

    # --- delivery receipts -----------------------------------------------------------------

    async def _deliver(self, msg: Accepted, delivered: bool, push: bool = True) -> None:
        """Decide the message's delivery after the delay; push its receipt unless `push` is
        False (a receipt lost on the way: the record query still tells the status)."""
        await asyncio.sleep(self.config.dr_delay)
        msg.dr_time = self.config.clock()
        msg.dr_status = "2" if delivered else self.config.dr_undelivered_status
        if not push or not msg.dr_url or self._session is None:
            return
        fields = {
            "phone": msg.phone,
            "status": msg.dr_status,
            "result": DR_STATUSES[msg.dr_status],
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
            "dr": DR_STATUSES.get(msg.dr_status, ""),
            "dr_status": msg.dr_status,
            "billing_size": msg.segments,
            "billing_price": f"{msg.charge:.4f}",
            "date": _stamp(msg.time),
            "dr_time": _stamp(msg.dr_time) if msg.dr_time is not None else "",
        }

    def _days_records(self, date: str) -> list[Accepted]:
        oldest = self.config.clock() - RECORD_DAYS * 86400
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
        # By id first: dating every message of a long run for each query would be slow.
        same = [m for m in self.accepted if m.messageid == form["messageid"]]
        oldest = self.config.clock() - RECORD_DAYS * 86400
        found = [m for m in same if _day(m.time) == form["date"] and m.time >= oldest]
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
