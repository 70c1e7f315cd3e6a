"""The wallboard's figures after the call in a real browser (Debian's Chromium driven by
Playwright) against a real `ivr serve`: dispositions and survey answers kept through the
store's own writes appear on the open page, per region and per agent, language and
disposition, as text only.

Set IVR_SCREENSHOT_DIR to also keep the screenshots there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.store import Store
from tests.browser import test_wallboard as wallboard

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Locator, expect  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.browser]

browser = wallboard.browser  # the same Chromium, started the same way
# A code read back from the records is shown as text, whatever it holds.
MARKUP_CODE = "<img src=x onerror=alert(1)>"
# So is an agent's name.
MARKUP_AGENT = "<b>zoe</b><script>alert(2)</script>"
UK_CALLER = "+447700900123"
US_CALLER = "+12025550123"
SURVEY_COLUMNS = ["Asked", "Answered", "Response rate", "Average rating", "Comments"]


def after_the_call(store: Store) -> None:
    """Five UK calls taken by agents, now: four asked the survey (5 with a comment, 4, no
    answer, 3), five codes keyed (one of them skipped); and a US call with a code only."""
    now = datetime.now(UTC)  # the server keeps the real time: these are its today
    calls = [
        (1, "gb", "ana", "password_reset", 5),
        (2, "gb", "ana", "follow_up", 4),
        (3, "gb", "bo", "skipped", None),
        (4, "gb", "bo", MARKUP_CODE, "not asked"),
        (5, "gb", MARKUP_AGENT, MARKUP_CODE, 3),
        (6, "us", "cy", "other", "not asked"),
    ]
    for n, region, agent, code, rating in calls:
        sid = f"CA{n:032d}"
        caller, language = (UK_CALLER, "en-GB") if region == "gb" else (US_CALLER, "en-US")
        store.record_step(sid, caller, region, language, "s1", "main:0", now)
        store.record_disposition(sid, code, agent, now)
        if rating != "not asked":
            store.record_survey(sid, now)
        if isinstance(rating, int):
            store.record_survey(sid, now, rating=rating)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    store.record_comment(f"CA{1:032d}", f"RE{1:032d}", url, 14, now)


def cells(row: Locator) -> list[str]:
    """A survey row as the screen shows it: its name, then its figures."""
    return [row.get_by_role("rowheader").inner_text(), *row.locator("td").all_inner_texts()]


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
        expect(section.locator("table.survey")).to_have_count(3)
        for table in section.locator("table.survey").all():
            expect(table).to_be_hidden()
        expect(section.locator("#surveys-none")).to_be_hidden()  # the note above says it all

        store = Store.connect(f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
        try:
            after_the_call(store)
        finally:
            store.close()

        uk = section.locator('tr[data-region="gb"]')
        expect(uk.get_by_role("rowheader")).to_have_text(
            "United Kingdom and Ireland", timeout=10_000
        )
        expect(uk.locator('[data-field="average_rating"]')).to_have_text("4.0")
        expect(uk.locator('[data-field="surveys"]')).to_have_text("3 / 4")
        expect(uk.locator('[data-field="comments"]')).to_have_text("1")
        codes = uk.locator("li")
        # The region's own order (password_reset before follow_up), then others, skipped last.
        expect(codes).to_have_text(
            ["password_reset 1", "follow_up 1", f"{MARKUP_CODE} 2", "skipped 1"]
        )
        expect(section.locator("#after-call-none")).to_be_hidden()
        expect(section.locator("#after-call-table")).to_be_visible()
        header = section.locator("#after-call-table").get_by_role("columnheader")
        expect(header).to_have_text(
            ["Region", "Rating", "Answered / asked", "Comments", "Dispositions"]
        )

        # Surveys per agent, language and disposition, every region shown together.
        by_agent = section.get_by_role("table", name="Surveys by agent")
        ana = by_agent.get_by_role("row").filter(has=page.get_by_role("rowheader", name="ana"))
        expect(ana.locator('[data-field="average_rating"]')).to_have_text("4.5")
        assert cells(ana) == ["ana", "2", "2", "100%", "4.5", "1"]
        expect(by_agent.get_by_role("rowheader")).to_have_text([MARKUP_AGENT, "ana", "bo"])
        bo = by_agent.locator("tbody tr").nth(2)
        assert cells(bo) == ["bo", "1", "0", "0%", "–", "0"]
        expect(by_agent.get_by_role("columnheader")).to_have_text(["Agent", *SURVEY_COLUMNS])
        by_language = section.get_by_role("table", name="Surveys by language")
        assert cells(by_language.locator("tbody tr")) == ["en-GB", "4", "3", "75%", "4.0", "1"]
        by_code = section.get_by_role("table", name="Surveys by disposition")
        expect(by_code.get_by_role("rowheader")).to_have_text(
            [MARKUP_CODE, "follow_up", "password_reset", "skipped"]
        )
        expect(by_code.get_by_role("columnheader")).to_have_text(["Disposition", *SURVEY_COLUMNS])
        expect(section.locator("#surveys-none")).to_be_hidden()
        # Names and codes read back from the records are text, never markup.
        assert section.locator("img, b, script").count() == 0 and dialogs == []
        assert UK_CALLER[3:] not in page.content() and US_CALLER[2:] not in page.content()
        wallboard.screenshot(page, tmp_path, "wallboard-after-call.png")

        # On a phone: a region or a group per paragraph, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        expect(uk.locator('[data-field="surveys"]')).to_have_text("3 / 4")
        expect(ana.locator('[data-field="average_rating"]')).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        wallboard.screenshot(page, tmp_path, "wallboard-after-call-phone.png")

        # ?region= shows some regions only, here too: the US keyed a code but asked nobody.
        page.goto(f"{served.url}/dashboard?region=us")
        expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
        expect(section.locator('tr[data-region="us"]')).to_have_count(1)
        expect(section.locator("tr[data-region]")).to_have_count(1)
        expect(section.locator("#surveys-none")).to_have_text("No survey asked yet today.")
        expect(section.locator("#surveys-none")).to_be_visible()
        for table in section.locator("table.survey").all():
            expect(table).to_be_hidden()

        page.goto(f"{served.url}/dashboard?region=jp")
        expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
        expect(section.locator("#after-call-none")).to_be_visible()
        expect(section.locator("tr[data-region]")).to_have_count(0)
        expect(section.locator("#surveys-none")).to_be_hidden()
        for table in section.locator("table.survey").all():
            expect(table).to_be_hidden()
