"""The issue's rate promise through the CLI: 2,000 rows at --tps 100 against a sandbox whose
account limit is 100 per second get no code 28, and no sliding second at the sandbox holds
more than 100 requests. (It takes about 20 s: the rate itself is what is being checked.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import cn_numbers, env_for, last_json, run_cli, write_csv

from batch_sms.dispatch.limits import most_in_window
from batch_sms.sandbox.server import SandboxHandle

pytestmark = pytest.mark.slow


def test_2000_rows_at_tps_100_never_exceed_the_account_limit(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    handle = make_sandbox(tps_limit=100)
    rows = [[p, f"Spring sale {i}"] for i, p in enumerate(cn_numbers(2000))]
    path = write_csv(tmp_path / "big.csv", ["phone", "content"], rows)
    result = run_cli(
        [
            "send",
            str(path),
            "--base-url",
            handle.url,
            "--yes",
            "--json",
            "--tps",
            "100",
            "--out",
            str(tmp_path / "reports"),
        ],
        env=env_for(handle),
    )
    assert result.exit_code == 0, result.output
    assert last_json(result)["counts"] == {"sent": 2000}
    assert handle.sandbox.answers["28"] == 0
    assert len(handle.sandbox.arrivals) == 2000
    assert most_in_window(handle.sandbox.arrivals) <= 100
