"""What on-call sees in the Prefect UI after a short lifecycle, checked in a real (headless) Chromium.

A ``prefect server start`` with its UI, on a free loopback port and its own
PREFECT_HOME, receives a short lifecycle run in this process (small synthetic
data under a temporary data dir): a backfill of 12 days, a backfill refused for
an impossible range (end before start), a train that promotes v1, a nightly-eval
of the last day (nothing scored yet: a red freshness line among green ones),
and a run of a ``train`` deployment whose gate holds the challenger
``inconclusive`` (the minimum AUC is set to v1's own), which pauses for a person.

Playwright drives Debian's ``/usr/bin/chromium`` (no browser download) and checks
the runs page (names, tags), the failed backfill (red, with its reason), the
scorecard artifact (red and green lines), and the paused run's approval form:
approving it there moves ``champion`` through the pointer ledger with the
approver and reason typed in the form.

Screenshots of every step go to ``$TANDEM_TEST_BROWSER_SHOTS`` (default
``tests/browser/screenshots/``, ignored by git); the test prints the folder.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import _require_services

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("TANDEM_TEST_BROWSER_SHOTS") or ROOT / "tests" / "browser" / "screenshots")
START = date(2026, 1, 1)
END = START + timedelta(days=11)  # 12 days ingested; labels mature after 2
REFUSED = (END + timedelta(days=5), END + timedelta(days=1))  # end before start
UI_WAIT_MS = 60_000  # the UI on 2 busy cores: generous waits for an element, never a timed assertion

if not CHROMIUM.exists():
    reason = f"{CHROMIUM} is absent (apt-get install chromium; Playwright drives the system browser, nothing is downloaded)"
    if _require_services():
        pytest.fail(f"{reason} (TANDEM_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


# -- the server ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``prefect server start`` with its UI on a free loopback port; this process's flows report to it."""
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.services.conftest import BIN, free_port, stop, wait_for_http

    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / "server.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"},  # no other server's URL leaks in
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": f"{url}/api",
        "PREFECT_SERVER_UI_V2_ENABLED": "false",  # the classic UI, which this test's text and role selectors were written for
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_http(f"{url}/api/health", proc, log)
        # Like prefect_test_harness: the setting and the process-global context (threads see it too).
        with temporary_settings(updates={PREFECT_API_URL: f"{url}/api"}):
            with prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()):
                yield url
    finally:
        stop(proc, group=True)


# -- the lifecycle ---------------------------------------------------------------------------
def _set(monkeypatch: pytest.MonkeyPatch, **env: object) -> None:
    from tests.integration.conftest import reset_settings

    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    reset_settings()


def run_lifecycle(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The runs on-call will read; returns them by name, the paused train run and the trained window."""
    from prefect.client.orchestration import get_client

    from flows.backfill import backfill
    from flows.nightly_eval import nightly_eval
    from flows.train import train
    from tests.integration.conftest import configure
    from tests.integration.test_approval import Running

    configure(monkeypatch, data_dir, TANDEM_SYNTHETIC__ROWS_PER_DAY="300", TANDEM_SYNTHETIC__LABEL_DELAY_DAYS="2",
              TANDEM_GATE__N_BOOTSTRAP="100", TANDEM_APPROVAL__POLL_S="0.5", TANDEM_GATE__MIN_AUC="0.5")
    asyncio.run(backfill(START, END, concurrency=2))
    refused = asyncio.run(backfill(*REFUSED, return_state=True))
    assert refused.is_failed(), refused
    first = asyncio.run(train())
    assert (first["version"], first["decision"]) == ("1", "PROMOTE"), first["reason"]
    night = asyncio.run(nightly_eval(END))  # no predictions for END: freshness red, the data checks green
    assert night["counts"]["red"] >= 1 and night["counts"]["green"] >= 1, night["counts"]
    # The next challenger (same data, forced) cannot show an AUC above v1's own: HOLD inconclusive.
    _set(monkeypatch, TANDEM_GATE__MIN_AUC=round(first["auc"]["value"], 6))
    with get_client(sync_client=True) as client:
        deployment_id = client.create_deployment(flow_id=client.create_flow_from_name("train"), name="browser-test")
        flow_run = client.create_flow_run_from_deployment(deployment_id, parameters={"force": True})
    held = Running(train, flow_run)
    assert held.paused(), f"the train run never paused: {held.error or held.state}"
    with get_client(sync_client=True) as client:
        runs = {r.name: r for r in client.read_flow_runs()}  # both trains share their window's name: either will do
    return {"runs": runs, "held": held, "window": first["window"]}


# -- the browser ----------------------------------------------------------------------------
class Browser:
    """Headless Debian Chromium through Playwright; stopped by its PIDs at the end (it leaves defunct children otherwise)."""

    def __init__(self, base_url: str) -> None:
        import psutil
        from playwright.sync_api import sync_playwright

        self.base_url = base_url
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        # The browser's own process: a descendant of this one (under Playwright's driver), chromium without ``--type=``
        # (its renderers, GPU and zygote processes carry one).
        self.process = next(p for p in psutil.Process().children(recursive=True) if _is_chromium(p))
        self.page = self.browser.new_page(viewport={"width": 1600, "height": 1000})
        self.page.set_default_timeout(UI_WAIT_MS)
        self.shots: list[Path] = []

    def open(self, path: str) -> None:
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")
        self.settle()

    def settle(self) -> None:
        """Wait for an idle network (the UI polls, so this may not come: the element waits are the checks)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_load_state("networkidle", timeout=UI_WAIT_MS // 4)
        except PlaywrightTimeout:
            pass

    def shot(self, name: str) -> Path:
        """A full-page screenshot, and the page's text beside it (what was on screen, for a failed check)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        path.with_suffix(".txt").write_text(self.page.inner_text("body"))
        self.shots.append(path)
        return path

    def close(self) -> None:
        import psutil

        family = [self.process, *self.process.children(recursive=True)]
        try:
            self.browser.close()
            self._pw.stop()
        finally:
            for proc in family:  # by PID: whatever is left of this browser (never another chromium)
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(family, timeout=10)


def _is_chromium(proc) -> bool:
    import psutil

    if proc is None:
        return False
    try:
        return proc.name() in ("chromium", "chrome") and not any(a.startswith("--type=") for a in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


@pytest.fixture
def start_browser(server):
    """Starts the browser when called: Playwright's sync API runs an event loop in this thread, so the
    lifecycle's ``asyncio.run`` calls come first. Stopped after the test, also when it fails."""
    started: list[Browser] = []

    def start() -> Browser:
        started.append(Browser(server))
        return started[-1]

    yield start
    for b in started:
        b.close()


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Settings and engines are cached per process: this test's data dir must not leak into the next test."""
    from tests.integration.conftest import reset_settings

    reset_settings()
    yield
    reset_settings()


def _flow_run_path(run) -> str:
    return f"/runs/flow-run/{run.id}"


# The first non-transparent background colour of an element or its ancestors.
BACKGROUND_JS = ("e => { let n = e; while (n) { const c = getComputedStyle(n).backgroundColor;"
                 " if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; n = n.parentElement; } return ''; }")


def _is_red(colour: str) -> bool:
    r, g, b = (int(x) for x in re.findall(r"\d+", colour)[:3])
    return r > 150 and r > 2 * g and r > 2 * b


def _form_box(page, label: str):
    """The text box of the resume form's property ``label`` (the form's labels point at no input, so by its container)."""
    field = page.locator("div").filter(has=page.get_by_text(label, exact=True)).filter(has=page.get_by_role("textbox")).last
    return field.get_by_role("textbox")


def test_on_call_reads_the_runs_and_approves_a_held_promotion_in_the_ui(server, start_browser, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client

    from infra.factory import build_pointer_ledger, build_registry, model_pointer
    from infra.settings import get_settings

    print(f"\nscreenshots: {SHOTS}", file=sys.stderr)
    life = run_lifecycle(tmp_path / "tandem", monkeypatch)
    runs, held = life["runs"], life["held"]
    backfill_name, refused_name = f"backfill {START}..{END}", f"backfill {REFUSED[0]}..{REFUSED[1]}"
    train_name, night_name = f"train {life['window'][0]}..{life['window'][1]}", f"nightly-eval {END}"
    assert {backfill_name, refused_name, night_name, train_name} <= set(runs), sorted(runs)
    browser = start_browser()
    page = browser.page

    # The runs page: every run by its name, with its tags
    browser.open("/runs")
    for name in (backfill_name, refused_name, night_name, train_name):
        page.get_by_text(name, exact=True).first.wait_for()
    page.get_by_text("asset:risk-scorer", exact=True).first.wait_for()
    page.get_by_text("asset:rag", exact=True).first.wait_for()
    page.get_by_text(f"ds:{END}", exact=True).first.wait_for()
    browser.shot("runs")

    # The refused backfill: red Failed, and why
    browser.open(_flow_run_path(runs[refused_name]))
    badge = page.get_by_text("Failed", exact=True).first
    badge.wait_for()
    page.get_by_text(f"end {REFUSED[1]} is before start {REFUSED[0]}: nothing to run").first.wait_for()
    browser.shot("failed-backfill")
    colour = badge.evaluate(BACKGROUND_JS)
    assert _is_red(colour), f"the Failed badge is not red: {colour}"

    # The nightly scorecard artifact, rendered: a red line and green lines (table cells, not raw markdown)
    browser.open(_flow_run_path(runs[night_name]))
    page.get_by_text("Artifacts", exact=True).first.click()
    page.get_by_text("nightly-scorecard", exact=True).first.click()
    page.get_by_text(f"Nightly evaluation {END}: red").first.wait_for()
    page.get_by_role("cell", name="🔴 red").first.wait_for()
    page.get_by_role("cell", name="🟢 green").first.wait_for()
    browser.settle()
    browser.shot("scorecard")

    # The held promotion: Paused, its form in the UI, filled and submitted there
    browser.open(_flow_run_path(held.flow_run))
    page.get_by_text("Paused", exact=True).first.wait_for()
    browser.shot("paused-train")
    page.get_by_role("button", name="Resume").first.click()
    page.get_by_text("Promote v2 to champion?", exact=True).wait_for()
    page.get_by_role("switch").first.click()
    _form_box(page, "Reason").fill("inconclusive only for lack of test rows: approved in the UI")
    _form_box(page, "Approver").fill("dana")
    assert page.get_by_role("switch").first.get_attribute("aria-checked") == "true"
    browser.shot("approval-form")
    page.get_by_role("button", name="Submit").click()
    # Read from another thread: Playwright's loop runs in this one, where Prefect's State.result turns async.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(held.result).result()
    browser.open(_flow_run_path(held.flow_run))
    page.get_by_text("Completed", exact=True).first.wait_for()
    browser.shot("approved-train")

    # Then champion moved to v2 through the pointer ledger, as dana's decision with her reason
    assert result["approval"]["outcome"] == "approved", result
    settings = get_settings()
    assert build_registry(settings).alias_version("champion") == "2"
    ledger = build_pointer_ledger(settings)
    move = ledger.history(model_pointer(settings), limit=1)[0]
    assert (move.old_value, move.new_value, move.actor) == ("1", "2", "dana")
    assert move.reason == "human decision over gate HOLD: inconclusive only for lack of test rows: approved in the UI"
    assert move.evidence["approval"]["flow_run_id"] == str(held.flow_run.id)
    assert ledger.verify_chain().intact
    # and the run's final state says so
    with get_client(sync_client=True) as client:
        final = client.read_flow_run(held.flow_run.id).state
    assert final.is_completed() and "approved by dana: champion is v2" in (final.message or ""), final
