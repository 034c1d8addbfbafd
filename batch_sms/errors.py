"""Every error batch-sms shows a user is one of these; the CLI catches only `BatchSmsError`.

    BatchSmsError                  base: a message for the user and an optional hint line
    ├── UsageError                 unusable invocation or settings (exit 2)
    │   └── ConfigError            batch-sms.toml or the environment is wrong
    ├── InputError                 the input file, a column or the template is unusable (exit 2)
    └── StateError                 the state db: unknown run, newer schema, run already running

A provider answer that dooms the run (credentials, balance, IP, account) is no exception:
the dispatch stops, the run is left `stopped`, and the command exits 3 with its report.
Row-level problems are never exceptions: they become `invalid` rows with a reason. Template
rendering of a single row raises `RenderError`, which the caller turns into such a reason.
"""

from __future__ import annotations

__all__ = [
    "RUNS_HINT",
    "BatchSmsError",
    "ConfigError",
    "InputError",
    "RenderError",
    "StateError",
    "UsageError",
]


RUNS_HINT = "batch-sms runs lists them (batch-sms runs --sandbox: the runs made with --sandbox)"


class BatchSmsError(Exception):
    """An error with a message meant for the user and an optional hint on what to do next."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(BatchSmsError):
    """The command line or settings cannot be used."""


class ConfigError(UsageError):
    """The configuration file or environment holds a bad value."""


class InputError(BatchSmsError):
    """The input file, one of its columns, or the template cannot be used."""


class StateError(BatchSmsError):
    """The state db does not hold what the command needs."""


class RenderError(Exception):
    """A template could not be rendered for one row; the row becomes invalid."""
