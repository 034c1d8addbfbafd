"""The commands that serve until Ctrl-C: `receipts serve` and `sandbox` (the NXCloud simulator).

A port in use, an address that is not this machine's or a bad option value ends through the one
error path (`Error:` line, exit 2); Ctrl-C is the normal way to stop them (exit 0).
"""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import click

from batch_sms.cli import options as opt
from batch_sms.cli.app import cli, fail, guard, listen_error
from batch_sms.cli.campaigns import load
from batch_sms.errors import UsageError
from batch_sms.models import SECRET_ENV
from batch_sms.provider.receipt_token import DEFAULT_PATH
from batch_sms.sandbox.rules import STANDALONE_HOST, STANDALONE_PORT

if TYPE_CHECKING:
    from batch_sms.sandbox.server import Sandbox

__all__ = ["RECEIPTS_PORT", "receipts", "receipts_serve", "sandbox", "web"]

RECEIPTS_PORT = 8090  # where `batch-sms receipts serve` listens unless told otherwise


def _serve(main: Coroutine[Any, Any, None], host: str, port: int) -> None:
    """Run a server until Ctrl-C; a socket that cannot listen is a user error."""
    import asyncio

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main)
    except OSError as exc:
        if (error := listen_error(exc, host, port)) is None:
            raise
        fail(error)


@cli.group()
def receipts() -> None:
    """Delivery receipts pushed by the provider."""


@receipts.command("serve")
@opt.listen("127.0.0.1", RECEIPTS_PORT)
@click.option("--path", default=DEFAULT_PATH, show_default=True, help="URL path of the endpoint.")
@opt.token(
    "pushes carry it as ?token=; BATCH_SMS_RECEIPTS_TOKEN, else made once, kept in the state db"
)
@opt.apply(opt.OUT, opt.STATE, opt.CONFIG)
def receipts_serve(host: str, port: int, path: str, token: str | None, **options: Any) -> None:
    """Store delivery receipts in the state db until stopped (Ctrl-C)."""
    import os

    from batch_sms.provider import receipt_token
    from batch_sms.provider import receipts as receiver
    from batch_sms.web.security import is_loopback

    with guard():
        settings = load(options, click.echo)
        given, source = receipt_token.given_token(token, os.environ)

        def ready(url: str) -> None:
            click.echo(
                f"receiving delivery receipts into {settings.state_path}; Ctrl-C stops\n"
                f"pushes must carry the token ({source}); send with this receipt URL "
                "(keep it private):\n"
                f"  --dr-url '{url}'"
            )
            if not is_loopback(host):
                click.echo(
                    "the provider must reach it from outside: give the public https address of "
                    "your reverse proxy instead, with the same ?token="
                )

        main = receiver.serve(settings.state_path, host, port, path, token=given, ready=ready)
        _serve(main, host, port)
        click.echo("stopped")


@cli.command("sandbox", short_help="Run the NXCloud API simulator until Ctrl-C.")
@opt.listen(STANDALONE_HOST, STANDALONE_PORT)
@opt.sandbox_knobs
def sandbox(
    host: str,
    port: int,
    hourly_cap: int,
    forbidden: tuple[str, ...],
    allow_ip: tuple[str, ...],
    short_link: tuple[str, ...],
    **knobs: Any,
) -> None:
    """Run the NXCloud API simulator until Ctrl-C (credentials from NXCLOUD_* or generated)."""
    import os

    from batch_sms.sandbox import server

    credentials, made = server.credentials_from_env(os.environ)
    with guard():
        try:
            config = server.SandboxConfig(
                credentials=credentials,
                hourly_cap=hourly_cap or None,
                forbidden=forbidden,
                allowed_ips=allow_ip or None,
                short_links=short_link or None,
                **knobs,
            )
        except ValueError as exc:
            raise UsageError(str(exc), "see batch-sms sandbox --help for each option") from exc

        def started(url: str) -> None:
            click.echo(f"NXCloud sandbox listening on {url} (Ctrl-C stops)")
            if len(made) < len(SECRET_ENV):  # some came from the environment
                click.echo(
                    "using the credentials set in the environment"
                    + (" and these new ones:" if made else "")
                )
            else:
                click.echo("generated credentials:")
            for env, value in made:
                click.echo(f"  export {env}={value}")

        def stopped(done: Sandbox) -> None:
            click.echo(f"sandbox stopped; answers: {dict(done.answers)}")

        _serve(server.serve_forever(config, host, port, started, stopped), host, port)


@cli.command(
    "web", short_help="The campaign flow in a browser: upload, check, send, watch, report."
)
@opt.listen("127.0.0.1", 8080)
@opt.apply(opt.SANDBOX, opt.OUT, opt.STATE, opt.CONFIG)
@opt.token("BATCH_SMS_WEB_TOKEN; generated off loopback")
@click.option(
    "--max-upload-mb",
    default=50.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Largest file a browser may upload, in MB.",
)
def web(host: str, port: int, token: str | None, max_upload_mb: float, **options: Any) -> None:
    """Serve the campaign flow to a browser until stopped (Ctrl-C)."""
    import os

    from batch_sms import web as webapp  # aiohttp only when this command runs

    with guard():
        settings = load(options, click.echo)
        token = webapp.security.access_token(host, token, os.environ)
        config = webapp.WebConfig(settings, host, port, token, max_upload_mb)

        def ready(address: str) -> None:
            click.echo(f"batch-sms web: open {address}  (Ctrl-C stops)")

        _serve(webapp.serve(config, ready), host, port)
        click.echo("stopped")
