"""The `batch-sms` group and the one error path every command ends through.

A user error (a `BatchSmsError`, or the file system or network refusing something the user named)
ends in an `Error:` line, a `Hint:` line when there is one, the JSON error object with --json, and
its exit code (2 unless the error says otherwise); Ctrl-C before any run exists ends with 130.
"""

from __future__ import annotations

import errno
import json
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from batch_sms.errors import BatchSmsError, UsageError

__all__ = ["cli", "fail", "guard", "listen_error", "main"]

INTERRUPTED = "interrupted: nothing was sent and no run was made"


class _Group(click.Group):
    """click's group, except that with --json a usage error click finds itself (a bad option
    value, a missing argument) also ends in the JSON error object, as ours do."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's main; with --json, its own usage errors print the JSON error object too."""
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as error:
            error.show()
            _json_error(error.format_message(), "see batch-sms COMMAND --help", error.exit_code)
            raise SystemExit(error.exit_code) from None
        except click.Abort:
            click.echo(f"\n{INTERRUPTED}", err=True)
            raise SystemExit(130) from None
        raise SystemExit(code if isinstance(code, int) else 0)


def _version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    """--version: the installed version (looked up only when asked)."""
    if value and not ctx.resilient_parsing:
        from batch_sms import __version__

        click.echo(f"batch-sms, version {__version__}")
        ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and exit.")  # fmt: skip
def cli() -> None:
    """Send personalised SMS campaigns from CSV/Excel files through the NXCloud SMS API."""


def main() -> None:
    """Run the command line."""
    cli()


def _json_error(message: str, hint: str, exit_code: int) -> None:
    """The --json line of a command that failed."""
    click.echo(json.dumps({"status": "error", "error": message, "hint": hint,
                           "exit_code": exit_code}, ensure_ascii=False))  # fmt: skip


def fail(error: BatchSmsError, as_json: bool = False) -> NoReturn:
    """Print a user-facing error and its hint (with --json, also as the JSON line on stdout);
    exit with its code."""
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)
    if as_json:
        _json_error(error.message, error.hint, error.exit_code)
    raise SystemExit(error.exit_code)


def os_error(error: OSError) -> UsageError:
    """A file the user named (or its folder) that cannot be read or written, as a user error."""
    where = f"{error.filename}: " if error.filename is not None else ""
    return UsageError(f"{where}{error.strerror or error}", "check that path and its permissions")


def listen_error(error: OSError, host: str, port: int) -> UsageError | None:
    """A server that could not start listening on host:port, as a user error (None: the error
    is not about listening, e.g. a file that could not be opened)."""
    if error.filename is not None:  # a file, not the socket
        return None
    if error.errno == errno.EADDRINUSE:
        return UsageError(f"port {port} on {host} is in use; choose another with --port")
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        reason = "not an address of this machine"
        if isinstance(error, socket.gaierror):
            reason = f"unknown host ({error.strerror})"
        return UsageError(
            f"cannot listen on {host}:{port}: {reason}",
            "give --host an address of this machine, e.g. 127.0.0.1 or 0.0.0.0",
        )
    if error.errno == errno.EACCES:
        return UsageError(
            f"cannot listen on {host}:{port}: permission denied",
            "ports below 1024 need administrator rights; choose another with --port",
        )
    return UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}")


@contextmanager
def guard(as_json: bool = False) -> Iterator[None]:
    """The one error path: user errors, refused paths and Ctrl-C end as the docstring says."""
    try:
        yield
    except BatchSmsError as error:
        fail(error, as_json)
    except OSError as error:  # the file system refused a path the user gave (or its folder)
        fail(os_error(error), as_json)
    except (KeyboardInterrupt, click.Abort):  # Ctrl-C before any run exists (pre-flight, prompt)
        click.echo(f"\n{INTERRUPTED}", err=True)
        raise SystemExit(130) from None
