"""The wallboard in a real browser (Debian's Chromium driven by Playwright) against a real
`ivr serve`, with callers placed by the emulator over HTTP; and its event stream over HTTP.

Set IVR_SCREENSHOT_DIR to also keep the screenshots there (docs/wallboard.md shows one).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from ivr.emulator import Call, Switch
from ivr.web.twiml import agent_takes_queue
from tests.support.processes import free_port, need, until
from tests.support.replicas import IVR, Replica, replica, replica_env
from tests.support.repository import ROOT

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TOKEN = "wallboard-browser-token"
SECRET = "wallboard-browser-secret-0123456789abcdef"
USER, PASSWORD = "ana", "correct horse battery"
UK_LINE = "+442079460123"
UK_CALLERS = ("+447700900123", "+447700900456", "+447700900789")
T = TypeVar("T")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def regions_open_around_the_clock_in_the_uk(directory: Path) -> Path:
    """The sample regions, with the UK line staffed at every hour of every day, so a caller
    can always reach its queue whenever the test runs (the server keeps the real time)."""
    text = (ROOT / "regions.toml").read_text()
    start = text.index("[regions.gb]")
    end = text.index("\n[regions.", start)
    all_day = ", ".join(f'{day} = ["00:00-24:00"]' for day in DAYS)
    lines = [
        f"hours = {{ {all_day} }}" if line.startswith("hours") else line
        for line in text[start:end].splitlines()
        if not line.startswith(("holidays", "special_days"))
    ]
    path = directory / "regions.toml"
    path.write_text(text[:start] + "\n".join(lines) + text[end:])
    return path


@contextmanager
def wallboard_server(directory: Path) -> Iterator[Replica]:
    """`ivr serve` with the wallboard on, a fast refresh, and a user made with `ivr users add`."""
    port = free_port()
    env = replica_env(
        IVR_PUBLIC_URL=f"http://127.0.0.1:{port}",  # the URL the emulator signs for
        IVR_REGIONS=str(regions_open_around_the_clock_in_the_uk(directory)),
        IVR_DATABASE_URL=f"sqlite:///{directory / 'ivr.sqlite3'}",
        IVR_SPOOL_DIR=str(directory / "spool"),
        IVR_SESSION_SECRET=SECRET,
        IVR_DASHBOARD_REFRESH_SECONDS="0.5",
        TWILIO_AUTH_TOKEN=TOKEN,
    )
    added = subprocess.run(
        [*IVR, "users", "add", USER],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert added.returncode == 0 and added.stdout == f"added user {USER}\n", added.stderr
    with replica(env, directory / "serve.log", port) as served:
        until(served.healthy, "ivr serve to answer /healthz")
        yield served


@pytest.fixture(scope="module")
def running_wallboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    """One server for the tests that leave it running."""
    with wallboard_server(tmp_path_factory.mktemp("wallboard")) as served:
        yield served


class Phones:
    """The emulator's switch on a thread of its own: Playwright's synchronous API keeps an
    event loop running on the test's thread, and the switch runs its own."""

    def __init__(self, base_url: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1)
        self._switch = self.run(lambda _: Switch(base_url, auth_token=TOKEN, public_url=base_url))

    def run(self, work: Callable[[Switch], T]) -> T:
        return self._thread.submit(work, getattr(self, "_switch", None)).result(timeout=120)

    def close(self) -> None:
        self.run(lambda switch: switch.close())
        self._thread.shutdown()


@pytest.fixture
def phones(running_wallboard: Replica) -> Iterator[Phones]:
    line = Phones(running_wallboard.url)
    yield line
    line.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = need("chromium", "apt-get install chromium")
    with sync_playwright() as playwright:
        # As root (CI, containers) Chromium's sandbox cannot start.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=args)
        yield launched
        launched.close()


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """Into the test's own directory, and IVR_SCREENSHOT_DIR when set."""
    page.screenshot(path=tmp_path / name, full_page=True)
    assert (tmp_path / name).stat().st_size > 10_000
    if target := os.environ.get("IVR_SCREENSHOT_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / name, Path(target) / name)


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(f"{base}/login")
    page.fill("#name", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/dashboard")


def test_a_caller_joining_a_queue_appears_on_the_wallboard_within_seconds(
    running_wallboard: Replica, phones: Phones, browser: Browser, tmp_path: Path
) -> None:
    base = running_wallboard.url
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    sign_in(page, base)
    uk = page.locator('article[data-region="gb"][data-language="en-GB"]')
    waiting = uk.locator('[data-field="waiting"]')
    expect(waiting).to_have_text("0", timeout=10_000)
    expect(page.locator("#connection")).to_have_text("live")

    # Two callers help themselves (password guidance, then they hang up) ...
    for caller in UK_CALLERS[1:]:

        def self_service(phone: Switch, caller: str = caller) -> Call:
            call = phone.dial(caller, UK_LINE)
            call.press("1")
            call.hangup()
            return call

        assert phones.run(self_service).ended
    # ... and one asks for an agent and waits in the queue.
    call = phones.run(lambda phone: phone.dial(UK_CALLERS[0], UK_LINE))
    phones.run(lambda _: call.press("0"))
    assert call.queue == "gb-en-GB"

    expect(waiting).to_have_text("1", timeout=10_000)
    expect(page.locator("#total-waiting")).to_have_text("1")
    expect(uk.locator('[data-field="calls_today"]')).to_have_text("3")
    expect(uk.locator('[data-field="self_service_rate"]')).to_have_text("67%")
    expect(uk).to_have_class("line busy")
    html = page.content()
    assert not any(number[3:] in html for number in UK_CALLERS)  # no number, even masked
    screenshot(page, tmp_path, "wallboard.png")

    # On a phone: one column, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(waiting).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, tmp_path, "wallboard-phone.png")

    # An agent takes the caller: the board follows.
    agent_twiml = agent_takes_queue("gb-en-GB", "/voice/queue/connect", timeout=30)
    phones.run(lambda phone: phone.dial_twiml(agent_twiml, from_="client:agent", talk=5))
    phones.run(lambda phone: phone.run())
    expect(waiting).to_have_text("0", timeout=10_000)
    # The agent hung up: the caller is asked to rate the call, gives it 5, leaves no comment.
    assert not call.ended
    phones.run(lambda _: call.press("5"))
    phones.run(lambda _: call.silence())
    assert call.ended
    rated = page.locator('#after-call-rows tr[data-region="gb"]')
    expect(rated.locator('[data-field="average_rating"]')).to_have_text("5.0", timeout=10_000)
    expect(rated.locator('[data-field="surveys"]')).to_have_text("1 / 1")

    page.click(".signout button")
    expect(page).to_have_url(f"{base}/login")
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(f"{base}/login")


def events_cookie(base: str) -> str:
    response = httpx.post(
        f"{base}/login",
        data={"name": USER, "password": PASSWORD},
        headers={"Origin": base},
        timeout=30,
    )
    assert response.status_code == 303
    return response.cookies["ivr_wallboard"]


def test_the_event_stream_over_http_needs_a_session_and_keeps_its_pace(
    running_wallboard: Replica,
) -> None:
    base = running_wallboard.url
    anonymous = httpx.get(f"{base}/dashboard", timeout=10)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    assert httpx.get(f"{base}/dashboard/events", timeout=10).status_code == 401
    cookies = {"ivr_wallboard": events_cookie(base)}
    snapshots = 0
    with httpx.stream("GET", f"{base}/dashboard/events", cookies=cookies, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            assert line == "" or line.startswith(("retry: 500", "event: snapshot", "data: {"))
            snapshots += line == "event: snapshot"
            if snapshots == 3:
                break  # the client goes away mid-stream; the server must not mind
    assert running_wallboard.healthy()


def test_an_operator_sets_and_cancels_a_message_from_the_wallboard(
    running_wallboard: Replica, browser: Browser, tmp_path: Path
) -> None:
    base = running_wallboard.url
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    sign_in(page, base)
    panel = page.locator("#announcements")
    expect(panel).to_contain_text("No announcement in force.", timeout=10_000)
    panel.locator('select[name="region"]').select_option("gb")
    panel.locator('select[name="language"]').select_option("gb:en-GB")
    panel.locator('select[name="kind"]').select_option("message")
    typed = "Card payments are delayed <this morning> & we're on it."
    panel.locator('input[name="text"]').fill(typed)
    panel.locator('input[name="for"]').fill("30m")
    with page.expect_navigation():
        panel.get_by_role("button", name="Set announcement").click()
    expect(page).to_have_url(f"{base}/dashboard")
    row = panel.locator("tr[data-announcement]")
    expect(row).to_contain_text(typed, timeout=10_000)
    expect(row).to_contain_text("en-GB")
    screenshot(page, tmp_path, "wallboard-announcements.png")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with page.expect_navigation():
        row.get_by_role("button", name="Cancel").click()
    expect(panel).to_contain_text("No announcement in force.", timeout=10_000)


def test_stopping_the_server_is_not_held_up_by_an_open_wallboard(tmp_path: Path) -> None:
    with wallboard_server(tmp_path) as running_wallboard:
        stop_with_an_open_stream(running_wallboard)


def stop_with_an_open_stream(running_wallboard: Replica) -> None:
    cookies = {"ivr_wallboard": events_cookie(running_wallboard.url)}
    with httpx.stream(
        "GET", f"{running_wallboard.url}/dashboard/events", cookies=cookies
    ) as stream:
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event: ")) == "event: snapshot"
        running_wallboard.signal(signal.SIGTERM)
        # The stream ends by itself within its lifetime (10 s), and the server exits; uvicorn
        # raises the signal again once it has shut down: the exit is SIGTERM's own.
        assert running_wallboard.process.wait(timeout=40) == -signal.SIGTERM
        remaining = list(lines)
    assert remaining[-1] == "" or remaining[-1].startswith("data: ")
    log = running_wallboard.log.read_text()
    assert "Finished server process" in log and "Traceback" not in log
