"""`ivr call --url` plays another team's TwiML app, at the voice URL its number would have.

The app is not ours: a phone tree in the shape of Twilio's IVR tutorial (a welcome that
gathers one key, a menu that answers by it), built with twilio's VoiceResponse, checking every
request's signature with RequestValidator, served by uvicorn on a free loopback port. `ivr
call` runs in its own process, from a directory without regions.toml or prompts/.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from tests.commands.test_main import clean_env

TOKEN = "orbit-travel-auth-token"
WELCOME = "Welcome to Orbit Travel. For directions to the launch pad, press 1."
DIRECTIONS = "Take the north gate, then follow the blue line to pad 39."


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str]  # the form of a POST, the query string of a GET


@dataclass
class PhoneTree:
    """Another team's IVR: /ivr/welcome, /ivr/menu and a status callback at /ivr/status."""

    requests: list[Seen] = field(default_factory=list)

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/ivr/welcome", self.welcome, methods=["GET", "POST"]),
                Route("/ivr/menu", self.menu, methods=["POST"]),
                Route("/ivr/status", self.status, methods=["POST"]),
            ]
        )

    async def welcome(self, request: Request) -> Response:
        params = await self._signed(request)
        if params is None:
            return Response("forbidden", status_code=403)
        response = VoiceResponse()
        response.gather(num_digits=1, action="/ivr/menu").say(WELCOME)
        response.say("We did not hear a choice. Goodbye.")
        return twiml(response)

    async def menu(self, request: Request) -> Response:
        params = await self._signed(request)
        if params is None:
            return Response("forbidden", status_code=403)
        response = VoiceResponse()
        if params.get("Digits") == "1":
            response.say(DIRECTIONS)
            response.hangup()
        else:
            response.say("Sorry, that is not a choice.")
            response.redirect("/ivr/welcome")
        return twiml(response)

    async def status(self, request: Request) -> Response:
        if await self._signed(request) is None:
            return Response("forbidden", status_code=403)
        return Response(status_code=204)

    async def _signed(self, request: Request) -> dict[str, str] | None:
        """The request's parameters when Twilio's signature over its URL matches, else None."""
        body = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        form = dict(body) if request.method == "POST" else {}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(str(request.url), form, signature):
            return None
        query = dict(request.query_params)
        params = form if request.method == "POST" else query
        self.requests.append(Seen(request.method, request.url.path, query, params))
        return params

    def to(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type="text/xml")


@pytest.fixture
def phone_tree() -> Iterator[tuple[PhoneTree, str]]:
    """The app, served by uvicorn on a free loopback port, and its base URL."""
    app = PhoneTree()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # requests queue up until uvicorn serves them
    config = uvicorn.Config(app.asgi(), lifespan="off", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def ivr_call(where: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    """`ivr call` as someone from another team runs it, in a directory of their own."""
    return subprocess.run(
        [sys.executable, "-m", "ivr.commands.main", "call", "+15558675310", *args],
        capture_output=True,
        text=True,
        cwd=where,
        env=clean_env(TWILIO_AUTH_TOKEN=token),
        timeout=120,
    )


@pytest.mark.slow
def test_a_foreign_app_is_called_at_its_own_path_and_reports_to_its_status_url(
    phone_tree: tuple[PhoneTree, str], tmp_path: Path
) -> None:
    app, base = phone_tree
    url, status = f"{base}/ivr/welcome", f"{base}/ivr/status"
    result = ivr_call(tmp_path, "--url", url, "--status-url", status, "--press", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"00:00  -> POST {url} (voice) 200"
    assert f"IVR [man, en-US]: {WELCOME}" in lines[1]
    assert f"-> POST {base}/ivr/menu (action) 200" in result.stdout
    assert f"IVR [man, en-US]: {DIRECTIONS}" in result.stdout
    assert f"-> POST {status} (status-callback) 204" in result.stdout
    assert [seen.path for seen in app.requests] == ["/ivr/welcome", "/ivr/menu", "/ivr/status"]
    assert app.to("/ivr/menu")[0].params["Digits"] == "1"
    assert app.to("/ivr/status")[0].params["CallStatus"] == "completed"


@pytest.mark.slow
def test_a_get_voice_url_keeps_its_query_and_has_no_status_callback_by_default(
    phone_tree: tuple[PhoneTree, str], tmp_path: Path
) -> None:
    app, base = phone_tree
    url = f"{base}/ivr/welcome?campaign=spring"
    result = ivr_call(tmp_path, "--url", url, "--method", "GET", "--press", "2 1")
    assert result.returncode == 0, result.stdout + result.stderr
    [first, again] = app.to("/ivr/welcome")
    assert first.method == "GET" and first.query["campaign"] == "spring"
    assert first.params["From"] == "+15558675310" and first.params["CallStatus"] == "ringing"
    assert again.method == "POST"  # the menu's <Redirect> posts, whatever the number's method
    assert [seen.params["Digits"] for seen in app.to("/ivr/menu")] == ["2", "1"]
    assert "Sorry, that is not a choice." in result.stdout and DIRECTIONS in result.stdout
    assert app.to("/ivr/status") == [] and "status-callback" not in result.stdout


@pytest.mark.slow
def test_the_foreign_app_refuses_a_call_signed_with_another_token(
    phone_tree: tuple[PhoneTree, str], tmp_path: Path
) -> None:
    app, base = phone_tree
    result = ivr_call(tmp_path, "--url", f"{base}/ivr/welcome", token="not-their-token")
    assert result.returncode == 1
    assert f"-> POST {base}/ivr/welcome (voice) 403" in result.stdout and "11200" in result.stdout
    assert app.requests == []
