"""Work done by a forked child process beside this one: a second core for half of a report.

A fork is used only where it is safe: on Linux, and while this process runs no other thread (a
lock another thread held at the fork would stay locked in the child for ever). Elsewhere the
caller does the work itself. The child never returns into the caller's code: it leaves with
`os._exit`, so no buffered output, `finally` block or exit handler of the parent runs twice.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["Child", "ChildFailed", "can_fork", "start"]


class ChildFailed(RuntimeError):
    """The child ended without finishing its work and without an error it could report."""


def can_fork() -> bool:
    """Whether a child may be forked now: on Linux, with no other thread running here."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


class Child:
    """A forked child doing one piece of work: `send` gives it a value it waits for, `join`
    waits for it and raises its error, `stop` ends it."""

    def __init__(self, pid: int, errors: int, inbox: int) -> None:
        self.pid = pid
        self._errors: int | None = errors  # read end of the pipe the child writes its error into
        self._inbox: int | None = inbox  # write end of the pipe the child reads `send`'s value from
        self._done = False

    def send(self, value: object) -> None:
        """Give the child the value its work asks for (once). A value that fits the pipe's
        buffer (64 KiB on Linux) never waits for the child to read it."""
        if self._inbox is None:
            raise RuntimeError("the child has had its value")
        inbox, self._inbox = self._inbox, None
        # A child that ended already (its error is for `join` to raise) closed its end.
        with contextlib.suppress(BrokenPipeError), os.fdopen(inbox, "wb") as pipe:
            pipe.write(pickle.dumps(value))

    def join(self) -> None:
        """Wait for the child; raise the error that stopped it, if one did."""
        self._close_inbox()
        errors, self._errors = self._errors, None
        if errors is None:
            raise RuntimeError("the child was joined or stopped already")
        with os.fdopen(errors, "rb") as pipe:  # closed by the `with`, even when interrupted
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self._done = True
        code = os.waitstatus_to_exitcode(status)
        if code == 0 and not payload:
            return
        try:
            # The bytes come from this process's own child, over a pipe only the two hold.
            error = pickle.loads(payload) if payload else None  # noqa: S301
        except Exception:  # a payload that does not load is reported as the exit code
            error = None
        if isinstance(error, BaseException):
            raise error
        raise ChildFailed(f"the report's child process {self.pid} ended with code {code}")

    def stop(self) -> None:
        """End the child at once (this process failed; its half of the work is not wanted)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        if self._errors is not None:
            os.close(self._errors)
            self._errors = None
        self._close_inbox()

    def _close_inbox(self) -> None:
        if self._inbox is not None:
            os.close(self._inbox)
            self._inbox = None


def start(work: Callable[[Callable[[], Any]], None]) -> Child:
    """Fork a child that runs `work(receive)` and exits; `receive()` waits for the value the
    parent gives with `Child.send`. The caller checked `can_fork()`."""
    read_end, write_end = os.pipe()
    inbox_read, inbox_write = os.pipe()
    # Objects the child only reads stay shared: the collector would touch (copy) them all.
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        for fd in (read_end, write_end, inbox_read, inbox_write):
            os.close(fd)
        raise
    if pid == 0:  # the child
        os.close(read_end)
        os.close(inbox_write)
        code = 1
        try:
            work(lambda: _receive(inbox_read))
            code = 0
        except BaseException as exc:  # every error goes back to the parent
            _send(write_end, exc)
        finally:
            os._exit(code)
    gc.unfreeze()
    os.close(write_end)
    os.close(inbox_read)
    return Child(pid, read_end, inbox_write)


def _receive(fd: int) -> Any:
    """The value the parent sent (in the child); ChildFailed if it closed the pipe without."""
    with os.fdopen(fd, "rb") as pipe:
        payload = pipe.read()
    if not payload:
        raise ChildFailed("the parent sent nothing")
    return pickle.loads(payload)  # noqa: S301 (from the parent, over a pipe only the two hold)


def _send(fd: int, exc: BaseException) -> None:
    """Write the error into the pipe, with the child's traceback as a note."""
    exc.add_note("in the report's child process:\n" + "".join(traceback.format_exception(exc)))
    try:
        payload = pickle.dumps(exc)
    except Exception:  # an error that does not pickle goes as its text
        payload = pickle.dumps(ChildFailed(f"{type(exc).__name__}: {exc}"))
    with os.fdopen(fd, "wb") as pipe:
        pipe.write(payload)
