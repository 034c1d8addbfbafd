"""Cost through the CLI against the sandbox: the billed price per row and in the Summary, and
`--max-cost` refusing a send, stopping a run in time, and holding across resume and retry."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path

from helpers import (
    SandboxMaker,
    cn_numbers,
    env_for,
    last_json,
    read_results,
    run_cli,
    write_csv,
)
from openpyxl import load_workbook

import batch_sms
from batch_sms.journal import Journal
from batch_sms.models import RESULT_COLUMNS

LONG = "你好 " * 40  # UCS-2, 120 characters: 2 segments
SANDBOX_RATE = 0.01  # SandboxConfig.price: what the simulator bills per segment


def _prices(tmp_path: Path, default: float) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(f'[prices]\ncurrency = "USD"\ndefault = {default}\n', encoding="utf-8")
    return path


def _cost_table(report: Path) -> dict[str, tuple[object, ...]]:
    """The Summary's cost lines by their first cell (country code, Total, …)."""
    ws = load_workbook(report)["Summary"]
    rows = [row for row in ws.iter_rows(values_only=True) if row and row[0] is not None]
    start = next(i for i, row in enumerate(rows) if row[0] == "Cost")
    return {str(row[0]): row[:5] for row in rows[start + 1 : start + 8]}


def test_a_sandbox_run_reports_what_each_row_was_billed_with_no_price_configured(
    tmp_path: Path,
) -> None:
    """sms_price/sms_currency come from the receipts (a 2-segment text costs 2 x the rate) in
    the Results sheet, results.csv and the Python API; the Summary shows the billed cost per
    country and in total even though no price is configured."""
    rows = [["a", cn_numbers(1)[0], LONG], ["b", "12015550123", "Hello"], ["c", "123", "Hi"]]
    path = write_csv(tmp_path / "list.csv", ["name", "phone", "content"], rows)
    out = tmp_path / "reports"
    result = run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--out", str(out)])
    sent = last_json(result)
    assert sent["counts"] == {"delivered": 2, "invalid": 1}
    report = Path(sent["report"])
    # (read-only openpyxl leaves a row's empty trailing cells out)
    results = read_results(report)
    billed = [(r["sms_segments"], r.get("sms_price"), r.get("sms_currency")) for r in results]
    assert billed == [(2, 0.02, "USD"), (1, 0.01, "USD"), (1, None, None)]
    with Path(sent["results_csv"]).open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0])[-3:] == list(RESULT_COLUMNS[-3:]) == [
        "sms_text", "sms_price", "sms_currency",
    ]  # fmt: skip
    assert [(r["sms_price"], r["sms_currency"]) for r in table] == [
        ("0.02", "USD"), ("0.01", "USD"), ("", ""),
    ]  # fmt: skip
    frame = batch_sms.results(sent["run_id"], sandbox=True, out=out)
    assert list(frame["sms_price"].fillna(-1)) == [0.02, 0.01, -1]
    assert str(frame["sms_price"].dtype) == "Float64"
    assert list(frame["sms_currency"]) == ["USD", "USD", ""]
    # `report` later, with no price configured anywhere: the billed cost is there.
    again = last_json(run_cli(["report", sent["run_id"], "--sandbox", "--json", "--out", str(out)]))
    cost = _cost_table(Path(again["report"]))
    assert cost["Country code"][3:] == ("Estimated (USD)", "Billed (USD)")
    assert cost["86"][1:] == (1, 2, 0.02, 0.02)  # sandbox runs are estimated at its tariff
    assert cost["1"][1:] == (1, 1, 0.01, 0.01)
    assert cost["Total"][4] == 0.03


def test_the_summary_bills_receipts_even_when_no_estimate_is_possible(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """A run against the provider (here the sandbox as a server) without any [prices]: the
    estimate says "no price", the billed column shows what the receipts charged."""
    handle = make_sandbox(hourly_cap=None)
    state = tmp_path / "state.db"
    path = write_csv(
        tmp_path / "list.csv", ["phone", "content"], [[p, "Hi"] for p in cn_numbers(3)]
    )
    out = tmp_path / "reports"
    common = ["--state", str(state), "--out", str(out), "--json"]
    sent = last_json(
        run_cli(
            ["send", str(path), "--yes", "--tps", "unlimited", "--base-url", handle.url, *common],
            env_for(handle),
        )
    )
    assert sent["counts"] == {"sent": 3}
    with sqlite3.connect(state) as raw:  # the receipts as a receiver would have stored them
        ids = [m for (m,) in raw.execute("SELECT messageid FROM messages ORDER BY id")]
    with Journal(state) as j:
        for messageid in ids[:2]:
            j.add_receipt({"messageid": messageid, "status": "2", "price": "0.0100",
                           "currency": "USD"}, 1.0)  # fmt: skip
    again = last_json(run_cli(["report", sent["run_id"], *common], env_for(handle)))
    cost = _cost_table(Path(again["report"]))
    assert cost["86"] == ("86", 3, 3, "no price", 0.02)
    assert cost["Total"] == ("Total", 3, 3, "no price", 0.02)


def test_max_cost_below_the_estimate_exits_2_and_the_sandbox_receives_nothing(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    path = write_csv(
        tmp_path / "list.csv", ["phone", "content"], [[p, "Hi"] for p in cn_numbers(3)]
    )
    common = ["--base-url", handle.url, "--yes", "--out", str(tmp_path / "reports")]
    priced = run_cli(
        [
            "send",
            str(path),
            *common,
            "--max-cost",
            "0.029",
            "--config",
            str(_prices(tmp_path, 0.01)),
        ],
        env_for(handle),
    )
    assert priced.exit_code == 2
    assert "--max-cost 0.029 USD: the estimated cost 0.0300 USD is above the ceiling" in (
        priced.output
    )
    assert "give --max-cost 0.03 or more" in priced.output
    unpriced = run_cli(["send", str(path), *common, "--max-cost", "5"], env_for(handle))
    assert unpriced.exit_code == 2
    assert "no price is configured for country codes +86" in unpriced.output
    assert handle.sandbox.accepted == []
    assert handle.sandbox.arrivals == []  # not one request reached it
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_the_ceiling_stops_a_run_billed_above_its_estimate_and_resume_keeps_it(
    tmp_path: Path,
) -> None:
    """Prices configured at half the simulator's tariff: the estimate fits under --max-cost,
    the receipts show the run costs more, and it stops (exit 3, resumable) before the cost so
    far passes the ceiling. `resume` keeps the ceiling and counts what was spent: refused
    (exit 2) until a higher --max-cost lets it finish, every row sent once."""
    phones = cn_numbers(40)
    path = write_csv(tmp_path / "list.csv", ["phone", "content"], [[p, "Hi"] for p in phones])
    out = tmp_path / "reports"
    config = ["--config", str(_prices(tmp_path, SANDBOX_RATE / 2)), "--out", str(out), "--json"]
    first = run_cli(
        ["send", str(path), "--sandbox", "--yes", "--tps", "10", "--max-cost", "0.21", *config]
    )
    stopped = last_json(first)
    assert first.exit_code == 3
    assert stopped["status"] == "stopped"
    assert stopped["stop_reason"].startswith("cost ceiling 0.21 USD reached")
    run_id = stopped["run_id"]
    done = sum(n for s, n in stopped["counts"].items() if s != "pending")
    assert 0 < done < 40
    assert stopped["counts"]["pending"] == 40 - done
    # What counted when it stopped: billed receipts at 0.01, the others estimated at 0.005.
    assert done * SANDBOX_RATE / 2 <= 0.21
    refused = run_cli(["resume", run_id, "--sandbox", *config])
    assert refused.exit_code == 2
    assert "above the ceiling" in refused.output
    assert f"batch-sms resume {run_id} --max-cost" in refused.output
    finished = run_cli(["resume", run_id, "--sandbox", "--max-cost", "1", *config])
    assert finished.exit_code == 0, finished.output
    rows = read_results(Path(last_json(finished)["report"]))
    assert sorted(r["phone"] for r in rows) == sorted(phones)
    assert {r["sms_status"] for r in rows} <= {"sent", "delivered"}
    assert len({r["sms_messageid"] for r in rows}) == 40


def test_retry_keeps_the_ceiling_and_counts_what_its_parent_spent(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(hourly_cap=None, forbidden=("casino",))
    texts = ["Hi", "Hi", "Hi", "casino night", "casino night"]
    path = write_csv(
        tmp_path / "list.csv",
        ["phone", "content"],
        list(map(list, zip(cn_numbers(5), texts, strict=True))),
    )
    common = ["--base-url", handle.url, "--out", str(tmp_path / "reports"), "--json"]
    cheap = ["--config", str(_prices(tmp_path, 0.01))]
    sent = last_json(
        run_cli(
            ["send", str(path), "--yes", "--max-cost", "0.05", *cheap, *common], env_for(handle)
        )
    )
    assert sent["counts"] == {"sent": 3, "failed": 2}
    # Prices went up since: the parent's 3 accepted messages now count 0.06 (no receipts came)
    # and the 2 to retry 0.04, above the 0.05 the run recorded.
    dear = tmp_path / "dear"
    dear.mkdir()
    refused = run_cli(
        ["retry", sent["run_id"], "--config", str(_prices(dear, 0.02)), *common], env_for(handle)
    )
    assert refused.exit_code == 2
    assert "after 0.0600 USD already spent is above the ceiling" in refused.output
    assert len(handle.sandbox.arrivals) == 5  # the retry sent nothing
    found = re.search(r"run (\S+) sent nothing more", refused.output)
    assert found is not None
    retry_id = found[1]
    resumed = run_cli(
        ["resume", retry_id, "--max-cost", "0.1", "--config", str(_prices(dear, 0.02)), *common],
        env_for(handle),
    )
    assert last_json(resumed)["counts"] == {"failed": 2}  # sent, and refused by the provider
    assert len(handle.sandbox.arrivals) == 7
