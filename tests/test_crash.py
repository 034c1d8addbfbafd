"""A real `send` process killed or interrupted mid-run, then resumed: every row accepted once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (
    SandboxMaker,
    accepted_counts,
    cn_numbers,
    env_for,
    last_json,
    run_cli,
    write_csv,
)

from batch_sms.sandbox.server import SandboxHandle

ROWS = 300
pytestmark = pytest.mark.slow


def start_send(tmp_path: Path, handle: SandboxHandle) -> tuple[subprocess.Popen[str], Path]:
    """`python -m batch_sms send` as a child process, slow enough to be caught mid-run."""
    rows = [[p, f"Offer {i}"] for i, p in enumerate(cn_numbers(ROWS))]
    path = write_csv(tmp_path / "big.csv", ["phone", "content"], rows)
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batch_sms",
            "send",
            str(path),
            "--base-url",
            handle.url,
            "--yes",
            "--json",
            "--tps",
            "200",
            "--out",
            str(out),
        ],
        env={**os.environ, **env_for(handle)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def wait_for_accepted(handle: SandboxHandle, proc: subprocess.Popen[str], count: int) -> None:
    """Poll until the sandbox has accepted `count` messages (bounded)."""
    deadline = time.monotonic() + 60
    while len(handle.sandbox.accepted) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the send never got going"
        time.sleep(0.01)


def wait_until_provider_idle(handle: SandboxHandle) -> None:
    """Wait (bounded) until the sandbox has answered every request that reached it.

    A request whose sender died may still be processed by the provider; `resume --settle`
    exists for that. Here the test waits for the sandbox itself instead of a settle time."""
    deadline = time.monotonic() + 30
    sandbox = handle.sandbox
    while sum(sandbox.answers.values()) < len(sandbox.arrivals):
        assert time.monotonic() < deadline, "the sandbox never finished its requests"
        time.sleep(0.01)


def only_run(out: Path) -> str:
    """The run id of the single run in the state db."""
    listed = run_cli(["runs", "--json", "--out", str(out)])
    runs = last_json(listed)["runs"]
    assert len(runs) == 1
    return str(runs[0]["run_id"])


def resume(handle: SandboxHandle, out: Path, run_id: str) -> dict[str, object]:
    result = run_cli(
        [
            "resume",
            run_id,
            "--base-url",
            handle.url,
            "--json",
            "--out",
            str(out),
            "--settle",
            "0",
            "--tps",
            "unlimited",
        ],
        env=env_for(handle),
    )
    assert result.exit_code == 0, result.output
    return last_json(result)


def test_kill_9_mid_run_then_resume_sends_every_row_exactly_once(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(latency=0.02, jitter=0.02, seed=3)
    proc, out = start_send(tmp_path, handle)
    wait_for_accepted(handle, proc, 60)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    wait_until_provider_idle(handle)
    accepted_before = len(handle.sandbox.accepted)
    assert accepted_before < ROWS

    run_id = only_run(out)
    done = resume(handle, out, run_id)
    assert done["counts"] == {"sent": ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * ROWS


def test_sigint_stops_cleanly_and_resume_finishes(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(latency=0.02, seed=4)
    proc, out = start_send(tmp_path, handle)
    wait_for_accepted(handle, proc, 40)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["status"] == "interrupted"
    assert f"batch-sms resume {summary['run_id']}" in " ".join(summary["next"])
    assert "unknown" not in summary["counts"]  # in-flight requests finished and were recorded
    assert Path(summary["report"]).exists()

    done = resume(handle, out, str(summary["run_id"]))
    assert done["counts"] == {"sent": ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * ROWS


def test_second_sigint_exits_at_once_and_the_journal_stays_usable(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(latency=0.2, seed=5)  # slow answers: the first Ctrl-C has to wait
    proc, out = start_send(tmp_path, handle)
    wait_for_accepted(handle, proc, 20)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    seen = []
    while not any(line.startswith("stopping: ") for line in seen):  # the first one landed
        line = proc.stderr.readline()
        assert line, f"no word after the first Ctrl-C: {seen}"
        seen.append(line)
    assert re.fullmatch(
        r"stopping: waiting for \d+ requests in flight, then writing the report \(Ctrl-C again "
        r"to leave at once\)\n",
        seen[-1],
    )
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    run_id = only_run(out)
    said = " ".join(stderr.split())
    assert f"interrupted run {run_id} at once" in said
    assert f"continue with: batch-sms resume {run_id} --out {out}" in said
    listed = last_json(run_cli(["runs", "--json", "--out", str(out)]))
    assert listed["runs"][0]["status"] == "interrupted"  # not left "running"
    wait_until_provider_idle(handle)

    done = resume(handle, out, run_id)
    assert done["counts"] == {"sent": ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * ROWS
