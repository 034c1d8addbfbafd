"""The HTTP client of the NXCloud SMS API: mtsend_v2 and the side calls, over aiohttp.

The side calls (§4 of nxcloud-api.md) authenticate with the form fields `appkey` (the app key)
and `secretkey` (the access secret); the sandbox does the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from batch_sms.models import Credentials
from batch_sms.provider.nxcloud import (
    BALANCE_PATH,
    DAY_RECORDS_PATH,
    RECORD_PATH,
    SEND_PATH,
    Answer,
    Balance,
    Kind,
    SendRequest,
    build_send,
    classify,
    describe,
    parse_http_date,
    raw_text,
)

__all__ = ["Client"]


def _local_error(exc: BaseException) -> Answer | None:
    """The answer to an error aiohttp raises before a byte leaves; None if it may have left.

    aiohttp checks the URL before it connects and the header values before it writes them
    (a line break in a pasted key is refused as header injection). The text names the problem
    but never echoes the exception's message, which may quote a header value: a credential.
    """
    if isinstance(exc, aiohttp.RedirectClientError):
        return None  # the first request went out; only the place it was sent on to is bad
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        problem = "the provider's base URL is not a valid http(s) URL"
    elif isinstance(exc, ValueError | TypeError) and not isinstance(exc, aiohttp.ClientError):
        problem = (
            f"the request was refused locally ({type(exc).__name__}): a credential or setting "
            "may hold a character not allowed in a request, such as a line break"
        )
    else:
        return None
    return Answer(Kind.RUN_FATAL, "local-error", f"{problem}; nothing was sent")


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Client:
    """Sends through mtsend_v2 and makes the side calls, over a session the caller owns."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        creds: Credentials,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        balance_url: str | None = None,
    ) -> None:
        """Point the client at `base_url`; `balance_url` defaults to the same base."""
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.balance_url = (balance_url or base_url).rstrip("/")
        self._creds = creds
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self.clock_offset = 0.0

    async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Answer:
        """Send one request; on 1004 correct the clock from the answer's Date and retry once.

        With `retry_clock=False` the clock is corrected but the 1004 is returned: a caller that
        paces its requests sends again through its own limiter.
        """
        answer = await self._send_once(req)
        if answer.kind is Kind.CLOCK:
            if answer.server_date is not None:
                # Date has one-second resolution: aim at the middle of that second.
                self.clock_offset = answer.server_date + 0.5 - self._clock()
            if retry_clock:
                answer = await self._send_once(req)
        return answer

    async def _send_once(self, req: SendRequest) -> Answer:
        # ts and signature are made here, just before the bytes leave, never when queued.
        ts_ms = int((self._clock() + self.clock_offset) * 1000)
        headers, body = build_send(req, self._creds, ts_ms)
        url = self.base_url + SEND_PATH
        answered = False  # the answer's headers are in: the request certainly went out
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=self._timeout
            ) as resp:
                answered = True
                raw = await resp.read()
                date = parse_http_date(resp.headers.get("Date"))
                return classify(resp.status, raw, date)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # The connection was never made: the request certainly did not reach the server.
            return Answer(Kind.TRANSIENT, "connect", f"{describe('connect')}: {exc}")
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return Answer(Kind.UNCERTAIN, "timeout", describe("timeout"))
        except (ValueError, TypeError, aiohttp.ClientError) as exc:
            local = None if answered else _local_error(exc)
            if local is not None:
                return local
            if not isinstance(exc, aiohttp.ClientError):
                raise
            # Disconnected, reset or a broken answer after the body went out: fate unknown.
            return Answer(Kind.UNCERTAIN, "disconnected", f"{describe('disconnected')}: {exc}")

    async def _form(self, url: str, fields: dict[str, str]) -> dict[str, Any]:
        form = {"appkey": self._creds.app_key, "secretkey": self._creds.access_secret, **fields}
        try:
            async with self._session.post(url, data=form, timeout=self._timeout) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
            return {"code": "connect", "result": describe("connect")}
        except (TimeoutError, aiohttp.ClientError):
            return {"code": "timeout", "result": describe("timeout")}
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or "code" not in data:
            code = f"http-{status}" if status != 200 else "malformed"
            return {"code": code, "result": describe(code), "raw": raw_text(raw)}
        data["code"] = str(data["code"])
        return data

    async def balance(self) -> Balance:
        """Ask for the account balance (never raises for provider or network trouble)."""
        data = await self._form(self.balance_url + BALANCE_PATH, {})
        code = data["code"]
        if code != "0":
            return Balance(code, result=str(data.get("result") or describe(code)))
        return Balance(code, _float(data.get("balance")), _float(data.get("credit_balance")))

    async def record(self, date: str, messageid: str) -> dict[str, Any]:
        """Look up one message by send date (yyyyMMdd) and messageid; the parsed answer."""
        return await self._form(self.base_url + RECORD_PATH, {"date": date, "messageid": messageid})

    async def day_records(self, date: str, page: int = 1, page_size: int = 500) -> dict[str, Any]:
        """List one day's records (yyyyMMdd), one page; the parsed answer."""
        fields = {"date": date, "page": str(page), "page_size": str(page_size)}
        return await self._form(self.base_url + DAY_RECORDS_PATH, fields)
