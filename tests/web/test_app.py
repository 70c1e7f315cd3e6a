"""The HTTP edge: signatures, malformed requests (4xx, never 5xx), stale state, errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from pydantic import SecretStr
from starlette.datastructures import MultiDict
from twilio.request_validator import RequestValidator

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.store import Store
from ivr.web.app import create_app
from ivr.web.signature import FORM
from tests.support.app_client import AppClient
from tests.support.moments import instant

SID = "CA" + "a" * 32
CHINA_CALL = {"CallSid": SID, "From": "+8613812345678", "To": "+864001234567"}
TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.com/hotline"


@contextmanager
def client_for(settings: Settings, clock: Any = None, **changes: Any) -> Iterator[AppClient]:
    clock = clock or FixedClock(instant("2026-03-02T10:00+08:00"))
    app_client = AppClient(create_app(settings.model_copy(update=changes), clock=clock))
    try:
        yield app_client
    finally:
        app_client.close()


@pytest.fixture
def app_client(settings: Settings) -> Iterator[AppClient]:
    with client_for(settings) as app_client:
        yield app_client


def says(xml: str) -> list[str]:
    return [element.text or "" for element in ElementTree.fromstring(xml).iter("Say")]


def sign(url: str, params: dict[str, str]) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, params))


# -- signatures --------------------------------------------------------------------------
@pytest.fixture
def signed_client(settings: Settings) -> Iterator[AppClient]:
    with client_for(settings, twilio_auth_token=SecretStr(TOKEN), public_url=PUBLIC) as app_client:
        yield app_client


def test_signed_request_over_the_public_url_is_answered(signed_client: AppClient) -> None:
    # Behind the proxy the service sees /voice/incoming; Twilio signed the public URL.
    signature = sign(f"{PUBLIC}/voice/incoming", CHINA_CALL)
    response = signed_client.post(
        "/voice/incoming", data=CHINA_CALL, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")


def test_a_signature_over_the_url_with_its_port_is_accepted_too(
    signed_client: AppClient,
) -> None:
    # Twilio's signing is inconsistent about default ports; its validator accepts both.
    with_port = PUBLIC.replace("https://ivr.example.com", "https://ivr.example.com:443")
    signature = sign(f"{with_port}/voice/incoming", CHINA_CALL)
    response = signed_client.post(
        "/voice/incoming", data=CHINA_CALL, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(("settings_header", "accepted"), [(True, True), (False, False)])
def test_a_shared_key_webhook_signed_with_sha256_names_its_algorithm(
    signed_client: AppClient, settings_header: bool, accepted: bool
) -> None:
    url = f"{PUBLIC}/voice/incoming"
    signature = RequestValidator(TOKEN).compute_signature(url, CHINA_CALL, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": signature}
    if settings_header:
        headers["X-Twilio-Webhooks-Signature-Settings"] = "key=webhooks_key,algorithm=HMAC_SHA256"
    response = signed_client.post("/voice/incoming", data=CHINA_CALL, headers=headers)
    assert (response.status_code == 200) is accepted


def test_a_repeated_parameter_is_signed_with_all_its_values(signed_client: AppClient) -> None:
    # Twilio signs every value of a repeated name, in order; a dropped one must not pass.
    body = [*CHINA_CALL.items(), ("Hint", "b"), ("Hint", "a")]
    url = f"{PUBLIC}/voice/incoming"
    every_value = RequestValidator(TOKEN).compute_signature(url, MultiDict(body))
    first_only = sign(url, {**CHINA_CALL, "Hint": "b"})
    for signature, status in ((every_value, 200), (first_only, 403)):
        response = signed_client.post(
            "/voice/incoming",
            content=urlencode(body),
            headers={"X-Twilio-Signature": signature, "Content-Type": FORM},
        )
        assert response.status_code == status


def test_query_string_is_signed_byte_for_byte(signed_client: AppClient) -> None:
    path = "/voice/menu?n=main&r=cn&l=zh-CN"
    params = {**CHINA_CALL, "Digits": "1"}
    good = signed_client.post(
        path, data=params, headers={"X-Twilio-Signature": sign(PUBLIC + path, params)}
    )
    assert good.status_code == 200
    reordered = "/voice/menu?r=cn&n=main&l=zh-CN"
    bad = signed_client.post(
        reordered, data=params, headers={"X-Twilio-Signature": sign(PUBLIC + path, params)}
    )
    assert bad.status_code == 403


@pytest.mark.parametrize(
    "case",
    ["missing", "forged", "changed-parameter", "wrong-url", "other-token"],
)
def test_bad_signatures_get_403_and_no_twiml(signed_client: AppClient, case: str) -> None:
    url = f"{PUBLIC}/voice/incoming"
    params = dict(CHINA_CALL)
    headers = {"X-Twilio-Signature": sign(url, params)}
    if case == "missing":
        headers = {}
    elif case == "forged":
        headers = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    elif case == "changed-parameter":
        params["From"] = "+12025550142"
    elif case == "wrong-url":
        headers = {"X-Twilio-Signature": sign("https://evil.example.com/voice/incoming", params)}
    else:
        headers = {
            "X-Twilio-Signature": str(RequestValidator("other").compute_signature(url, params))
        }
    response = signed_client.post("/voice/incoming", data=params, headers=headers)
    assert response.status_code == 403
    assert "<Response" not in response.text


# -- malformed requests --------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("/voice/incoming", {"From": "+8613812345678"}, 400),  # no CallSid
        ("/voice/incoming", {**CHINA_CALL, "CallSid": "CA123"}, 400),
        ("/voice/menu?n=main&r=cn&l=zh-CN", {**CHINA_CALL, "Digits": "<Say>"}, 400),
        ("/voice/queue/wait?r=cn&l=zh-CN", {**CHINA_CALL, "QueuePosition": "first"}, 400),
        ("/voice/queue/result?r=cn&l=zh-CN", CHINA_CALL, 400),  # no QueueResult
        ("/voice/status", {**CHINA_CALL, "CallStatus": "exploded"}, 400),
    ],
)
def test_malformed_parameters_get_400(
    app_client: AppClient, path: str, data: dict[str, str], status: int
) -> None:
    response = app_client.post(path, data=data)
    assert response.status_code == status
    assert "Traceback" not in response.text


def test_wrong_content_type_gets_415(app_client: AppClient) -> None:
    response = app_client.post("/voice/incoming", json=CHINA_CALL)
    assert response.status_code == 415


def test_oversized_body_gets_413(app_client: AppClient) -> None:
    response = app_client.post("/voice/incoming", data={**CHINA_CALL, "Junk": "x" * 70_000})
    assert response.status_code == 413


def test_body_that_is_not_utf8_gets_400(app_client: AppClient) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = app_client.post("/voice/incoming", content=b"CallSid=\xff\xfe", headers=headers)
    assert response.status_code == 400


@pytest.mark.slow
@pytest.mark.parametrize(
    "from_", ["", "☎️", "+" + "9" * 40, "client:агент", "sip:x@y", "+266696687"]
)
def test_odd_from_values_still_get_a_menu(app_client: AppClient, from_: str) -> None:
    response = app_client.post("/voice/incoming", data={**CHINA_CALL, "From": from_})
    assert response.status_code == 200
    assert ElementTree.fromstring(response.text).find("Gather") is not None


def test_caller_speech_never_reaches_the_twiml(app_client: AppClient) -> None:
    speech = "</Say><Dial>+19005550100</Dial><Say>"
    data = {**CHINA_CALL, "SpeechResult": speech}
    response = app_client.post("/voice/menu?n=main&r=cn&l=zh-CN", data=data)
    assert response.status_code == 200
    assert ElementTree.fromstring(response.text).find(".//Dial") is None
    assert "19005550100" not in response.text  # what callers say is matched, never echoed


def test_state_is_read_only_after_the_signature_check(signed_client: AppClient) -> None:
    # "²" passes str.isdigit() but not int(): an unsigned request must get 403, not 500.
    response = signed_client.post("/voice/menu?n=main&r=cn&l=zh-CN&t=%C2%B2", data=CHINA_CALL)
    assert response.status_code == 403


def test_non_ascii_digits_in_the_state_start_over(app_client: AppClient) -> None:
    for query in ("t=%C2%B2", "d=%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6"):
        response = app_client.post(
            f"/voice/menu?n=confirm&r=cn&l=zh-CN&w=tx&{query}", data=CHINA_CALL
        )
        assert response.status_code == 200
        assert says(response.text)[0] == "抱歉，刚才的操作中断了，我们从头开始。"


def test_public_url_whose_prefix_looks_like_our_paths(settings: Settings) -> None:
    public = "https://ivr.example.com/voice"
    with client_for(settings, twilio_auth_token=SecretStr(TOKEN), public_url=public) as app_client:
        signature = sign(f"{public}/voice/incoming", CHINA_CALL)
        response = app_client.post(
            "/voice/incoming", data=CHINA_CALL, headers={"X-Twilio-Signature": signature}
        )
    assert response.status_code == 200
    gather = ElementTree.fromstring(response.text).find("Gather")
    assert gather is not None and gather.get("action", "").startswith("/voice/voice/menu?")


# -- state and errors -----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?n=nowhere&r=cn&l=zh-CN",
        "?n=main&r=atlantis&l=zh-CN",
        "?n=main&r=cn&l=ja-JP",
        "?n=main&r=cn&l=zh-CN&t=9",
    ],
)
def test_stale_or_unknown_state_starts_the_caller_over_politely(
    app_client: AppClient, query: str
) -> None:
    response = app_client.post(f"/voice/menu{query}", data={**CHINA_CALL, "Digits": "1"})
    assert response.status_code == 200
    spoken = says(response.text)
    assert spoken[0] == "抱歉，刚才的操作中断了，我们从头开始。"
    assert ElementTree.fromstring(response.text).find("Gather") is not None


class BrokenClock:
    def __init__(self, failures: int) -> None:
        self.failures = failures

    def now(self) -> datetime:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("clock exploded")
        return instant("2026-03-02T10:00+08:00")


def test_unexpected_failure_is_an_apology_not_an_application_error(settings: Settings) -> None:
    # No rate limit: the clock's one failure falls inside the webhook's decision.
    with client_for(settings, clock=BrokenClock(failures=1), calls_per_caller=0) as app_client:
        response = app_client.post("/voice/incoming", data=CHINA_CALL)
    assert response.status_code == 200
    spoken = says(response.text)
    assert spoken[0] == "非常抱歉，我们的系统出了点问题。"
    assert "support-cn@example.com" in " ".join(spoken)
    assert ElementTree.fromstring(response.text)[-1].tag == "Hangup"


def test_when_even_the_apology_fails_a_last_resort_message_is_spoken(settings: Settings) -> None:
    with client_for(settings, clock=BrokenClock(failures=99)) as app_client:
        response = app_client.post("/voice/incoming", data=CHINA_CALL)
    assert response.status_code == 200
    assert says(response.text) == [
        "We're sorry, something went wrong. Please call again later. Goodbye."
    ]


# -- records --------------------------------------------------------------------------------
def test_status_callback_is_stored_once_however_often_it_arrives(app_client: AppClient) -> None:
    data = {**CHINA_CALL, "CallStatus": "completed", "CallDuration": "73"}
    assert app_client.post("/voice/status", data=data).status_code == 204
    assert app_client.post("/voice/status", data=data).status_code == 204
    store = app_client.app.state.services.store
    record = store.call(SID)
    assert record is not None and (record.status, record.duration) == ("completed", 73)


def test_connect_notice_speaks_the_queued_callers_language(app_client: AppClient) -> None:
    data = {**CHINA_CALL, "Digits": "1"}
    app_client.post("/voice/menu?n=confirm&r=cn&l=en-US&w=tx&d=12345678", data=data)
    response = app_client.post(
        "/voice/queue/connect", data={**CHINA_CALL, "QueueSid": "QU" + "0" * 32}
    )
    assert says(response.text) == ["Connecting you to an agent now."]


def test_openapi_documents_every_voice_route(app_client: AppClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    voice = {path for path in paths if path.startswith("/voice/")}
    assert voice == {
        "/voice/incoming",
        "/voice/menu",
        "/voice/status",
        "/voice/queue/wait",
        "/voice/queue/key",
        "/voice/queue/result",
        "/voice/queue/connect",
        "/voice/survey",
        "/voice/survey/comment",
        "/voice/callback/book",
        "/voice/callback/answer",
        "/voice/callback/key",
        "/voice/callback/status",
        "/voice/recording",
        "/voice/fallback",
        "/voice/agent",
        "/voice/agent/pin",
        "/voice/agent/key",
        "/voice/agent/dialed",
        "/voice/agent/status",
        "/voice/agent/offer",
    }
    body = paths["/voice/incoming"]["post"]["requestBody"]["content"]
    assert "CallSid" in body["application/x-www-form-urlencoded"]["schema"]["properties"]


@pytest.mark.slow
def test_records_keep_the_normalised_caller_whatever_from_says(
    store: Store, settings: Settings
) -> None:
    app = create_app(settings, clock=FixedClock(instant("2026-03-02T10:00+08:00")), store=store)
    app_client = AppClient(app)
    try:
        long_sip = "sip:" + "caller" * 35 + "@pbx.example.com"  # 230 characters
        data = {**CHINA_CALL, "From": long_sip, "CallStatus": "completed"}
        assert app_client.post("/voice/status", data=data).status_code == 204
    finally:
        app_client.close()
    record = store.call(SID)
    assert record is not None and record.caller == "sip"


def test_a_broken_database_costs_no_call(settings: Settings, tmp_path: Path) -> None:
    store = Store.connect(f"sqlite:///{tmp_path / 'broken.sqlite3'}")  # never migrated: no tables
    app = create_app(settings, clock=FixedClock(instant("2026-03-02T10:00+08:00")), store=store)
    app_client = AppClient(app)
    try:
        status = app_client.post("/voice/status", data={**CHINA_CALL, "CallStatus": "completed"})
        connect = app_client.post("/voice/queue/connect", data=CHINA_CALL)
        queued = app_client.post(
            "/voice/menu?n=main&r=cn&l=zh-CN", data={**CHINA_CALL, "Digits": "0"}
        )
    finally:
        app_client.close()
    assert status.status_code == 204
    assert says(connect.text) == ["正在为您接通人工客服。"]
    assert ElementTree.fromstring(queued.text).find("Enqueue") is not None  # queued all the same


@pytest.mark.slow
def test_a_client_that_goes_away_before_its_body_is_not_a_server_error(
    settings: Settings,
) -> None:
    import asyncio

    from ivr.web.app import create_app

    app = create_app(settings)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/voice/status",
        "raw_path": b"/voice/status",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"120"),
        ],
    }
    asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 400
    app.state.services.store.close()


@pytest.mark.slow
def test_a_serving_process_freezes_what_start_up_made() -> None:
    import gc

    from ivr.web.app import freeze_what_start_up_made

    gc.disable()  # as `ivr serve` starts
    try:
        freeze_what_start_up_made()
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
