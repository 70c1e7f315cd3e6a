"""Nothing of the wallboard without signing in; cookies that cannot be forged; CSRF refused."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr, ValidationError
from sqlalchemy import text

from ivr.app import create_app
from ivr.dashboard.sessions import COOKIE_NAME
from ivr.emulator import VirtualClock
from ivr.passwords import hash_secret
from ivr.settings import Settings
from ivr.store import Store
from ivr.store.users import UserStore
from tests.conftest import AppClient
from tests.dashboard.conftest import ORIGIN, PASSWORD, SECRET, USER, ClientAt, sign_in

PRIVATE = ("/dashboard", "/dashboard/events", "/dashboard/live.js")


def cookie_header(client: AppClient) -> str:
    response = client.post(
        "/login", data={"name": USER, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def test_anonymous_visitors_are_sent_to_sign_in(client: AppClient, users: UserStore) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert client.get("/dashboard/events").status_code == 401
    assert client.get("/dashboard/live.js").status_code == 401
    form = client.get("/login")
    assert form.status_code == 200 and 'name="password" type="password"' in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"]


def test_signing_in_opens_the_wallboard(client: AppClient, users: UserStore) -> None:
    assert sign_in(client) == 303
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert 'data-events="/dashboard/events"' in page.text and USER in page.text
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/dashboard/live.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/login").headers["location"] == "/dashboard"  # already signed in


def test_the_cookie_is_http_only_same_site_lax_and_expires(
    client: AppClient, users: UserStore
) -> None:
    header = cookie_header(client)
    assert header.startswith(f"{COOKIE_NAME}=")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "SameSite=lax" in header and "Max-Age=43200" in header and "Path=/" in header
    assert "secure" not in attributes  # served over plain HTTP here


def test_the_cookie_is_secure_and_under_the_prefix_behind_an_https_public_url(
    wallboard_settings: Settings, clock: VirtualClock
) -> None:
    settings = wallboard_settings.model_copy(
        update={"public_url": "https://ivr.example.com/hotline"}
    )
    app = create_app(settings, clock=clock)
    UserStore(app.state.services.store.engine).add(
        USER, hash_secret(PASSWORD, cost=2**4), clock.now()
    )
    client = AppClient(app)
    try:
        assert client.get("/dashboard").headers["location"] == "/hotline/login"
        response = client.post(
            "/login",
            data={"name": USER, "password": PASSWORD},
            headers={"Origin": "https://ivr.example.com"},  # the public origin is ours too
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/hotline/dashboard"
        assert "Secure" in response.headers["set-cookie"]
        assert "Path=/hotline" in response.headers["set-cookie"]
    finally:
        client.close()


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
    client: AppClient, users: UserStore
) -> None:
    wrong = client.post(
        "/login", data={"name": USER, "password": "not it"}, headers={"Origin": ORIGIN}
    )
    unknown = client.post(
        "/login", data={"name": "nobody", "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password." in wrong.text
    assert wrong.text.replace(f'value="{USER}"', "") == unknown.text.replace('value="nobody"', "")
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
    assert client.get("/dashboard").status_code == 303


def test_after_five_wrong_passwords_the_next_try_waits_ten_seconds(
    client: AppClient, users: UserStore, clock: VirtualClock
) -> None:
    for _ in range(5):
        assert sign_in(client, password="guess") == 401
    page = client.post(
        "/login", data={"name": USER, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert page.status_code == 429  # even the right password, for now
    assert "Too many failed attempts. Try again in 10 seconds." in page.text
    assert page.headers["retry-after"] == "10"
    clock.advance(10)
    assert sign_in(client) == 303


def test_guessing_from_elsewhere_never_locks_a_supervisor_out(
    service: FastAPI, client: AppClient, users: UserStore
) -> None:
    attacker = ClientAt(service, "203.0.113.9")
    try:
        answers = [sign_in(attacker, password=f"guess {n}") for n in range(30)]
    finally:
        attacker.close()
    assert answers == [401] * 5 + [429] * 25
    assert sign_in(client) == 303  # Ana, from her own address


def test_failed_sign_ins_are_counted_for_the_alert(client: AppClient, users: UserStore) -> None:
    def counted(reason: str) -> float:
        name = "ivr_wallboard_sign_in_failures_total"
        return REGISTRY.get_sample_value(name, {"reason": reason}) or 0.0

    wrong, too_soon = counted("wrong"), counted("too_soon")
    for _ in range(7):
        sign_in(client, password="guess")
    assert sign_in(client) == 429
    assert (counted("wrong") - wrong, counted("too_soon") - too_soon) == (5, 3)


def test_a_sign_in_from_another_site_is_refused(client: AppClient, users: UserStore) -> None:
    form = {"name": USER, "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 403  # no Origin, no Referer
    evil = client.post("/login", data=form, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    null = client.post("/login", data=form, headers={"Origin": "null"})
    assert null.status_code == 403
    referred = client.post("/login", data=form, headers={"Referer": f"{ORIGIN}/login"})
    assert referred.status_code == 303


def test_a_tampered_cookie_is_a_stranger(client: AppClient, users: UserStore) -> None:
    assert sign_in(client) == 303
    value = client._client.cookies[COOKIE_NAME]
    client._client.cookies.clear()
    payload, signature = value.split(".")
    for forged in (f"{payload}.{signature[:-2]}xx", f"{payload[:-2]}xx.{signature}", "junk"):
        client._client.cookies.set(COOKIE_NAME, forged, domain="ivr.test")
        assert client.get("/dashboard").status_code == 303
        assert client.get("/dashboard/events").status_code == 401
        client._client.cookies.clear()


def test_a_session_ends_after_twelve_hours(
    client: AppClient, users: UserStore, clock: VirtualClock
) -> None:
    assert sign_in(client) == 303
    clock.advance(timedelta(hours=11, minutes=59).total_seconds())
    assert client.get("/dashboard").status_code == 200
    clock.advance(60)
    assert client.get("/dashboard").status_code == 303


def test_removing_a_user_or_changing_the_password_ends_the_sessions(
    client: AppClient, users: UserStore
) -> None:
    assert sign_in(client) == 303
    users.set_password(USER, hash_secret("a new password here", cost=2**4))
    assert client.get("/dashboard").status_code == 303
    assert sign_in(client, password="a new password here") == 303
    assert client.get("/dashboard").status_code == 200
    users.remove(USER)
    assert client.get("/dashboard/events").status_code == 401


def test_signing_out_forgets_the_session(client: AppClient, users: UserStore) -> None:
    assert sign_in(client) == 303
    assert client.post("/logout").status_code == 403  # not from our page
    response = client.post("/logout", headers={"Origin": ORIGIN})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert client.get("/dashboard").status_code == 303


def test_signing_out_ends_the_session_on_every_replica(
    service: FastAPI, wallboard_settings: Settings, clock: VirtualClock, users: UserStore
) -> None:
    browser = AppClient(service)
    other_replica = AppClient(create_app(wallboard_settings, clock=clock))
    try:
        assert sign_in(browser) == 303
        kept = browser._client.cookies[COOKIE_NAME]  # a copy, taken before signing out
        other_replica._client.cookies.set(COOKIE_NAME, kept, domain="ivr.test")
        assert other_replica.get("/dashboard").status_code == 200
        assert browser.post("/logout", headers={"Origin": ORIGIN}).status_code == 303
        for replica in (browser, other_replica):
            replica._client.cookies.set(COOKIE_NAME, kept, domain="ivr.test")
            assert replica.get("/dashboard").status_code == 303
            assert replica.get("/dashboard/events").status_code == 401
    finally:
        browser.close()
        other_replica.close()


def test_signing_out_while_the_database_is_away_says_the_session_lives_on(
    client: AppClient, users: UserStore, records: Store
) -> None:
    assert sign_in(client) == 303
    with records.engine.begin() as connection:  # the sessions cannot be written any more
        connection.execute(text("DROP TABLE wallboard_sessions"))
    response = client.post("/logout", headers={"Origin": ORIGIN})
    assert response.status_code == 503
    assert "<h1>Not signed out</h1>" in response.text and "ivr users passwd" in response.text
    assert "Max-Age=0" in response.headers["set-cookie"]  # this browser forgets it anyway


def test_a_new_password_ends_the_sessions_it_was_signed_in_with(
    client: AppClient, users: UserStore
) -> None:
    assert sign_in(client) == 303
    kept = client._client.cookies[COOKIE_NAME]
    # Even with the very same hash: the change itself ends the sessions, on the server.
    same = users.get(USER)
    assert same is not None and users.set_password(USER, same.password_hash)
    client._client.cookies.set(COOKIE_NAME, kept, domain="ivr.test")
    assert client.get("/dashboard").status_code == 303


def test_wallboard_pages_are_never_framed(client: AppClient, users: UserStore) -> None:
    answers = [client.get("/login"), client.get("/dashboard")]  # a page, a redirect
    sign_in(client)
    answers += [client.get("/dashboard"), client.get("/dashboard/style.css")]
    answers.append(client.post("/logout", headers={"Origin": ORIGIN}))
    for answer in answers:
        assert answer.headers["x-frame-options"] == "DENY", answer.request.url
        assert "strict-transport-security" not in answer.headers  # plain HTTP here


def test_over_https_browsers_are_told_to_keep_to_https(
    wallboard_settings: Settings, clock: VirtualClock
) -> None:
    settings = wallboard_settings.model_copy(update={"public_url": "https://ivr.example.com"})
    client = AppClient(create_app(settings, clock=clock))
    try:
        for answer in (client.get("/login"), client.get("/dashboard")):
            assert answer.headers["strict-transport-security"] == "max-age=31536000"
            assert answer.headers["x-frame-options"] == "DENY"
    finally:
        client.close()


def test_odd_sign_in_requests_get_a_clear_4xx(client: AppClient, users: UserStore) -> None:
    headers = {"Origin": ORIGIN}
    as_json = client.post("/login", json={"name": USER}, headers=headers)
    assert as_json.status_code == 415
    huge = client.post("/login", data={"name": "x" * 5000, "password": "y"}, headers=headers)
    assert huge.status_code == 413
    bad_bytes = client.post(
        "/login",
        content=b"name=%ff%fe&password=x",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad_bytes.status_code == 401  # undecodable bytes are a name nobody has
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/login", content=b"", headers=form).status_code == 401


def test_what_a_visitor_typed_comes_back_escaped(client: AppClient, users: UserStore) -> None:
    name = '"><script>alert(1)</script>'
    page = client.post("/login", data={"name": name, "password": "x"}, headers={"Origin": ORIGIN})
    assert page.status_code == 401
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


def test_without_a_session_secret_the_wallboard_is_off_with_a_clear_503(
    settings: Settings, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        app: FastAPI = create_app(settings, clock=clock)
    assert any("IVR_SESSION_SECRET is not set" in r.getMessage() for r in caplog.records)
    client = AppClient(app)
    try:
        for path in ("/login", *PRIVATE):
            page = client.get(path)
            assert page.status_code == 503, path
            assert (
                "IVR_SESSION_SECRET" in page.text and "<h1>The wallboard is off</h1>" in page.text
            )
        assert client.post("/login", data={"name": USER}).status_code == 503
        assert client.get("/healthz").status_code == 200  # the rest of the service runs on
    finally:
        client.close()


def test_a_short_session_secret_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(session_secret=SecretStr("too-short"), _env_file=None)
    assert Settings(session_secret=SecretStr(SECRET), _env_file=None).session_key == SECRET.encode()
    assert Settings(session_secret="", _env_file=None).session_key is None  # type: ignore[arg-type]


def test_guesses_sent_all_at_once_are_held_to_the_same_limit(
    service: FastAPI, users: UserStore
) -> None:
    import asyncio

    from ivr.dashboard.access import Gate, SignInRefused
    from ivr.dashboard.attempts import FREE_PER_NAME_AND_ADDRESS

    gate: Gate = service.state.wallboard

    async def guess(password: str) -> str:
        try:
            return "in" if await gate.sign_in(USER, password, "192.0.2.7") else "wrong"
        except SignInRefused:
            return "refused"

    async def burst() -> list[str]:
        guesses = [guess(f"guess {n}") for n in range(30)]
        return await asyncio.gather(*guesses, guess(PASSWORD))

    results = asyncio.run(burst())
    assert results.count("wrong") == FREE_PER_NAME_AND_ADDRESS
    assert results[-1] == "refused"  # even the right password, during the delay


def test_a_right_password_takes_back_its_counted_attempt(
    service: FastAPI, users: UserStore
) -> None:
    import asyncio

    from ivr.dashboard.access import Gate
    from ivr.dashboard.attempts import FREE_PER_NAME_AND_ADDRESS

    gate: Gate = service.state.wallboard

    async def sign_ins() -> list[bool]:
        return [
            await gate.sign_in(USER, PASSWORD, "192.0.2.7") is not None
            for _ in range(FREE_PER_NAME_AND_ADDRESS + 2)
        ]

    assert asyncio.run(sign_ins()) == [True] * (FREE_PER_NAME_AND_ADDRESS + 2)
