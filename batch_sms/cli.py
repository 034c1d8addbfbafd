"""The command line: parse options, call one campaign function, print, choose the exit code."""

from __future__ import annotations

import click

from batch_sms import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batch-sms")
def cli() -> None:
    """Send personalised SMS campaigns from CSV/Excel files through the NXCloud SMS API."""


def main() -> None:
    """Run the command line."""
    cli()
