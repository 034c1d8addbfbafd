"""Shared fixtures only: a user data folder per test, a running NXCloud sandbox (background
thread), and a fresh state db. Helpers, fakes and builders are in helpers.py.

def test_x(sandbox): sandbox.url, sandbox.sandbox.accepted, sandbox.credentials
@pytest.mark.parametrize("sandbox", [{"tps_limit": 5}], indirect=True)   # configure it
def test_y(make_sandbox): one = make_sandbox(hourly_cap=1); two = make_sandbox(price=0.5)
def test_z(journal): new_run(journal, "r1", msg(2, "8613800138000"))   # helpers' builders
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from batch_sms import config
from batch_sms.journal import Journal
from batch_sms.sandbox import server
from batch_sms.sandbox.server import SandboxConfig, SandboxHandle, running


@pytest.fixture(autouse=True)
def user_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own user data folder: the default state db never touches the real one.

    XDG_DATA_HOME reaches subprocesses too (platformdirs reads it on Linux); the patched function
    covers this process on any platform."""
    folder = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    monkeypatch.setattr(config, "user_state_dir", lambda: folder / "batch-sms")
    return folder / "batch-sms"


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxHandle]]:
    """A factory: `make_sandbox(**SandboxConfig fields)` starts one; all stop after the test."""
    with ExitStack() as stack:

        def make(**config: Any) -> SandboxHandle:
            return stack.enter_context(running(SandboxConfig(**config)))

        yield make


@pytest.fixture
def sandbox(
    request: pytest.FixtureRequest, make_sandbox: Callable[..., SandboxHandle]
) -> SandboxHandle:
    """A running sandbox; configure it with an indirect parametrize dict of SandboxConfig fields."""
    config: dict[str, Any] = getattr(request, "param", {})
    return make_sandbox(**config)


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> list[SandboxHandle]:
    """Every sandbox a `--sandbox` run (or `sandbox=True` call) starts in this process, to count
    what each accepted."""
    started: list[SandboxHandle] = []
    real = server.running

    @contextmanager
    def recording(*args: Any, **kwargs: Any) -> Iterator[SandboxHandle]:
        with real(*args, **kwargs) as handle:
            started.append(handle)
            yield handle

    monkeypatch.setattr(server, "running", recording)
    return started


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A state db path in a folder that does not exist yet."""
    return tmp_path / "state" / "batch-sms.db"


@pytest.fixture
def journal(db_path: Path) -> Iterator[Journal]:
    """An open journal on a fresh db."""
    with Journal(db_path) as j:
        yield j
