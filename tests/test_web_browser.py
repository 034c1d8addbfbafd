"""batch-sms web in a real browser: headless Chromium, driven by selenium through Debian's
chromedriver, walks the sample workbook from upload to a downloaded report, and stops a slow
send and resumes it, saving a screenshot of each page (into $BATCH_SMS_WEB_SCREENSHOTS when set,
e.g. docs/, else the test's folder)."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from helpers import FakeClock, cn_numbers, write_csv
from webclient import SAMPLE, STOP_ROWS, cli_sample_results, results_sheet

from batch_sms.commands import sending
from batch_sms.config import load_settings
from batch_sms.sandbox import server
from batch_sms.web import WebConfig, make_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Skipped on a developer's machine without them; in CI (CI=true) a missing piece fails instead,
# so the browser test never silently stops running there.
if not os.environ.get("CI"):
    pytest.importorskip("selenium", reason="selenium is in the test extras")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver import Chrome, ChromeOptions  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow
WAIT = 60.0  # seconds a page may take to reach the awaited state (a slow CI machine)


class Server:
    """The web app on a free loopback port, in a thread with its own event loop."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(make_app(self.config))
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(30)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chrome]:
    """Headless Chromium that downloads into tmp_path/downloads."""
    options = ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1400",
                 f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads),
                  "download.prompt_for_download": False},
    )  # fmt: skip
    driver = Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shots(tmp_path: Path) -> Path:
    """Where the page screenshots go (a relative folder is taken from where the test started)."""
    folder = Path(os.environ.get("BATCH_SMS_WEB_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def neutral_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WebConfig:
    """A sandbox app working in tmp_path under relative names, so the pages (and the pictures
    of them) show `out/...`, never a temporary folder's path."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        {"out": Path("out"), "state": Path("state.sqlite3"), "sandbox": True},
        environ={},
        cwd=tmp_path,
    )
    return WebConfig(settings)


def snap(driver: Chrome, folder: Path, name: str) -> None:
    """Save the whole page (as tall as its content) as folder/name.png."""
    driver.set_window_size(1280, 800)  # the page's height is measured from a small window
    height, chrome = driver.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(1280, max(800, min(int(height) + int(chrome) + 24, 4000)))
    driver.save_screenshot(str(folder / f"{name}.png"))


def wait_for(driver: Chrome, what: Any) -> Any:
    """Wait until `what(driver)` is true-ish; an element that went away under it (the run page
    reloads itself when the send ends) is asked for again."""
    wait = WebDriverWait(driver, WAIT, poll_frequency=0.2, ignored_exceptions=[WebDriverException])
    return wait.until(what)


def test_browser_walks_upload_check_confirm_send_and_report(
    tmp_path: Path, browser: Chrome, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shots(tmp_path)
    with Server(neutral_config(tmp_path, monkeypatch)) as base:
        browser.get(f"{base}/campaigns/new")
        snap(browser, folder, "web-new")
        browser.find_element(By.ID, "file").send_keys(str(SAMPLE))
        browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
        wait_for(browser, lambda d: "/uploads/" in d.current_url)
        assert browser.find_element(By.ID, "phone_column").get_attribute("value") == "phone"
        snap(browser, folder, "web-options")
        browser.find_element(By.CSS_SELECTOR, "form.options button[type=submit]").click()
        wait_for(browser, lambda d: "/checks/" in d.current_url)
        rows = browser.find_elements(By.CSS_SELECTOR, "table.problems tbody tr")
        found = {r.find_element(By.TAG_NAME, "th").text: r.find_element(By.CSS_SELECTOR,
                 "td.reason").text for r in rows}  # fmt: skip
        assert sorted(found) == ["25", "26", "27", "28"]
        assert found["26"] == "same number and text as row 2"
        assert "scientific notation by Excel" in found["28"]
        assert len(browser.find_elements(By.CSS_SELECTOR, "td.bad mark")) == 4
        snap(browser, folder, "web-check")
        browser.find_element(By.LINK_TEXT, "Continue to send").click()
        wait_for(browser, lambda d: d.current_url.endswith("/confirm"))
        assert "Send 25 messages?" in browser.find_element(By.TAG_NAME, "h1").text
        snap(browser, folder, "web-confirm")
        browser.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
        wait_for(browser, lambda d: "/sends/" in d.current_url)
        state = (By.CSS_SELECTOR, '[data-field="state"]')
        wait_for(browser, lambda d: d.find_element(*state).text == "finished")  # no reload
        snap(browser, folder, "web-run")
        browser.find_element(By.LINK_TEXT, "report.xlsx").click()
        downloads = tmp_path / "downloads"
        report = wait_for(browser, lambda d: next(
            (p for p in downloads.glob("*-report.xlsx")), None))  # fmt: skip
        deadline = time.monotonic() + WAIT
        while any(downloads.glob("*.crdownload")) and time.monotonic() < deadline:
            time.sleep(0.1)  # the browser finishes writing the file
        web_rows = results_sheet(None, report)
        status = web_rows[0].index("sms_status")
        assert [r[status] for r in web_rows[1:]].count("delivered") == 25
        # The Results sheet is the CLI's for the same file and options.
        assert web_rows == cli_sample_results(tmp_path)
        browser.get(f"{base}/runs")
        assert "finished" in browser.find_element(By.CSS_SELECTOR, "table.runs").text
        snap(browser, folder, "web-runs")


def test_browser_stops_a_slow_send_and_resumes_it(
    tmp_path: Path, browser: Chrome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stop on a send at 2 per second: the page says `interrupted` and offers Resume, which
    finishes the same run."""
    rows = [[p, f"Offer {i}"] for i, p in enumerate(cn_numbers(STOP_ROWS))]
    campaign = write_csv(tmp_path / "offers.csv", ["phone", "content"], rows)
    folder = shots(tmp_path)
    state = (By.CSS_SELECTOR, '[data-field="state"]')
    with Server(neutral_config(tmp_path, monkeypatch)) as base:
        browser.get(f"{base}/campaigns/new")
        browser.find_element(By.ID, "file").send_keys(str(campaign))
        browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
        wait_for(browser, lambda d: "/uploads/" in d.current_url)
        tps = browser.find_element(By.ID, "tps")
        tps.clear()
        tps.send_keys("2")
        browser.find_element(By.CSS_SELECTOR, "form.options button[type=submit]").click()
        wait_for(browser, lambda d: "/checks/" in d.current_url)
        browser.find_element(By.LINK_TEXT, "Continue to send").click()
        wait_for(browser, lambda d: d.current_url.endswith("/confirm"))
        browser.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
        wait_for(browser, lambda d: "/sends/" in d.current_url)
        run_id = wait_for(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, '[data-field="run_id"]').text.removeprefix("run "))  # fmt: skip
        wait_for(browser, lambda d: int(d.find_element(
            By.CSS_SELECTOR, '[data-field="done"]').text) >= 3)  # a steady rate  # fmt: skip
        snap(browser, folder, "web-sending")
        browser.find_element(By.CSS_SELECTOR, "form.stop button[type=submit]").click()
        wait_for(browser, lambda d: d.find_element(*state).text == "interrupted")
        resume = wait_for(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, f'form[action="/runs/{run_id}/resume"] button'))  # fmt: skip
        assert browser.find_elements(By.CSS_SELECTOR, "form.stop") == []
        stopped = browser.find_element(By.CSS_SELECTOR, '[data-field="counts"]').text
        assert "pending" in stopped
        snap(browser, folder, "web-stopped")
        resume.click()
        wait_for(browser, lambda d: d.find_element(*state).text == "finished")
        assert browser.find_element(By.CSS_SELECTOR, '[data-field="run_id"]').text == (
            f"run {run_id}"
        )
        tiles = browser.find_elements(By.CSS_SELECTOR, '[data-field="counts"] li')
        counts = {t.text.split()[-1]: int(t.text.split()[0].replace(",", "")) for t in tiles}
        assert sum(counts.values()) == STOP_ROWS
        assert set(counts) <= {"sent", "delivered"}, counts
        assert browser.find_elements(By.CSS_SELECTOR, f'form[action="/runs/{run_id}/resume"]') == []
        browser.get(f"{base}/runs")
        [listed] = browser.find_elements(By.CSS_SELECTOR, "table.runs tbody tr")
        assert run_id in listed.text
        assert "finished" in listed.text


DROP = """
const zone = document.querySelector("form.upload .dropzone");
const data = new DataTransfer();
data.items.add(new File([arguments[0]], "dropped.csv", {type: "text/csv"}));
for (const name of ["dragenter", "drop"]) {
  zone.dispatchEvent(new DragEvent(name, {dataTransfer: data, bubbles: true, cancelable: true}));
}
"""


def test_browser_takes_a_file_dropped_on_the_upload_zone(
    tmp_path: Path, browser: Chrome, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Server(neutral_config(tmp_path, monkeypatch)) as base:
        browser.get(f"{base}/campaigns/new")
        browser.execute_script(DROP, "phone,content\n+8613912345678,Hello\n")
        name = browser.find_element(By.CSS_SELECTOR, "form.upload .dropzone-name")
        assert name.text == "dropped.csv"
        browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
        wait_for(browser, lambda d: "/uploads/" in d.current_url)
        assert "dropped.csv" in browser.find_element(By.TAG_NAME, "main").text
        assert browser.find_element(By.ID, "phone_column").get_attribute("value") == "phone"


# 03:00 in Shanghai is 14:00 in New York (19:00 UTC).
AT_3_IN_SHANGHAI = datetime(2026, 11, 30, 19, 0, tzinfo=UTC).timestamp()
QUOTED = "“Winter sale” ends tonight: every coat and scarf half price until midnight"


def fill(driver: Chrome, **fields: str) -> None:
    """Type into the options form's fields (each cleared first)."""
    for name, value in fields.items():
        box = driver.find_element(By.ID, name)
        box.clear()
        box.send_keys(value)


def upload_file(driver: Chrome, base: str, path: Path) -> None:
    """Upload `path` on New campaign and wait for its options."""
    driver.get(f"{base}/campaigns/new")
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    wait_for(driver, lambda d: "/uploads/" in d.current_url)


def test_browser_sends_inside_quiet_hours_with_a_ceiling_and_gsm_safe_texts(
    tmp_path: Path, browser: Chrome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 03:00 in Shanghai (14:00 in New York) with quiet hours 21:00-08:00: the plan says the
    Chinese rows are held and until when, the confirmation names the ceiling, and the run ends
    with them scheduled, saying when to resume."""
    rows = [[p, QUOTED] for p in ("8613800138000", "12015550123", "8613900139000")]
    campaign = write_csv(tmp_path / "winter.csv", ["phone", "content"], rows)
    folder = shots(tmp_path)
    config = replace(neutral_config(tmp_path, monkeypatch), clock=FakeClock(AT_3_IN_SHANGHAI))
    with Server(config) as base:
        upload_file(browser, base, campaign)
        fill(browser, quiet_hours="21:00-08:00", max_cost="1", tps="unlimited")
        browser.find_element(By.CSS_SELECTOR, 'input[type=checkbox][name="gsm_safe"]').click()
        snap(browser, folder, "web-options-safety")
        browser.find_element(By.CSS_SELECTOR, "form.options button[type=submit]").click()
        wait_for(browser, lambda d: "/checks/" in d.current_url)
        plan = browser.find_element(By.CSS_SELECTOR, "table.facts").text
        assert "segments before → after 6 → 3" in plan
        assert "cost ceiling (--max-cost) 1.0000 USD" in plan
        notes = browser.find_element(By.TAG_NAME, "main").text
        assert "2 messages are held now; the first may go from 2026-12-01 00:00 UTC" in notes
        snap(browser, folder, "web-check-safety")
        browser.find_element(By.LINK_TEXT, "Continue to send").click()
        wait_for(browser, lambda d: d.current_url.endswith("/confirm"))
        box = browser.find_element(By.CSS_SELECTOR, ".confirm-box").text
        assert "cost ceiling 1.0000 USD: the send stops before its cost would pass it" in box
        assert "send window quiet hours 21:00-08:00" in box
        snap(browser, folder, "web-confirm-safety")
        browser.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
        wait_for(browser, lambda d: "/sends/" in d.current_url)
        state = (By.CSS_SELECTOR, '[data-field="state"]')
        wait_for(browser, lambda d: d.find_element(*state).text == "finished")
        held = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, '[data-field="held"]'))
        assert held.text.startswith("2 messages wait for a send window: the first may go from")
        counts = browser.find_element(By.CSS_SELECTOR, '[data-field="counts"]').text.split()
        assert counts[-2:] == ["2", "scheduled"]
        assert browser.find_elements(By.CSS_SELECTOR, 'form.follow-up[action$="/resume"]')
        snap(browser, folder, "web-run-scheduled")


def test_browser_shows_a_failed_canary_and_resumes_without_it(
    tmp_path: Path, browser: Chrome, monkeypatch: pytest.MonkeyPatch
) -> None:
    undelivering = functools.partial(server.SandboxConfig, dr_delivered_share=0.0)
    monkeypatch.setattr(sending.server, "SandboxConfig", undelivering)
    campaign = write_csv(tmp_path / "canary.csv", ["phone", "content"],
                         [[p, "Hello"] for p in cn_numbers(6)])  # fmt: skip
    folder = shots(tmp_path)
    state = (By.CSS_SELECTOR, '[data-field="state"]')
    with Server(neutral_config(tmp_path, monkeypatch)) as base:
        upload_file(browser, base, campaign)
        fill(browser, canary="2", canary_wait="30", tps="unlimited")
        browser.find_element(By.CSS_SELECTOR, "form.options button[type=submit]").click()
        wait_for(browser, lambda d: "/checks/" in d.current_url)
        browser.find_element(By.LINK_TEXT, "Continue to send").click()
        wait_for(browser, lambda d: d.current_url.endswith("/confirm"))
        assert "canary: first 2 messages" in browser.find_element(By.TAG_NAME, "main").text
        browser.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
        wait_for(browser, lambda d: d.find_element(*state).text == "stopped")
        reason = wait_for(browser, lambda d: d.find_element(
            By.CSS_SELECTOR, '[data-field="stop-reason"]'))  # fmt: skip
        assert reason.text.startswith("Stopped: canary of 2: delivered 0, undelivered 2")
        snap(browser, folder, "web-run-canary")
        button = browser.find_element(By.XPATH, "//button[text()='Resume without the canary']")
        button.click()
        wait_for(browser, lambda d: d.find_element(*state).text == "finished")
        tiles = browser.find_element(By.CSS_SELECTOR, '[data-field="counts"]').text.split()
        assert tiles == ["6", "undelivered"]
