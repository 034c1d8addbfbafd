"""`batch-sms sandbox`: the NXCloud simulator as a standalone server (parse, print, serve)."""

from __future__ import annotations

from typing import Any

import click

from batch_sms.config import SECRET_ENV

__all__ = ["sandbox_command"]


_share = click.FloatRange(0.0, 1.0)


@click.command("sandbox", short_help="Run the NXCloud API simulator until Ctrl-C.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=int, help="Port (0: any free).")
@click.option("--tps-limit", type=click.IntRange(min=1), help="Account TPS limit (code 28).")
@click.option(
    "--hourly-cap",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Accepted messages per number per hour (code 27); 0: no cap.",
)
@click.option("--price", default=0.01, show_default=True, type=float, help="Price per segment.")
@click.option("--balance", default=1000.0, show_default=True, type=float, help="Opening balance.")
@click.option("--currency", default="USD", show_default=True, help="Currency in receipts.")
@click.option("--forbidden", multiple=True, help="A forbidden word (code 4); repeatable.")
@click.option("--verification-app", is_flag=True, help="At most 5 numbers per send (code 104).")
@click.option("--deactivated", is_flag=True, help="Answer every send with 102.")
@click.option("--allow-ip", multiple=True, help="Allowed caller IP (code 9 otherwise); repeatable.")
@click.option("--fail-88", default=0.0, type=_share, help="Share of sends answered 88.")
@click.option("--fail-99", default=0.0, type=_share, help="Share of sends answered 99.")
@click.option("--fail-500", default=0.0, type=_share, help="Share of sends answered HTTP 500.")
@click.option("--drop", default=0.0, type=_share, help="Share of connections dropped unanswered.")
@click.option("--hang", default=0.0, type=_share, help="Share of answers held back.")
@click.option(
    "--hang-seconds",
    default=300.0,
    show_default=True,
    type=float,
    help="How long a held-back answer waits.",
)
@click.option(
    "--drop-accepts/--drop-rejects",
    default=True,
    show_default=True,
    help="Whether a dropped or held-back send is accepted first.",
)
@click.option("--malformed", default=0.0, type=_share, help="Share of answers with broken JSON.")
@click.option("--latency", default=0.0, type=float, help="Seconds added to every answer.")
@click.option("--jitter", default=0.0, type=float, help="Up to this many more seconds, at random.")
@click.option("--seed", type=int, help="Seed for the fault dice (repeatable runs).")
@click.option("--dr-url", default="", help="Receipt URL for messages that name none.")
@click.option(
    "--dr-delay",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds from acceptance to the delivery receipt.",
)
@click.option(
    "--delivered-share",
    default=1.0,
    show_default=True,
    type=_share,
    help="Share of messages whose receipt says delivered.",
)
def sandbox_command(
    host: str,
    port: int,
    hourly_cap: int,
    forbidden: tuple[str, ...],
    allow_ip: tuple[str, ...],
    delivered_share: float,
    **knobs: Any,
) -> None:
    """Run the NXCloud API simulator until Ctrl-C (credentials from NXCLOUD_* or generated)."""
    import asyncio
    import contextlib
    import os

    from batch_sms.sandbox import server

    credentials, made = server.credentials_from_env(os.environ)
    try:
        config = server.SandboxConfig(
            credentials=credentials,
            hourly_cap=hourly_cap or None,
            forbidden=forbidden,
            allowed_ips=allow_ip or None,
            dr_delivered_share=delivered_share,
            **knobs,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

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

    def stopped(server: server.Sandbox) -> None:
        click.echo(f"sandbox stopped; answers: {dict(server.answers)}")

    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the sandbox has stopped
            asyncio.run(server.serve_forever(config, host, port, started, stopped))
    except OSError as exc:  # the port is taken or the address is not ours
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from exc
