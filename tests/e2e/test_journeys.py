"""Callers' journeys end to end, in Mandarin and English (and a few more), through the emulator."""

from __future__ import annotations

import pytest

from ivr.emulator import Switch
from ivr.store import Store
from tests.support.calls import CALLERS, LINES


@pytest.mark.slow
def test_mandarin_caller_resets_a_forgotten_password(switch: Switch) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"])
    assert call.hears("普通话服务，请按1。") and call.hears("For English, press 2.")
    call.press("1")
    assert call.hears("您好，欢迎致电钱包客服。")
    assert call.hears("人工服务请随时按0。")
    assert call.hears("我们绝不会索要密码、助记词或验证码。")
    call.silence()  # keys work during the welcome; without one, the main menu follows
    assert call.hears("忘记密码，请按1")
    call.press("1")
    assert call.hears("在登录页面，点击“忘记密码”。")
    assert call.hears("人工客服可以核实您的身份")
    call.press("*")  # once more, please
    assert call.hears("输入您注册时使用的邮箱或手机号码。")
    call.press("#")
    assert call.hears("主菜单。")
    call.hangup()
    assert call.status == "completed" and call.error is None and call.warnings == []


def test_a_call_without_a_dialed_number_rings_the_callers_own_line(switch: Switch) -> None:
    call = switch.dial("+8613812345678", at="2026-03-01T03:00+08:00")
    assert call.hears("普通话服务，请按1。")
    assert call.events[0].to_json()["url"] == "https://ivr.example.com/voice/incoming"
    call.press("1")
    assert not call.hears("其他地区")


def test_english_speaker_on_the_china_line_uses_speech(switch: Switch) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"])
    call.press("2")
    assert call.hears("Thank you for calling wallet support.")
    call.silence()  # the welcome listens for keys only
    call.say("I need help with my account security")
    assert call.hears(
        "Turn on two-step verification, by text message or with an authenticator app."
    )
    assert call.hears("confirm our official address through our official social media accounts")
    call.say("main menu")
    assert call.hears("Main menu.")


def test_mandarin_speech_picks_the_password_guidance(switch: Switch) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"])
    call.say("中文")
    call.silence()
    call.say("我忘记密码了")
    assert call.hears("忘记密码，可以这样重置。")


def test_the_safety_notice_is_said_once_per_call(switch: Switch) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"])  # one language: straight to the welcome
    safety = "We will never ask for your password, recovery phrase, or any code."
    assert call.hears(safety)
    call.press("1")
    call.press("#")
    call.press("*")
    assert sum(safety in line for line in call.heard) == 1


def test_the_full_safety_statement_comes_with_the_security_guidance(switch: Switch) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"])
    call.press("2")  # during the welcome: a main-menu key
    assert call.hears("we will never ask for your password, your recovery phrase")


@pytest.mark.slow
def test_caller_on_another_regions_line_hears_their_own_number_and_may_stay(switch: Switch) -> None:
    call = switch.dial(CALLERS["cn"], LINES["us"], at="2026-03-02T10:00+08:00")
    call.press("1")
    assert call.hears(
        "您拨打的是其他地区的客服热线。您所在的地区有专属热线，号码是：加 8 6, 4 0 0, 1 2 3, 4 5 6 7。"
    )
    assert call.hears("可能会产生国际漫游费用。您也可以不挂机")
    call.silence()
    assert call.hears("主菜单。")  # staying is the default: the menu follows
    call.press("3")
    assert call.hears("交易没到账，或者到账很慢，请按1。")


def test_withheld_caller_gets_the_dialed_lines_region(switch: Switch) -> None:
    call = switch.dial("+266696687", LINES["jp"])  # ANONYMOUS spelled on a keypad
    assert call.hears("日本語をご希望の方は、1を押してください。")
    call.press("2")
    assert not call.hears("another region")


def test_tokyo_caller_sunday_2359_hears_agents_open_tomorrow_at_9(switch: Switch) -> None:
    call = switch.dial(CALLERS["jp"], LINES["jp"], at="2026-03-01T23:59+09:00")
    call.press("2")
    call.press("0")
    assert call.hears("Our agents aren't available right now. They'll be back tomorrow at 9 AM.")
    assert call.hears(
        "To have an agent call you back after we open, press 1, or say: call me back."
    )
    call.press("3")  # other ways to reach us
    assert call.hears("For online chat, open the app, go to Help, and tap Chat.")
    assert call.hears("Or email us at support-jp@example.com. We reply within 24 hours.")
    assert call.hears("Thank you for calling. Goodbye.") and call.ended


def test_los_angeles_caller_hears_the_opening_in_their_own_time(switch: Switch) -> None:
    # Sunday evening in California; the US line opens Monday 08:00 in New York.
    call = switch.dial(CALLERS["la"], LINES["us"], at="2026-03-01T18:00-08:00")
    call.press("1")  # English
    call.press("0")
    assert call.hears("They'll be back tomorrow at 5 AM, your local time.")


def test_holiday_moves_the_opening_to_the_next_working_day(switch: Switch) -> None:
    call = switch.dial(CALLERS["cn"], LINES["cn"], at="2026-10-01T10:00+08:00")  # National Day
    call.press("1")
    call.press("0")
    assert call.hears("人工客服将在10月8日，星期四上午9点恢复服务。")  # after Golden Week


@pytest.mark.slow
def test_three_silences_when_closed_end_with_channels_and_goodbye(switch: Switch) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"], at="2026-03-01T22:00+00:00")  # Sunday night
    call.silence()  # the welcome's keys-only Gather: no answer, no miss; the menu follows
    call.silence()
    call.silence()
    assert call.hears("Sorry, I didn't hear a choice.")
    call.silence()
    assert call.hears("It seems the menu isn't helping, so let's get you some help.")
    assert call.hears("Or email us at support-uk@example.com. We reply within 24 hours.")
    assert call.ended and call.status == "completed"
    assert call.heard[-1] == "Thank you for calling. Goodbye."


@pytest.mark.slow
def test_three_wrong_keys_when_open_lead_to_an_agent(
    switch: Switch, signed_app_store: Store
) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"], at="2026-03-02T10:00+00:00")
    call.press("7")
    call.press("7")
    call.press("7")
    assert call.hears("It seems the menu isn't helping, so let's get you some help.")
    assert call.hears("Before we put you through, please have these ready")
    assert call.queue == "gb-en-GB"
    record = signed_app_store.call(call.sid)
    assert record is not None and record.reason == "menu"


def test_invalid_key_is_apologised_for_and_the_menu_repeats(switch: Switch) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"])
    call.press("8")
    assert call.hears("Sorry, that isn't one of the options.")
    assert call.hears("If you've forgotten your password, press 1, or say: password.")  # en-GB


def test_asking_for_a_person_wins_over_the_topic_said_with_it(switch: Switch) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"], at="2026-03-02T10:00+00:00")
    call.silence()
    call.say("agent please, my account was hacked")
    assert call.hears("Before we put you through, please have these ready")


def test_main_menu_by_speech_from_the_transaction_menu(switch: Switch) -> None:
    call = switch.dial(CALLERS["gb"], LINES["gb"])
    call.press("3")
    call.say("main menu please")
    assert call.hears("Main menu.")


def test_withheld_caller_on_a_multi_zone_line_hears_the_utc_offset(switch: Switch) -> None:
    call = switch.dial("anonymous", LINES["us"], at="2026-03-01T23:30-05:00")  # Sunday night
    call.press("1")
    call.press("0")
    assert call.hears(
        "Our agents aren't available right now. They'll be back tomorrow at 8 AM, time zone UTC -5."
    )


def test_a_withheld_caller_on_the_global_line_hears_utc_and_ways_numbered_from_1() -> None:
    from typer.testing import CliRunner

    from ivr.commands.main import cli

    args = ["call", "anonymous", "--at", "2026-03-07T10:00+00:00", "--press", "0 1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    said = [line.split("]: ", 1)[1] for line in result.output.splitlines() if "]: " in line]
    closed = said.index(
        "Our agents aren't available right now. They'll be back on Monday at 6 AM, time zone UTC."
    )
    # No callback for a withheld number: the ways left are numbered from 1, and 1 works.
    assert said[closed + 1 : closed + 3] == [
        "To leave a voice message for our support team, press 1, or say: message.",
        "To hear other ways to reach us, press 2.",
    ]
    assert said[closed + 5].startswith("After the tone, please leave your message")
    assert "Sorry, that isn't one of the options." not in said
