"""The next command to run, spelled so that it works when pasted.

A hint printed after a run made with `--out`, `--state`, `--config` or `--sandbox` carries those
options: without them the pasted command would look in another state db and not find the run."""

from __future__ import annotations

import shlex

from batch_sms.config import Settings

__all__ = ["command", "runs"]


def command(verb: str, settings: Settings, *args: str) -> str:
    """`batch-sms VERB ARGS…` plus the options that locate the run's state db and config."""
    words = ["batch-sms", verb, *args]
    if settings.out != Settings.out:  # the default folder needs no option
        words += ["--out", str(settings.out)]
    if settings.state is not None:
        words += ["--state", str(settings.state)]
    if settings.config_file is not None:
        words += ["--config", str(settings.config_file)]
    if settings.sandbox:
        words.append("--sandbox")
    return shlex.join(words)


def runs(settings: Settings) -> str:
    """The hint that lists the runs of the state db these settings point at."""
    other = "" if settings.sandbox else " (add --sandbox for the runs made with --sandbox)"
    return f"{command('runs', settings)} lists the runs there{other}"
