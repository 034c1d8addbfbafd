"""The provider for the sending benchmarks, in its own process, counting arrivals with timestamps.

    python benchmarks/fake_provider.py          # minimal: checks the signature, answers 0
    python benchmarks/fake_provider.py --sandbox --tps-limit 100 --latency 0.02

The minimal server checks the headers and the signature with batch_sms.provider.nxcloud.sign
and answers code 0 with a fresh messageid: as little server work as a faithful answer needs, so
the client's cost shows. `--sandbox` runs batch-sms's own sandbox instead (every check of the
provider, the account TPS limit answering 28, the latency), with faults, hourly caps and receipts
off. Either prints one line `URL ACCESS_KEY ACCESS_SECRET APP_KEY` (throwaway credentials made
for this process), then serves until terminated. GET /stats answers JSON: the number of send
arrivals, the first and the last arrival (time.time()), the most arrivals in any sliding second
and the answers by code.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from common import server

from batch_sms.dispatch.limits import most_in_window
from batch_sms.models import SECRET_ENV, Credentials
from batch_sms.provider.nxcloud import SEND_PATH, SIGNED_HEADERS, sign
from batch_sms.sandbox.server import Sandbox, SandboxConfig, generate_credentials

__all__ = ["Provider", "Stats", "provider", "stats"]

SCRIPT = Path(__file__).resolve()


@dataclass(frozen=True)
class Provider:
    """A running mock provider: its base URL and the credentials it accepts."""

    url: str
    credentials: Credentials

    def env(self) -> dict[str, str]:
        """The NXCLOUD_* variables that point batch-sms at this account."""
        return {env: getattr(self.credentials, name) for name, env in SECRET_ENV.items()}


@dataclass(frozen=True)
class Stats:
    """What the server saw: send arrivals, first and last arrival, the busiest second, answers."""

    arrivals: int
    first: float
    last: float
    most_in_second: int
    answers: dict[str, int]

    def rate(self) -> float:
        """Arrivals per second from the first to the last (intervals over their span)."""
        span = self.last - self.first
        return (self.arrivals - 1) / span if span > 0 else 0.0


@contextmanager
def provider(
    sandbox: bool = False, tps_limit: int | None = None, latency: float = 0.0
) -> Iterator[Provider]:
    """Start a mock provider process for the duration of the block."""
    command = [sys.executable, str(SCRIPT)]
    if sandbox:
        command += ["--sandbox", "--latency", str(latency)]
        command += ["--tps-limit", str(tps_limit)] if tps_limit else []
    with server(command, r"(http://\S+ \S+ \S+ \S+)\n") as line:
        url, *keys = line.split()
        yield Provider(url, Credentials(*keys))


def stats(url: str) -> Stats:
    """The server's counts so far."""

    async def fetch() -> Stats:
        async with aiohttp.ClientSession() as session, session.get(url + "/stats") as response:
            return Stats(**await response.json())

    return asyncio.run(fetch())


def _stats_route(app: web.Application, arrivals: list[float], answers: Counter[str]) -> None:
    """Add GET /stats: what the server saw so far."""

    async def summary(_: web.Request) -> web.Response:
        return web.json_response(_summary(arrivals, answers))

    app.router.add_get("/stats", summary)


def _summary(arrivals: list[float], answers: Counter[str]) -> dict[str, object]:
    return {
        "arrivals": len(arrivals),
        "first": min(arrivals, default=0.0),
        "last": max(arrivals, default=0.0),
        "most_in_second": most_in_window(arrivals),
        "answers": dict(answers),
    }


def _minimal(creds: Credentials) -> tuple[web.Application, list[float], Counter[str]]:
    """The minimal provider: headers and signature checked, every good send accepted."""
    arrivals: list[float] = []
    answers: Counter[str] = Counter()
    ids = itertools.count(10**12)

    async def send(request: web.Request) -> web.Response:
        arrivals.append(time.time())
        raw = await request.read()
        headers = {name: request.headers.get(name, "") for name in SIGNED_HEADERS}
        good = headers["accessKey"] == creds.access_key and secrets.compare_digest(
            sign(headers, raw, creds.access_secret), request.headers.get("sign", "")
        )
        code, messageid = ("0", str(next(ids))) if good else ("1003", "")
        answers[code] += 1
        result = "Request succeeded" if good else "invalid signature"
        return web.json_response({"result": result, "code": code, "messageid": messageid})

    app = web.Application()
    app.router.add_post(SEND_PATH, send)
    return app, arrivals, answers


async def _serve(use_sandbox: bool, tps_limit: int | None, latency: float) -> None:
    creds = generate_credentials()
    if use_sandbox:
        config = SandboxConfig(
            credentials=creds, tps_limit=tps_limit, hourly_cap=None, balance=1e12,
            latency=latency, dr_delay=0.0,
        )  # fmt: skip
        sandbox = Sandbox(config)
        _stats_route(sandbox.app, sandbox.arrivals, sandbox.answers)
        url = await sandbox.start()
    else:
        app, arrivals, answers = _minimal(creds)
        _stats_route(app, arrivals, answers)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    print(url, creds.access_key, creds.access_secret, creds.app_key, flush=True)
    await asyncio.Event().wait()


def main(argv: list[str]) -> int:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="batch-sms's sandbox, not minimal")
    parser.add_argument("--tps-limit", type=int, help="the sandbox's account TPS limit")
    parser.add_argument("--latency", type=float, default=0.0, help="the sandbox's answer delay")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.sandbox, args.tps_limit, args.latency))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
