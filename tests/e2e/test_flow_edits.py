"""An operator changes the menus in flows.toml alone, and calls follow: the main menu
reordered, an option dropped for one region, a new one added with its own guidance. No code
changes; the service reads a copy of the sample flow and prompts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.web.app import create_app
from tests.support.calls import CALLERS, LINES, PUBLIC_URL, TOKEN
from tests.support.repository import ROOT

CARD_PROMPTS = """\
option = "If your card is frozen, press {key}."
steps = [
    "Open the app, go to Cards, and check the card's status.",
    "A card frozen after a wrong PIN unfreezes by itself after 24 hours.",
]
"""


def edited_flow() -> str:
    text = (ROOT / "flows.toml").read_text(encoding="utf-8")
    sample_main = """\
    { key = "1", to = "password", say = "main.password" },
    { key = "2", to = "security", say = "main.security" },
    { key = "3", to = "tx", say = "main.transaction" },
    { key = "4", to = "pending", say = "main.pending" },
"""
    assert sample_main in text
    # Pending first, password last; a new option for a frozen card.
    edited_main = """\
    { key = "1", to = "pending", say = "main.pending" },
    { key = "2", to = "security", say = "main.security" },
    { key = "3", to = "tx", say = "main.transaction" },
    { key = "4", to = "password", say = "main.password" },
    { key = "5", to = "card_frozen", say = "card.option" },
"""
    text = text.replace(sample_main, edited_main)
    text += """
[flows.standard.nodes.card_frozen]
kind = "guidance"
guidance = ["card.steps"]

# Japan's line takes no transaction questions by phone.
[regions.jp.nodes.main]
drop = ["3"]
"""
    return text


@pytest.fixture
def edited_switch(tmp_path: Path, shanghai_clock: VirtualClock) -> Iterator[Switch]:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    for language in prompts.iterdir():
        (language / "card.toml").write_text(CARD_PROMPTS, encoding="utf-8")
    flows = tmp_path / "flows.toml"
    flows.write_text(edited_flow(), encoding="utf-8")
    settings = Settings(
        regions=ROOT / "regions.toml",
        prompts=prompts,
        flows=flows,
        database_url=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        spool_dir=tmp_path / "spool",
        twilio_auth_token=SecretStr(TOKEN),
        public_url=PUBLIC_URL,
        _env_file=None,
    )
    app = create_app(settings, clock=shanghai_clock)
    with Switch(app, clock=shanghai_clock, auth_token=TOKEN, public_url=PUBLIC_URL) as switch:
        yield switch


@pytest.mark.slow
def test_the_reordered_menu_is_read_and_answered_in_its_new_order(edited_switch: Switch) -> None:
    call = edited_switch.dial(CALLERS["gb"], LINES["gb"])
    call.silence()
    assert call.hears("To cancel or change a pending transaction, press 1, or say: pending.")
    assert call.hears("If you've forgotten your password, press 4, or say: password.")
    call.press("1")
    assert call.hears("Cancelling or changing a pending transaction.")


@pytest.mark.slow
def test_the_added_option_leads_to_its_guidance(edited_switch: Switch) -> None:
    call = edited_switch.dial(CALLERS["gb"], LINES["gb"])
    call.silence()
    assert call.hears("If your card is frozen, press 5.")
    call.press("5")
    assert call.hears("A card frozen after a wrong PIN unfreezes by itself after 24 hours.")
    assert call.hears("To speak to an adviser, press 0.")  # then the keys after any guidance


@pytest.mark.slow
def test_an_option_dropped_for_one_region_is_gone_there_only(edited_switch: Switch) -> None:
    tokyo = edited_switch.dial(CALLERS["jp"], LINES["jp"])
    tokyo.press("2")  # English
    tokyo.silence()
    assert not tokyo.hears("For a problem with a transaction")
    tokyo.press("3")
    assert tokyo.hears("Sorry, that isn't one of the options.")
    london = edited_switch.dial(CALLERS["gb"], LINES["gb"])
    london.press("3")  # during the welcome: a main-menu key
    assert london.hears("Transaction problems.")
