"""The wallboard's figures after the call in a real browser (Debian's Chromium driven by
Playwright) against a real `ivr serve`: dispositions and survey answers kept through the
store's own writes appear on the open page, as text only.

Set IVR_SCREENSHOT_DIR to also keep the screenshots there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.store import Store
from tests.browser import test_wallboard as wallboard

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.browser]

browser = wallboard.browser  # the same Chromium, started the same way
# A code read back from the records is shown as text, whatever it holds.
MARKUP_CODE = "<img src=x onerror=alert(1)>"
UK_CALLER = "+447700900123"


def after_the_call(store: Store) -> None:
    """Four UK calls taken by agents, now: three asked the survey (5 with a comment, 4, no
    answer), four codes keyed (one of them skipped)."""
    now = datetime.now(UTC)  # the server keeps the real time: these are its today
    calls = [
        (1, "ana", "password_reset", 5),
        (2, "ana", "follow_up", 4),
        (3, "bo", "skipped", None),
        (4, "bo", MARKUP_CODE, "not asked"),
    ]
    for n, agent, code, rating in calls:
        sid = f"CA{n:032d}"
        store.record_step(sid, UK_CALLER, "gb", "en-GB", "s1", "main:0", now)
        store.record_disposition(sid, code, agent, now)
        if rating != "not asked":
            store.record_survey(sid, now)
        if isinstance(rating, int):
            store.record_survey(sid, now, rating=rating)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    store.record_comment(f"CA{1:032d}", f"RE{1:032d}", url, 14, now)


def test_survey_answers_and_dispositions_appear_on_the_open_wallboard(
    browser: Browser, tmp_path: Path
) -> None:
    with wallboard.wallboard_server(tmp_path) as served:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        wallboard.sign_in(page, served.url)
        section = page.get_by_role("region", name="After the call, today")
        expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
        expect(section).to_contain_text("No survey asked and no disposition keyed yet today.")
        expect(section.locator("#after-call-table")).to_be_hidden()

        store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
        try:
            after_the_call(store)
        finally:
            store.close()

        uk = section.locator('tr[data-region="gb"]')
        expect(uk.get_by_role("rowheader")).to_have_text(
            "United Kingdom and Ireland", timeout=10_000
        )
        expect(uk.locator('[data-field="average_rating"]')).to_have_text("4.5")
        expect(uk.locator('[data-field="surveys"]')).to_have_text("2 / 3")
        expect(uk.locator('[data-field="comments"]')).to_have_text("1")
        codes = uk.locator("li")
        # The region's own order (password_reset before follow_up), then others, skipped last.
        expect(codes).to_have_text(
            ["password_reset 1", "follow_up 1", f"{MARKUP_CODE} 1", "skipped 1"]
        )
        expect(section.locator("#after-call-none")).to_be_hidden()
        expect(section.locator("#after-call-table")).to_be_visible()
        assert section.locator("img").count() == 0 and dialogs == []
        header = section.get_by_role("columnheader")
        expect(header).to_have_text(
            ["Region", "Rating", "Answered / asked", "Comments", "Dispositions"]
        )
        assert UK_CALLER[3:] not in page.content()
        wallboard.screenshot(page, tmp_path, "wallboard-after-call.png")

        # On a phone: a region per paragraph, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        expect(uk.locator('[data-field="surveys"]')).to_have_text("2 / 3")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        wallboard.screenshot(page, tmp_path, "wallboard-after-call-phone.png")

        # ?region= shows some regions only, here too.
        page.goto(f"{served.url}/dashboard?region=jp")
        expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
        expect(section.locator("#after-call-none")).to_be_visible()
        expect(section.locator("tr[data-region]")).to_have_count(0)
