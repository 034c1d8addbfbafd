"""`validate`, `send --dry-run`, the README's first send, `runs` and `report` through the CLI.

Exit codes and the exact lines a user reads are the contract (DESIGN.md, "Errors and messages").
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import Result
from helpers import DATA, NUMBERS, ROOT, env_for, last_json, read_results, run_cli, write_csv

from batch_sms.sandbox.server import SandboxHandle

SAMPLES = ROOT / "samples"
TEMPLATE = SAMPLES / "template.txt"
SUPPRESS = SAMPLES / "suppress.csv"
# The README's first command, after its install steps (tests/test_docs.py checks it is there).
README_SEND = ["send", "samples/campaign.xlsx", "--sandbox", "--yes"]

EXCEL_REASON = (
    'phone "8.61509E+12" was turned into scientific notation by Excel; the digits are lost. '
    "Store the column as text and export again"
)
# (row, phone as written, status, why) of the sample's bad rows, as the screen lists them.
SHORT = ("25", "+86 138 0013", "invalid", 'phone "+86 138 0013" is not a valid number')
DUPLICATE = ("26", "8613912345678", "duplicate", "same number and text as row 2")
NATIONAL = ("27", "13812345678", "invalid")  # its reason is checked on its own below
EXCEL = ("28", "8.61509E+12", "invalid", EXCEL_REASON)
SUPPRESSED = ("11", "+44 7400 123457", "suppressed", "number is on the suppression list")


def _samples_module() -> ModuleType:
    """samples/make_samples.py, which says which sample rows are bad on purpose."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLE_ROWS = _samples_module().rows()


@pytest.fixture(autouse=True)
def plain_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings, secrets or batch-sms.toml from the developer's shell; a wide plain screen."""
    for name in list(os.environ):
        if name.startswith(("BATCH_SMS_", "NXCLOUD_")) or name in {
            "FORCE_COLOR",
            "TTY_COMPATIBLE",
            "TTY_INTERACTIVE",
        }:
            monkeypatch.delenv(name)
    # Rich lays tables out to the screen width; wide enough that no reason wraps.
    monkeypatch.setenv("COLUMNS", "300")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The --out folder (not created: commands that fail must not create it)."""
    return tmp_path / "reports"


def screen_problems(text: str) -> list[tuple[str, ...]]:
    """The rows of the "Rows that will not be sent" table: (row, phone, status, why)."""
    found: list[tuple[str, ...]] = []
    for line in text.splitlines():
        cells = tuple(c.strip() for c in line.strip().strip("│").split("│"))
        if len(cells) == 4 and cells[0].isdigit():
            found.append(cells)
    return found


def error_lines(result: Result) -> list[str]:
    """What a failing command printed on stderr, line by line."""
    return result.stderr.splitlines()


# --- validate -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["campaign.xlsx", "campaign.csv"])
def test_validate_lists_every_bad_row_and_reports_every_row(name: str, out: Path) -> None:
    result = run_cli(["validate", str(SAMPLES / name), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr == ""
    problems = screen_problems(result.stdout)
    assert [p[:3] for p in problems] == [SHORT[:3], DUPLICATE[:3], NATIONAL, EXCEL[:3]]
    assert problems[0] == SHORT
    assert problems[1] == DUPLICATE
    assert problems[3] == EXCEL
    assert "Rows that will not be sent" in result.stdout
    assert ": not-ready" in result.stdout

    (report,) = out.glob("*/report.xlsx")
    assert f"report: {report}" in result.stdout
    assert f"next: fix the rows listed in {report}, then validate again" in result.stdout
    rows = read_results(report)
    # One Results row per input row, in order, with the cells exactly as the user wrote them.
    assert [(r["name"], r["phone"]) for r in rows] == [(n, p) for n, p, *_ in SAMPLE_ROWS]
    bad = {int(p[0]): p for p in problems}
    for number, row in enumerate(rows, start=2):
        if number in bad:
            assert row["sms_status"] == bad[number][2]
            assert row.get("sms_error"), number
        else:
            assert row["sms_status"] == "ready", number
            assert row["sms_phone"], number
    assert rows[28 - 2]["sms_error"] == EXCEL_REASON
    assert rows[26 - 2]["sms_error"] == "same number and text as row 2"
    assert rows[26 - 2]["sms_phone"] == "8613912345678"


def test_national_number_reason_says_to_give_a_default_region(out: Path) -> None:
    """13812345678 is a valid Chinese mobile: the reason must say how to make it sendable."""
    result = run_cli(["validate", str(SAMPLES / "campaign.csv"), "--out", str(out)])
    (national,) = [p for p in screen_problems(result.stdout) if p[0] == "27"]
    assert national[:3] == NATIONAL
    assert "default region" in national[3] or "--default-region" in national[3]


def test_validate_with_default_region_and_suppression(out: Path) -> None:
    result = run_cli([
        "validate", str(SAMPLES / "campaign.xlsx"), "--default-region", "CN",
        "--suppress", str(SUPPRESS), "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 1
    assert screen_problems(result.stdout) == [SUPPRESSED, SHORT, DUPLICATE, EXCEL]
    (report,) = out.glob("*/report.xlsx")
    rows = {r["name"]: r for r in read_results(report)}
    assert rows["张伟"]["sms_status"] == "ready"
    assert rows["张伟"]["sms_phone"] == "8613812345678"
    assert rows["Harry Jones"]["sms_status"] == "suppressed"
    assert rows["Harry Jones"]["sms_error"] == "number is on the suppression list"


@pytest.mark.parametrize(
    ("extra", "counts"),
    [
        ([], {"ready": 25, "invalid": 3, "duplicate": 1}),
        (
            ["--default-region", "CN", "--suppress", str(SUPPRESS)],
            {"ready": 25, "invalid": 2, "duplicate": 1, "suppressed": 1},
        ),
    ],
)
def test_validate_json(extra: list[str], counts: dict[str, int], out: Path) -> None:
    result = run_cli(["validate", str(SAMPLES / "campaign.csv"), "--json", "--out", str(out),
                      *extra])  # fmt: skip
    assert result.exit_code == 1
    # With --json, stdout carries the JSON object alone; the tables go to stderr.
    assert len(result.stdout.splitlines()) == 1
    data = last_json(result)
    assert data["command"] == "validate"
    assert data["status"] == "not-ready"
    assert data["exit_code"] == 1
    assert data["counts"] == counts
    report = Path(data["report"])
    assert report == out / data["run_id"] / "report.xlsx"
    assert report.is_file()
    assert Path(data["results_csv"]).is_file()  # a CSV input also gets results.csv
    assert len(read_results(report)) == 29
    assert "Rows that will not be sent" in result.stderr


def test_validate_clean_file_exits_0(tmp_path: Path, out: Path) -> None:
    path = write_csv(
        tmp_path / "clean.csv",
        ["phone", "content"],
        [[NUMBERS["CN"], "Hello"], [f"+{NUMBERS['US']}", "Hi"], [NUMBERS["GB"], "Hey"]],
    )
    result = run_cli(["validate", str(path), "--json", "--out", str(out)])
    assert result.exit_code == 0
    data = last_json(result)
    assert data["status"] == "ready"
    assert data["counts"] == {"ready": 3}
    assert "next" not in data
    assert "Rows that will not be sent" not in result.stderr
    assert [r["sms_status"] for r in read_results(Path(data["report"]))] == ["ready"] * 3


# --- templates ------------------------------------------------------------------------------


def test_validate_with_template_file(out: Path) -> None:
    result = run_cli([
        "validate", str(SAMPLES / "campaign.csv"), "--template-file", str(TEMPLATE),
        "--default-region", "CN", "--json", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 1
    assert last_json(result)["counts"] == {"ready": 26, "invalid": 2, "duplicate": 1}


def test_template_file_composes_what_is_sent(
    tmp_path: Path, out: Path, sandbox: SandboxHandle
) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        ["name", "phone", "country", "code"],
        [["王芳", NUMBERS["CN"], "CN", "3951"], ["Bob", NUMBERS["US"], "US", "1180"]],
    )
    result = run_cli(
        ["send", str(path), "--template-file", str(TEMPLATE), "--base-url", sandbox.url,
         "--yes", "--json", "--tps", "unlimited", "--out", str(out)],
        env=env_for(sandbox),
    )  # fmt: skip
    assert result.exit_code == 0
    assert last_json(result)["status"] == "finished"
    assert {(a.phone, a.content) for a in sandbox.sandbox.accepted} == {
        (NUMBERS["CN"], "王芳您好，您的验证码是3951，5分钟内有效。回复TD退订"),
        (NUMBERS["US"], "Hi Bob, your code is 1180. Reply STOP to opt out."),
    }


def test_template_with_unknown_field_is_refused_before_anything(out: Path) -> None:
    result = run_cli(["validate", str(SAMPLES / "campaign.csv"), "--template", "Hi {{ nosuch }}",
                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2
    assert result.stdout == ""
    assert error_lines(result) == [
        "Error: template names unknown column nosuch; columns: {{ name }}, {{ phone }}, "
        "{{ country }}, {{ code }}, {{ content }}",
        "Hint: fix the name in the template, or add the column to the file",
    ]
    assert not out.exists()


def test_template_syntax_error(out: Path) -> None:
    result = run_cli(["validate", str(SAMPLES / "campaign.csv"), "--template", "Hi {{ name",
                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: template line 1: unexpected end of template, expected 'end of print statement'.",
        'Hint: write columns as {{ name }} or {{ row["First Name"] }}',
    ]
    assert not out.exists()


# --- unusable input: exit 2, one Error: line, one Hint: line, nothing written ---------------

NO_PHONE = "name,content\nAlice,Hello\n"
Case = tuple[Callable[[Path], list[str]], str, str | None]


def _file(name: str, text: str = "") -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def _config(text: str) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        path = _file("batch.toml", text)(tmp)
        return ["validate", str(SAMPLES / "campaign.csv"), "--config", str(path)]

    return args


CSV = str(SAMPLES / "campaign.csv")
XLSX = str(SAMPLES / "campaign.xlsx")
# (arguments, the Error: line, the Hint: line or None where any non-empty hint will do)
UNUSABLE: dict[str, Case] = {
    "missing file": (
        lambda t: ["validate", str(t / "nosuch.csv")],
        "Error: {tmp}/nosuch.csv: file not found",
        "Hint: check the path and the file name",
    ),
    "unsupported extension": (
        lambda t: ["validate", str(_file("list.pdf", "%PDF")(t))],
        "Error: {tmp}/list.pdf: unsupported file type '.pdf'",
        "Hint: batch-sms reads .csv, .xlsx, .xlsm, .xls and .ods files; "
        "save the list in one of those formats",
    ),
    "empty csv": (
        lambda t: ["validate", str(DATA / "empty.csv")],
        f"Error: {DATA}/empty.csv: the file is empty",
        "Hint: export the list again with a header row",
    ),
    "empty xlsx": (
        lambda t: ["validate", str(DATA / "empty.xlsx")],
        f"Error: {DATA}/empty.xlsx: every visible sheet is empty; sheets: Sheet1",
        "Hint: put the recipient list on a sheet with a header row, or name a hidden sheet with "
        "--sheet",
    ),
    "header only csv": (
        lambda t: ["validate", str(DATA / "header_only.csv")],
        f"Error: {DATA}/header_only.csv: the file has a header but no data rows; "
        "columns: phone, name, content",
        "Hint: add one row per recipient below the header",
    ),
    "header only xlsx": (
        lambda t: ["send", str(DATA / "header_only.xlsx"), "--dry-run"],
        f"Error: {DATA}/header_only.xlsx: the file has a header but no data rows; "
        "columns: phone, name",
        "Hint: add one row per recipient below the header",
    ),
    "no phone column": (
        lambda t: ["validate", str(_file("nophone.csv", NO_PHONE)(t))],
        "Error: {tmp}/nophone.csv: no phone column found; columns: name, content",
        "Hint: name the column with --phone-column NAME",
    ),
    "unknown --phone-column": (
        lambda t: ["validate", CSV, "--phone-column", "nosuch"],
        f'Error: {CSV}: --phone-column: column "nosuch" not found; '
        "columns: name, phone, country, code, content",
        "Hint: check --phone-column",
    ),
    "unknown --content-column": (
        lambda t: ["validate", CSV, "--content-column", "nosuch"],
        f'Error: {CSV}: --content-column: column "nosuch" not found; '
        "columns: name, phone, country, code, content",
        "Hint: check --content-column",
    ),
    "unknown --sheet": (
        lambda t: ["validate", XLSX, "--sheet", "nosuch"],
        f'Error: {XLSX}: sheet "nosuch" not found; sheets: Contacts',
        "Hint: give one of those names with --sheet",
    ),
    "--sheet on a csv": (
        lambda t: ["validate", CSV, "--sheet", "nosuch"],
        f"Error: {CSV}: --sheet applies to spreadsheets, not CSV files",
        None,
    ),
    "missing --template-file": (
        lambda t: ["validate", CSV, "--template-file", str(t / "nosuch.txt")],
        "Error: {tmp}/nosuch.txt: template file not found",
        "Hint: check the path given to --template-file",
    ),
    "bad --sender": (
        lambda t: ["send", CSV, "--sender", "bad sender!", "--sandbox", "--yes"],
        "Error: --sender 'bad sender!': sender id \"bad sender!\" may contain only ASCII letters "
        "and digits",
        None,
    ),
    "negative --tps": (
        lambda t: ["send", CSV, "--tps", "-1", "--sandbox", "--yes"],
        "Error: tps must be positive (or 'unlimited')",
        None,
    ),
    "zero --hourly-cap": (
        lambda t: ["send", CSV, "--hourly-cap", "0", "--sandbox", "--yes"],
        "Error: hourly-cap must be at least 1",
        None,
    ),
    "--template with --template-file": (
        lambda t: ["validate", CSV, "--template", "Hi", "--template-file", str(TEMPLATE)],
        "Error: give --template or --template-file, not both",
        None,
    ),
    "missing --config": (
        lambda t: ["validate", CSV, "--config", str(t / "nosuch.toml")],
        "Error: {tmp}/nosuch.toml: config file not found",
        None,
    ),
    "unknown setting in --config": (
        _config("colour = 1\n"),
        "Error: {tmp}/batch.toml: unknown setting 'colour'",
        None,
    ),
    "bad value in --config": (
        _config('tps = "fast"\n'),
        "Error: {tmp}/batch.toml: 'fast' is not a valid value for tps",
        None,
    ),
}


@pytest.mark.parametrize(("args", "error", "hint"), UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_input(
    args: Callable[[Path], list[str]], error: str, hint: str | None, tmp_path: Path, out: Path
) -> None:
    result = run_cli([*args(tmp_path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = error_lines(result)
    assert lines[0] == error.format(tmp=tmp_path)
    assert len(lines) == 2, f"expected a Hint: line after {lines[0]!r}"
    if hint is None:
        assert lines[1].startswith("Hint: ")
        assert lines[1][len("Hint: ") :].strip()
    else:
        assert lines[1] == hint
    assert not out.exists()


def test_config_that_is_not_toml(tmp_path: Path, out: Path) -> None:
    result = run_cli([*_config("tps = \n")(tmp_path), "--out", str(out)])
    assert result.exit_code == 2
    lines = error_lines(result)
    # The rest of the line is tomllib's own wording, which Python versions change.
    assert lines[0].startswith(f"Error: {tmp_path}/batch.toml: not valid TOML: ")
    assert len(lines) == 2
    assert lines[1].startswith("Hint: ")
    assert not out.exists()


# --- send -------------------------------------------------------------------------------------


def test_dry_run_sends_nothing_and_reports_ready_rows(
    out: Path, sandbox: SandboxHandle, user_data_dir: Path
) -> None:
    result = run_cli(
        ["send", XLSX, "--dry-run", "--base-url", sandbox.url, "--json", "--out", str(out)],
        env=env_for(sandbox),
    )
    assert result.exit_code == 0
    data = last_json(result)
    assert data["status"] == "dry-run"
    assert data["counts"] == {"ready": 25, "invalid": 3, "duplicate": 1}
    assert data["next"] == [
        "25 requests were built and signed; none was sent. Run again without --dry-run to send."
    ]
    assert sandbox.sandbox.accepted == []
    assert sum(sandbox.sandbox.answers.values()) == 0
    statuses = [r["sms_status"] for r in read_results(Path(data["report"]))]
    assert statuses.count("ready") == 25
    assert len(statuses) == 29
    assert not (user_data_dir / "batch-sms.sqlite3").exists()  # a dry run is not a run


def test_dry_run_needs_no_credentials(out: Path) -> None:
    """README step 2 runs `send --dry-run` before any account is set up."""
    result = run_cli(["send", XLSX, "--dry-run", "--json", "--out", str(out)])
    assert result.exit_code == 0
    assert last_json(result)["status"] == "dry-run"


def test_send_without_terminal_or_yes_refuses(out: Path, sandbox: SandboxHandle) -> None:
    result = run_cli(["send", CSV, "--base-url", sandbox.url, "--out", str(out)],
                     env=env_for(sandbox))  # fmt: skip
    assert result.exit_code == 2
    assert sandbox.sandbox.accepted == []
    lines = error_lines(result)
    # One Error: line and a Hint: line like every other refusal, not click's usage banner.
    assert not any(line.startswith("Usage:") for line in lines)
    assert [line for line in lines if line] == [
        "Error: not asking for confirmation without a terminal",
        "Hint: add --yes to send",
    ]


def test_send_without_credentials_points_to_the_sandbox(out: Path) -> None:
    result = run_cli(["send", CSV, "--yes", "--out", str(out)])
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: missing credentials: NXCLOUD_ACCESS_KEY, NXCLOUD_ACCESS_SECRET, NXCLOUD_APP_KEY",
        "Hint: set them in the environment or in batch-sms.toml [credentials]; "
        "or try the built-in simulator with --sandbox",
    ]


def test_readme_first_command_sends_the_sample(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the README's command names the sample relative to the checkout
    result = run_cli([*README_SEND, "--json", "--out", str(out)])
    assert result.exit_code == 0
    data = last_json(result)
    assert data["status"] == "finished"
    counts = data["counts"]
    assert counts.get("sent", 0) + counts.get("delivered", 0) == 25
    assert {k: v for k, v in counts.items() if k not in {"sent", "delivered"}} == {
        "invalid": 3,
        "duplicate": 1,
    }
    report = Path(data["report"])
    assert report == out / data["run_id"] / "report.xlsx"
    rows = read_results(report)
    assert len(rows) == 29
    assert {r["sms_status"] for r in rows} <= {"sent", "delivered", "invalid", "duplicate"}
    assert all(r["sms_messageid"] for r in rows if r["sms_status"] in {"sent", "delivered"})
    assert Path(data["failed"]).is_file()

    listed = run_cli(["runs", "--sandbox", "--json", "--out", str(out)])
    assert listed.exit_code == 0
    (run,) = json.loads(listed.stdout)["runs"]
    assert (run["run_id"], run["status"], run["counts"]) == (data["run_id"], "finished", counts)
    assert json.loads(run_cli(["runs", "--json", "--out", str(out)]).stdout)["runs"] == []

    again = run_cli(["report", data["run_id"], "--sandbox", "--json", "--out", str(out)])
    assert again.exit_code == 0
    assert last_json(again)["counts"] == counts


# --- runs and report ----------------------------------------------------------------------------


def test_runs_on_empty_state(out: Path, user_data_dir: Path) -> None:
    result = run_cli(["runs", "--out", str(out)])
    assert result.exit_code == 0
    state = user_data_dir / "batch-sms.sqlite3"
    assert result.stdout == f"state db: {state}\nno runs yet\n"
    result = run_cli(["runs", "--json", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"state": str(state), "runs": []}
    assert not out.exists()
    assert not state.exists()


def test_report_of_unknown_run(out: Path, user_data_dir: Path) -> None:
    result = run_cli(["report", "nosuch-run", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert error_lines(result) == [
        f"Error: unknown run 'nosuch-run' in {user_data_dir}/batch-sms.sqlite3",
        f"Hint: batch-sms runs --out {out} lists the runs there (add --sandbox for the runs made "
        "with --sandbox)",  # a pasted hint looks where this command looked
    ]


def test_report_of_unknown_run_leaves_no_state_db_behind(out: Path) -> None:
    """A mistyped --out must not leave an empty state db (and folder) behind."""
    run_cli(["report", "nosuch-run", "--out", str(out)])
    assert not out.exists()


def test_report_with_malformed_run_id(out: Path) -> None:
    result = run_cli(["report", "../etc", "--out", str(out)])
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: '../etc' is not a run id",
        f"Hint: batch-sms runs --out {out} lists the runs there (add --sandbox for the runs made "
        "with --sandbox)",
    ]
    assert not out.exists()


def test_a_bare_list_of_numbers_works_as_a_suppression_list(tmp_path: Path) -> None:
    path = tmp_path / "optout.csv"
    path.write_text("+44 7400 123457\n+1 201-555-0123\n", encoding="utf-8")
    result = run_cli(["validate", str(SAMPLES / "campaign.csv"), "--suppress", str(path),
                      "--json", "--out", str(tmp_path / "out")])  # fmt: skip
    assert last_json(result)["counts"]["suppressed"] == 2


def test_a_suppression_list_without_numbers_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "optout.csv"
    path.write_text("name,city\nAlice,Paris\n", encoding="utf-8")
    result = run_cli(["validate", str(SAMPLES / "campaign.csv"), "--suppress", str(path),
                      "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 2
    assert error_lines(result)[0] == (f"Error: {path}: no phone column found; columns: name, city")
