"""Nothing of the wallboard without signing in; cookies that cannot be forged; CSRF refused."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr, ValidationError
from sqlalchemy import text

from ivr.config.settings import Settings
from ivr.dashboard.sessions import COOKIE_NAME
from ivr.emulator import VirtualClock
from ivr.store import Store
from ivr.store.passwords import hash_secret
from ivr.store.users import UserStore
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.wallboard import ORIGIN, PASSWORD, SECRET, USER, ClientAt, sign_in

PRIVATE = ("/dashboard", "/dashboard/events", "/dashboard/live.js")


def cookie_header(wallboard_client: AppClient) -> str:
    response = wallboard_client.post(
        "/login", data={"name": USER, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def test_anonymous_visitors_are_sent_to_sign_in(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    page = wallboard_client.get("/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert wallboard_client.get("/dashboard/events").status_code == 401
    assert wallboard_client.get("/dashboard/live.js").status_code == 401
    form = wallboard_client.get("/login")
    assert form.status_code == 200 and 'name="password" type="password"' in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"]


def test_signing_in_opens_the_wallboard(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    assert sign_in(wallboard_client) == 303
    page = wallboard_client.get("/dashboard")
    assert page.status_code == 200
    assert 'data-events="/dashboard/events"' in page.text and USER in page.text
    assert page.headers["cache-control"] == "no-store"
    assert (
        wallboard_client.get("/dashboard/live.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert wallboard_client.get("/login").headers["location"] == "/dashboard"  # already signed in


@pytest.mark.slow
def test_the_cookie_is_http_only_same_site_lax_and_expires(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    header = cookie_header(wallboard_client)
    assert header.startswith(f"{COOKIE_NAME}=")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "SameSite=lax" in header and "Max-Age=43200" in header and "Path=/" in header
    assert "secure" not in attributes  # served over plain HTTP here


def test_the_cookie_is_secure_and_under_the_prefix_behind_an_https_public_url(
    wallboard_settings: Settings, london_clock: VirtualClock
) -> None:
    settings = wallboard_settings.model_copy(
        update={"public_url": "https://ivr.example.com/hotline"}
    )
    app = create_app(settings, clock=london_clock)
    UserStore(app.state.services.store.engine).add(
        USER, hash_secret(PASSWORD, cost=2**4), london_clock.now()
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


@pytest.mark.slow
def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    wrong = wallboard_client.post(
        "/login", data={"name": USER, "password": "not it"}, headers={"Origin": ORIGIN}
    )
    unknown = wallboard_client.post(
        "/login", data={"name": "nobody", "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password." in wrong.text
    assert wrong.text.replace(f'value="{USER}"', "") == unknown.text.replace('value="nobody"', "")
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
    assert wallboard_client.get("/dashboard").status_code == 303


def test_after_five_wrong_passwords_the_next_try_waits_ten_seconds(
    wallboard_client: AppClient, wallboard_users: UserStore, london_clock: VirtualClock
) -> None:
    for _ in range(5):
        assert sign_in(wallboard_client, password="guess") == 401
    page = wallboard_client.post(
        "/login", data={"name": USER, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert page.status_code == 429  # even the right password, for now
    assert "Too many failed attempts. Try again in 10 seconds." in page.text
    assert page.headers["retry-after"] == "10"
    london_clock.advance(10)
    assert sign_in(wallboard_client) == 303


@pytest.mark.slow
def test_guessing_from_elsewhere_never_locks_a_supervisor_out(
    wallboard_app: FastAPI, wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    attacker = ClientAt(wallboard_app, "203.0.113.9")
    try:
        answers = [sign_in(attacker, password=f"guess {n}") for n in range(30)]
    finally:
        attacker.close()
    assert answers == [401] * 5 + [429] * 25
    assert sign_in(wallboard_client) == 303  # Ana, from her own address


@pytest.mark.slow
def test_failed_sign_ins_are_counted_for_the_alert(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    def counted(reason: str) -> float:
        name = "ivr_wallboard_sign_in_failures_total"
        return REGISTRY.get_sample_value(name, {"reason": reason}) or 0.0

    wrong, too_soon = counted("wrong"), counted("too_soon")
    for _ in range(7):
        sign_in(wallboard_client, password="guess")
    assert sign_in(wallboard_client) == 429
    assert (counted("wrong") - wrong, counted("too_soon") - too_soon) == (5, 3)


def test_a_sign_in_from_another_site_is_refused(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    form = {"name": USER, "password": PASSWORD}
    assert wallboard_client.post("/login", data=form).status_code == 403  # no Origin, no Referer
    evil = wallboard_client.post("/login", data=form, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    null = wallboard_client.post("/login", data=form, headers={"Origin": "null"})
    assert null.status_code == 403
    referred = wallboard_client.post("/login", data=form, headers={"Referer": f"{ORIGIN}/login"})
    assert referred.status_code == 303


def test_a_tampered_cookie_is_a_stranger(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    assert sign_in(wallboard_client) == 303
    value = wallboard_client._client.cookies[COOKIE_NAME]
    wallboard_client._client.cookies.clear()
    payload, signature = value.split(".")
    for forged in (f"{payload}.{signature[:-2]}xx", f"{payload[:-2]}xx.{signature}", "junk"):
        wallboard_client._client.cookies.set(COOKIE_NAME, forged, domain="ivr.test")
        assert wallboard_client.get("/dashboard").status_code == 303
        assert wallboard_client.get("/dashboard/events").status_code == 401
        wallboard_client._client.cookies.clear()


def test_a_session_ends_after_twelve_hours(
    wallboard_client: AppClient, wallboard_users: UserStore, london_clock: VirtualClock
) -> None:
    assert sign_in(wallboard_client) == 303
    london_clock.advance(timedelta(hours=11, minutes=59).total_seconds())
    assert wallboard_client.get("/dashboard").status_code == 200
    london_clock.advance(60)
    assert wallboard_client.get("/dashboard").status_code == 303


def test_removing_a_user_or_changing_the_password_ends_the_sessions(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    assert sign_in(wallboard_client) == 303
    wallboard_users.set_password(USER, hash_secret("a new password here", cost=2**4))
    assert wallboard_client.get("/dashboard").status_code == 303
    assert sign_in(wallboard_client, password="a new password here") == 303
    assert wallboard_client.get("/dashboard").status_code == 200
    wallboard_users.remove(USER)
    assert wallboard_client.get("/dashboard/events").status_code == 401


def test_signing_out_forgets_the_session(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    assert sign_in(wallboard_client) == 303
    assert wallboard_client.post("/logout").status_code == 403  # not from our page
    response = wallboard_client.post("/logout", headers={"Origin": ORIGIN})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert wallboard_client.get("/dashboard").status_code == 303


@pytest.mark.slow
def test_signing_out_ends_the_session_on_every_replica(
    wallboard_app: FastAPI,
    wallboard_settings: Settings,
    london_clock: VirtualClock,
    wallboard_users: UserStore,
) -> None:
    browser = AppClient(wallboard_app)
    other_replica = AppClient(create_app(wallboard_settings, clock=london_clock))
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
    wallboard_client: AppClient, wallboard_users: UserStore, wallboard_store: Store
) -> None:
    assert sign_in(wallboard_client) == 303
    with wallboard_store.engine.begin() as connection:  # the sessions cannot be written any more
        connection.execute(text("DROP TABLE wallboard_sessions"))
    response = wallboard_client.post("/logout", headers={"Origin": ORIGIN})
    assert response.status_code == 503
    assert "<h1>Not signed out</h1>" in response.text and "ivr users passwd" in response.text
    assert "Max-Age=0" in response.headers["set-cookie"]  # this browser forgets it anyway


@pytest.mark.slow
def test_a_new_password_ends_the_sessions_it_was_signed_in_with(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    assert sign_in(wallboard_client) == 303
    kept = wallboard_client._client.cookies[COOKIE_NAME]
    # Even with the very same hash: the change itself ends the sessions, on the server.
    same = wallboard_users.get(USER)
    assert same is not None and wallboard_users.set_password(USER, same.password_hash)
    wallboard_client._client.cookies.set(COOKIE_NAME, kept, domain="ivr.test")
    assert wallboard_client.get("/dashboard").status_code == 303


def test_wallboard_pages_are_never_framed(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    answers = [
        wallboard_client.get("/login"),
        wallboard_client.get("/dashboard"),
    ]  # a page, a redirect
    sign_in(wallboard_client)
    answers += [wallboard_client.get("/dashboard"), wallboard_client.get("/dashboard/style.css")]
    answers.append(wallboard_client.post("/logout", headers={"Origin": ORIGIN}))
    for answer in answers:
        assert answer.headers["x-frame-options"] == "DENY", answer.request.url
        assert "strict-transport-security" not in answer.headers  # plain HTTP here


def test_over_https_browsers_are_told_to_keep_to_https(
    wallboard_settings: Settings, london_clock: VirtualClock
) -> None:
    settings = wallboard_settings.model_copy(update={"public_url": "https://ivr.example.com"})
    client = AppClient(create_app(settings, clock=london_clock))
    try:
        for answer in (client.get("/login"), client.get("/dashboard")):
            assert answer.headers["strict-transport-security"] == "max-age=31536000"
            assert answer.headers["x-frame-options"] == "DENY"
    finally:
        client.close()


@pytest.mark.slow
def test_odd_sign_in_requests_get_a_clear_4xx(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    headers = {"Origin": ORIGIN}
    as_json = wallboard_client.post("/login", json={"name": USER}, headers=headers)
    assert as_json.status_code == 415
    huge = wallboard_client.post(
        "/login", data={"name": "x" * 5000, "password": "y"}, headers=headers
    )
    assert huge.status_code == 413
    bad_bytes = wallboard_client.post(
        "/login",
        content=b"name=%ff%fe&password=x",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad_bytes.status_code == 401  # undecodable bytes are a name nobody has
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    assert wallboard_client.post("/login", content=b"", headers=form).status_code == 401


@pytest.mark.slow
def test_what_a_visitor_typed_comes_back_escaped(
    wallboard_client: AppClient, wallboard_users: UserStore
) -> None:
    name = '"><script>alert(1)</script>'
    page = wallboard_client.post(
        "/login", data={"name": name, "password": "x"}, headers={"Origin": ORIGIN}
    )
    assert page.status_code == 401
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.slow
def test_without_a_session_secret_the_wallboard_is_off_with_a_clear_503(
    settings: Settings, london_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        app: FastAPI = create_app(settings, clock=london_clock)
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
    wallboard_app: FastAPI, wallboard_users: UserStore
) -> None:
    import asyncio

    from ivr.dashboard.access import Gate, SignInRefused
    from ivr.dashboard.attempts import FREE_PER_NAME_AND_ADDRESS

    gate: Gate = wallboard_app.state.wallboard

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
    wallboard_app: FastAPI, wallboard_users: UserStore
) -> None:
    import asyncio

    from ivr.dashboard.access import Gate
    from ivr.dashboard.attempts import FREE_PER_NAME_AND_ADDRESS

    gate: Gate = wallboard_app.state.wallboard

    async def sign_ins() -> list[bool]:
        return [
            await gate.sign_in(USER, PASSWORD, "192.0.2.7") is not None
            for _ in range(FREE_PER_NAME_AND_ADDRESS + 2)
        ]

    assert asyncio.run(sign_ins()) == [True] * (FREE_PER_NAME_AND_ADDRESS + 2)
