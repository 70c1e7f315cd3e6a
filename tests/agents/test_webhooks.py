"""The agent line's webhooks at the HTTP edge: signed like every webhook, 4xx for bad input,
and nothing but the PIN question for a call no agent logged in on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from ivr.agents import Skills
from ivr.app import create_app
from ivr.clock import FixedClock
from ivr.passwords import hash_secret
from ivr.settings import Settings
from ivr.store import Store
from ivr.store.agents import AgentStore
from tests.agents.conftest import LI_PHONE, T0, sid
from tests.conftest import AppClient

LINE_CALL = "CA" + "a" * 32
AGENT_LINE = "+12025550199"
PIN = "135792"


@pytest.fixture
def app_store(settings: Settings) -> Iterator[tuple[AppClient, Store]]:
    app = create_app(settings, clock=FixedClock(T0))
    client = AppClient(app)
    store: Store = app.state.services.store
    AgentStore(store.engine).add(
        "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0
    )
    store.remember_queue_entry(
        sid(1), "+8613812345678", "cn-zh-CN", "cn", "zh-CN", "main", None, T0 - timedelta(minutes=2)
    )
    yield client, store
    client.close()


def post(
    client: AppClient, path: str, call_sid: str = LINE_CALL, **form: str
) -> ElementTree.Element:
    data = {"CallSid": call_sid, "From": LI_PHONE, "To": AGENT_LINE, "CallStatus": "in-progress"}
    response = client.post(path, data={**data, **form})
    assert response.status_code == 200, response.text
    return ElementTree.fromstring(response.text)


def test_the_right_pin_from_the_agents_phone_whispers_and_dials_the_waiting_caller(
    app_store: tuple[AppClient, Store],
) -> None:
    client, _ = app_store
    document = post(client, "/voice/agent/pin", Digits=PIN)
    assert [say.text for say in document.iter("Say")][:2] == [
        "您已登录。",
        "下一位来电：Mainland China，使用普通话。",
    ]
    dial = document.find("Dial")
    assert dial is not None and dial.findtext("Queue") == "cn-zh-CN"
    assert PIN not in ElementTree.tostring(document, encoding="unicode")


def test_follow_up_webhooks_of_a_call_nobody_logged_in_on_reach_no_queue(
    app_store: tuple[AppClient, Store],
) -> None:
    client, _ = app_store
    stranger = "CA" + "b" * 32
    for path, form in (
        ("/voice/agent/key?m=after", {"Digits": "1"}),
        ("/voice/agent/key?m=idle", {}),
        ("/voice/agent/dialed?q=cn-zh-CN&c=" + sid(1), {"DialCallStatus": "no-answer"}),
    ):
        document = post(client, path, stranger, **form)
        assert [say.text for say in document.iter("Say")] == ["本次通话尚未登录，再见。"]
        assert document.find("Hangup") is not None
        assert document.find("Dial") is None and document.find("Enqueue") is None


def test_a_wrong_pin_from_the_agents_phone_and_a_strangers_get_the_same_answer(
    app_store: tuple[AppClient, Store],
) -> None:
    client, _ = app_store
    agent = post(client, "/voice/agent/pin", Digits="000000")
    stranger = post(client, "/voice/agent/pin", "CA" + "c" * 32, Digits=PIN, From="+8613800138000")
    render = ElementTree.tostring
    assert render(agent) == render(stranger)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/voice/agent/dialed", {"DialCallSid": "not-a-sid"}),
        ("/voice/agent/dialed", {"DialCallDuration": "-4"}),
        ("/voice/agent/pin", {"Digits": "12ab"}),
        ("/voice/agent/status", {"CallStatus": "exploded"}),
    ],
)
def test_malformed_agent_line_webhooks_get_a_400(
    app_store: tuple[AppClient, Store], path: str, form: dict[str, str]
) -> None:
    client, _ = app_store
    data = {"CallSid": LINE_CALL, "From": LI_PHONE, "To": AGENT_LINE, **form}
    assert client.post(path, data=data).status_code == 400


@pytest.mark.parametrize("query", ["t=99", "t=-1", "m=nonsense&t=x", "i=9999999", "n=%F0%9F%98%80"])
def test_odd_query_values_are_read_as_nothing_never_a_server_error(
    app_store: tuple[AppClient, Store], query: str
) -> None:
    client, _ = app_store
    for path in ("/voice/agent/pin", "/voice/agent/key", "/voice/agent/dialed"):
        response = client.post(f"{path}?{query}", data={"CallSid": LINE_CALL, "From": LI_PHONE})
        assert response.status_code == 200


def test_the_status_callback_logs_the_agent_out(app_store: tuple[AppClient, Store]) -> None:
    client, store = app_store
    post(client, "/voice/agent/pin", Digits=PIN)
    data = {"CallSid": LINE_CALL, "From": LI_PHONE, "CallStatus": "completed", "CallDuration": "9"}
    assert client.post("/voice/agent/status", data=data).status_code == 204
    agent = AgentStore(store.engine).get("li")
    assert agent is not None and agent.state.value == "offline"


def test_agent_line_webhooks_are_signed_like_every_other(settings: Settings) -> None:
    token, public = "agent-line-token", "https://ivr.example.com"
    signed = settings.model_copy(
        update={"twilio_auth_token": SecretStr(token), "public_url": public}
    )
    client = AppClient(create_app(signed, clock=FixedClock(T0)))
    try:
        data = {"CallSid": LINE_CALL, "From": LI_PHONE, "To": AGENT_LINE}
        for path in ("/voice/agent", "/voice/agent/pin", "/voice/agent/key", "/voice/agent/status"):
            assert client.post(path, data=data).status_code == 403
        signature = RequestValidator(token).compute_signature(f"{public}/voice/agent", data)
        answered = client.post("/voice/agent", data=data, headers={"X-Twilio-Signature": signature})
        assert answered.status_code == 200
    finally:
        client.close()


def test_with_the_database_away_the_agent_line_says_so_and_hangs_up(
    settings: Settings, tmp_path: Path
) -> None:
    away = Store.connect("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    client = AppClient(create_app(settings, clock=FixedClock(T0), store=away))
    try:
        document = post(client, "/voice/agent/pin", Digits=PIN)
        assert [say.text for say in document.iter("Say")] == [
            "坐席专线暂时无法读取记录，请一分钟后再试。再见。"
        ]
        assert document.find("Hangup") is not None
    finally:
        client.close()
