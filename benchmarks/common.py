"""What the benchmarks share: fresh-subprocess runs with peak memory, the machine, the table."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Measured",
    "clean_env",
    "compile_once",
    "describe",
    "machine",
    "peak_rss_mb",
    "print_results",
    "run",
    "run_worker",
    "server",
    "table",
]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    """One subprocess run: wall and CPU seconds, its peak RSS, exit code and output."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    returncode: int
    stdout: str


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Restart the peak RSS count from the current RSS (Linux 4.0+); False when not possible.

    Afterwards peak_rss_mb() reports the peak since this call, so read the earlier one first.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def clean_env() -> dict[str, str]:
    """The environment without batch-sms settings or credentials, so runs are comparable, and
    without PYTHONDONTWRITEBYTECODE: an installed copy has its modules compiled once (pip does
    it), while with that variable set (as on the project's development machine) every run of an
    editable install would compile all of batch-sms again, about 0.1 s per process."""
    skip = ("BATCH_SMS_", "NXCLOUD_", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)}


def compile_once() -> None:
    """Compile batch-sms's modules as installing it does, so no measured run pays for that."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "batch_sms")],
        env=clean_env(), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Measured:
    """Run `command` in a fresh process; its own peak RSS comes from wait4's rusage.

    `env` adds variables to the clean environment.
    """
    start = time.perf_counter()
    with subprocess.Popen(
        command, cwd=cwd, env={**clean_env(), **(env or {})}, stdout=subprocess.PIPE, text=True
    ) as proc:
        stdout = proc.stdout.read() if proc.stdout else ""
        # wait4 reports the rusage of exactly this child (not of every child reaped so far).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, cpu, usage.ru_maxrss / 1024, proc.returncode, stdout)


def run_worker(script: Path, args: Sequence[str], cwd: Path) -> dict[str, Any]:
    """Run `script --worker ...` in a fresh interpreter and return the JSON of its last line."""
    measured = run([sys.executable, str(script), *args], cwd)
    if measured.returncode != 0:
        raise SystemExit(f"worker {shlex.join(args)} failed with exit code {measured.returncode}")
    result: dict[str, Any] = json.loads(measured.stdout.strip().splitlines()[-1])
    result["process_peak_mb"] = measured.peak_mb
    return result


@contextmanager
def server(command: list[str], pattern: str) -> Iterator[str]:
    """Start a server process; the URL it prints (matched by `pattern`) while it runs."""
    proc = subprocess.Popen(
        command, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        printed = ""
        while (found := re.search(pattern, printed)) is None:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                raise SystemExit(f"{shlex.join(command)} ended: {printed}")
            printed += line
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    import phonenumbers

    return {
        "code under test": code_version(),
        "cpus (nproc)": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "phonenumbers": phonenumbers.__version__,
        "os": f"{platform.system()} {platform.release()}",
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def code_version() -> str:
    """Where batch_sms is imported from, its commit, and whether its files differ from it."""
    import batch_sms

    package = Path(batch_sms.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=package,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."],
            cwd=package,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(package)
    changed = f", uncommitted changes in {len(dirty.splitlines())} file(s)" if dirty else ""
    return f"{package} at {commit}{changed}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with right-aligned figures."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    body = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join([line, rule, *body])


def describe(info: Mapping[str, str]) -> str:
    """The machine as Markdown bullet lines."""
    return "\n".join(f"- {k}: {v}" for k, v in info.items())


# The columns of the issue-13 benchmarks' tables (send.py, rate.py, million.py, run_all.py).
HEADER = ["benchmark", "measured", "figure", "ratio", "goal"]


def print_results(rows: Sequence[Sequence[str]], extra: Mapping[str, str] | None = None) -> None:
    """Print the rows under HEADER, then the machine (with `extra` lines) and the command."""
    print(table(HEADER, rows))
    print()
    print(describe({**machine(), **(extra or {})}))
    print(f"- command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
