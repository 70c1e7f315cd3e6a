"""How a caller's words pick a choice (`ivr.engine.phrases.best_match`), how what they said
is normalised, and the <Gather> hints made from the word lists, within Twilio's limits."""

from __future__ import annotations

import pytest

from ivr.config.flows import FlowBook, Option
from ivr.config.languages import LANGUAGES
from ivr.config.prompts import Catalogue
from ivr.engine.phrases import Speaker, best_match, normalize_speech
from ivr.engine.questions import (
    MAX_HINT_CHARS,
    MAX_HINTS,
    gather_hints,
    speech_words,
)
from tests.support.contexts import ContextFactory

MENU = {
    "agent": ("agent", "talk to"),
    "pending": ("pending", "cancel", "stop the", "change the amount"),
    "security": ("security", "hack*", "someone else"),
    "password": ("password", "log in", "change my password", "verification code"),
    "tx": ("transaction", "withdraw*", "transfer*", "still pending", "didn't arrive"),
    "repeat": ("again",),
}
ORDER = ("agent", "pending", "security", "password", "tx", "repeat")


@pytest.mark.parametrize(
    ("said", "choice"),
    [
        ("Cancel my withdrawal.", "pending"),  # names a transaction, wants it stopped
        ("cancel", "pending"),
        ("I was hacked and someone else made a transfer", "security"),
        ("Agent please, I was hacked", "agent"),  # a person first, whatever else was said
        ("I want to talk to you about a withdrawal I want to cancel", "agent"),
        ("Can you change my password?", "password"),  # not "change" of a transaction
        ("The verification code to log in didn't arrive", "password"),
        ("My withdrawal is still pending", "tx"),  # stuck, not to be cancelled
        ("My money didn't arrive", "tx"),
        ("Again, please", "repeat"),
        ("Hello? Is anybody there?", None),
    ],
)
def test_the_intent_order_decides_between_choices_named_together(
    said: str, choice: str | None
) -> None:
    assert best_match(said, MENU, first=ORDER) == choice


def test_a_phrase_inside_a_longer_phrase_of_another_choice_does_not_count() -> None:
    choices = {"pending": ("change",), "password": ("change my password",)}
    assert best_match("change my password", choices, first=("pending", "password")) == "password"
    assert best_match("change it", choices, first=("pending", "password")) == "pending"


@pytest.mark.parametrize(
    ("said", "choice"),
    [
        ("I was hacked", "security"),  # a stem hears longer words...
        ("a hacker got in", "security"),
        ("the shack", None),  # ...from a word's start only
        ("my pin", "password"),  # a word without a stem: the whole word only
        ("the app keeps spinning", None),
        ("pins", None),
    ],
)
def test_words_are_heard_on_word_edges_and_stems_go_on(said: str, choice: str | None) -> None:
    assert best_match(said, {"security": ("hack*",), "password": ("pin",)}) == choice


def test_unspaced_scripts_match_anywhere_and_latin_words_inside_them_count() -> None:
    choices = {"pending": ("撤销",), "tx": ("转账", "usdt")}
    first = ("pending", "tx")
    assert best_match("我要撤销一笔转账", choices, first=first) == "pending"
    assert best_match("我的USDT没到账", choices, first=first) == "tx"
    assert best_match("我的usdtx没到账", {"tx": ("usdt",)}) is None


def test_without_an_order_the_longest_phrase_wins_and_ties_go_to_the_first_listed() -> None:
    """As the language menu chooses (it gives no order)."""
    languages = {"zh-CN": ("中文", "普通话"), "en-US": ("English", "英文")}
    assert best_match("English或者中文都行", languages) == "en-US"
    assert best_match("中文English", {"a": ("中文",), "b": ("英文", "中文")}) == "a"


@pytest.mark.parametrize(
    ("said", "listed"),
    [
        ("ＯＴＰ", "otp"),  # full-width letters
        ("ﾊﾟｽﾜｰﾄﾞ", "パスワード"),  # half-width katakana
        ("İptal etmek istiyorum", "iptal"),  # Turkish dotted capital I
        ("HESABIM ÇALINDI", "hesabım çalındı"),  # dotless and dotted i are one letter
        ("ट्रांज़ैक्शन नहीं पहुँचा", "ट्रांजैक्शन नहीं पहुंचा"),  # nukta, chandrabindu
        ("Tôi muốn huỷ", "hủy"),  # Vietnamese tone on either vowel
        ("E-mail, please!", "e mail"),
        ("didn’t arrive", "didn't arrive"),  # typographic apostrophe
        ("「キャンセル」したい。", "キャンセル"),
    ],
)
def test_what_callers_say_is_compared_in_one_spelling(said: str, listed: str) -> None:
    assert best_match(said, {"yes": (listed,)}) == "yes"


def test_accents_stay_apart() -> None:
    """Recognisers write accents, and in Vietnamese they make the word: "hủy" is cancel."""
    assert normalize_speech("Huy") != normalize_speech("hủy")
    assert best_match("Tôi tên là Huy", {"pending": ("hủy",)}) is None


MENUS = ("main", "tx", "after_guidance", "ways")


def _options(flows: FlowBook, menu: str) -> tuple[Option, ...]:
    """The sample flow's menus, and the keys every guidance ends with."""
    flow = flows.default
    return flow.after_guidance if menu == "after_guidance" else flow.nodes[menu].options


@pytest.mark.parametrize("menu", MENUS)
def test_every_choice_of_every_menu_has_a_place_in_the_intent_order(
    flows: FlowBook, menu: str
) -> None:
    choices = {option.to for option in _options(flows, menu)}
    assert choices <= set(flows.default.speech_priority)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("menu", MENUS)
def test_every_listed_word_said_alone_reaches_its_own_choice(
    make_context: ContextFactory, flows: FlowBook, language: str, menu: str
) -> None:
    """No word is listed for two choices, nor swallowed by another choice's longer phrase."""
    words = speech_words(Speaker(make_context(), language), _options(flows, menu))
    order = flows.default.speech_priority
    astray = {
        word: best_match(word.removesuffix("*"), words, first=order)
        for choice, listed in words.items()
        for word in listed
        if best_match(word.removesuffix("*"), words, first=order) != choice
    }
    assert astray == {}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("menu", MENUS)
def test_hints_of_every_menu_stay_within_twilios_limits(
    catalogue: Catalogue, make_context: ContextFactory, flows: FlowBook, language: str, menu: str
) -> None:
    speaker = Speaker(make_context(), language)
    hints = gather_hints(speech_words(speaker, _options(flows, menu)).values())
    assert 0 < len(hints) <= MAX_HINTS
    assert all(0 < len(hint) <= MAX_HINT_CHARS and "," not in hint for hint in hints)
    assert not any(hint.endswith("*") for hint in hints)


def test_hints_take_turns_so_a_cut_keeps_every_choice() -> None:
    many = tuple(f"word {n}" for n in range(MAX_HINTS))
    hints = gather_hints([many, ("agent", "someone, please", "x" * 101), ("cancel*",)])
    assert len(hints) == MAX_HINTS
    assert hints[:4] == ("word 0", "agent", "cancel", "word 1")
    assert "someone, please" not in hints and "x" * 101 not in hints


def test_an_option_whose_prompt_has_no_words_is_heard_by_its_targets_words(
    make_context: ContextFactory,
) -> None:
    """An operator's option to a voice message, read by a prompt with no [speech] words of its
    own: callers saying "message" still reach it."""
    option = Option("5", "voicemail", say="common.goodbye")
    assert option.speech_key == "common.speech.goodbye"  # no such words
    words = speech_words(Speaker(make_context(), "en-US"), (option,))
    assert "message" in words["voicemail"]
