"""The user-facing errors: a message and a hint line, and the exit code each kind ends with."""

from __future__ import annotations

import pytest

from batch_sms.errors import (
    RUNS_HINT,
    BatchSmsError,
    ConfigError,
    InputError,
    RenderError,
    StateError,
    UsageError,
)


@pytest.mark.parametrize("kind", [UsageError, ConfigError, InputError, StateError])
def test_an_error_carries_its_message_and_hint_and_exits_2(kind: type[BatchSmsError]) -> None:
    error = kind("list.csv: the file is empty", "export the list again with a header row")
    assert isinstance(error, BatchSmsError)
    assert str(error) == error.message == "list.csv: the file is empty"
    assert error.hint == "export the list again with a header row"
    assert error.exit_code == 2


def test_the_hint_may_be_left_out() -> None:
    assert UsageError("give --template or --template-file, not both").hint == ""


def test_a_config_error_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown setting"):
        raise ConfigError("batch.toml: unknown setting 'colour'")


def test_a_row_that_cannot_be_rendered_is_no_error_for_the_user() -> None:
    # The CLI catches BatchSmsError only; a RenderError must become an invalid row instead.
    assert not issubclass(RenderError, BatchSmsError)


def test_the_runs_hint_names_the_sandbox_runs_too() -> None:
    assert RUNS_HINT.startswith("batch-sms runs ")
    assert "batch-sms runs --sandbox" in RUNS_HINT
