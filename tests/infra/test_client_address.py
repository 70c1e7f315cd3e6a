"""The client's address behind the real nginx (infra/nginx/ivr.conf): whatever X-Forwarded-For
a client sends, the service sees the address nginx saw, so the sign-in delays hold and the
logs name real clients; and the wallboard answers only the networks the operator lists.

The client connects from 127.0.0.2 (all of 127.0.0.0/8 is loopback) and nginx from
127.0.0.1, so the address the service reports tells nginx, the client and a forgery apart.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.nginx import Proxy, running
from tests.support.processes import INFRA, free_port, until
from tests.support.replicas import Replica, replica, replica_env

pytestmark = [pytest.mark.slow, pytest.mark.infra]

CLIENT = "127.0.0.2"
NGINX = "127.0.0.1"  # the address nginx connects to the replicas from, here
ELSEWHERE = "127.0.0.3"


def forged(attempt: int) -> str:
    """A new made-up client address for each try (TEST-NET-3)."""
    return f"203.0.113.{attempt + 1}"


def trusted_as_in_compose() -> str:
    """FORWARDED_ALLOW_IPS as infra/compose.yaml gives it to the replicas, with nginx's address
    there standing for the address of the nginx here."""
    yaml: Any = pytest.importorskip("yaml", reason="PyYAML is not installed")
    services = yaml.safe_load((INFRA / "compose.yaml").read_text())["services"]
    trusted = str(services["ivr"]["environment"]["FORWARDED_ALLOW_IPS"])
    for network in (services["nginx"].get("networks") or {}).values():
        if network and network.get("ipv4_address"):
            trusted = trusted.replace(network["ipv4_address"], NGINX)
    return trusted


@contextmanager
def wallboard_behind_nginx(
    tmp_path: Path, trusted: str, wallboard_access: str
) -> Iterator[tuple[Proxy, Replica]]:
    """One replica with the wallboard on, trusting `trusted`, behind nginx."""
    port = free_port()
    with running(tmp_path / "nginx", [f"127.0.0.1:{port}"], wallboard_access) as proxy:
        # No IVR_PUBLIC_URL: whether the page was asked for over https comes from nginx.
        env = replica_env(
            TWILIO_AUTH_TOKEN="client-address-token",
            IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
            IVR_SPOOL_DIR=str(tmp_path / "spool"),
            IVR_SESSION_SECRET="s" * 32,
            FORWARDED_ALLOW_IPS=trusted,
        )
        with replica(env, tmp_path / "replica.log", port) as served:
            until(served.healthy, "the replica")
            yield proxy, served


def client_from(address: str, proxy: Proxy) -> httpx.Client:
    """An HTTPS client of the proxy whose connections come from `address`."""
    trust = ssl.create_default_context(cafile=proxy.directory / "certs" / "fullchain.pem")
    transport = httpx.HTTPTransport(local_address=address, verify=trust)
    return httpx.Client(transport=transport, base_url=proxy.public_url)


def failed_sign_in(client: httpx.Client, proxy: Proxy, name: str, claimed: str) -> int:
    form = {"name": name, "password": "not the password"}
    headers = {"Origin": proxy.public_url, "X-Forwarded-For": claimed}
    return client.post("/login", data=form, headers=headers).status_code


@pytest.mark.parametrize(
    "trusted",
    [
        pytest.param(trusted_as_in_compose(), id="trusting-what-compose-trusts"),
        pytest.param("*", id="even-trusting-everyone"),
    ],
)
def test_a_forged_x_forwarded_for_never_reaches_the_service(tmp_path: Path, trusted: str) -> None:
    allow = f"allow {CLIENT};\ndeny all;\n"
    with (
        wallboard_behind_nginx(tmp_path, trusted, allow) as (proxy, served),
        client_from(CLIENT, proxy) as client,
    ):
        # A different name and a new made-up address each time: only the limit per address
        # can hold these, and it does, on the address nginx saw.
        answers = [
            failed_sign_in(client, proxy, f"guess{attempt}", forged(attempt))
            for attempt in range(25)
        ]
        assert answers == [401] * 20 + [429] * 5
        # One name, guessed from "new" addresses: delayed after five, like any client.
        answers = [failed_sign_in(client, proxy, "ana", forged(attempt)) for attempt in range(7)]
        assert answers == [429] * 7  # the address's own delay is still running
    log = served.log.read_text()
    assert f"wallboard sign-in failed for 'guess0' from {CLIENT}" in log
    assert f'{CLIENT}:0 - "POST /login HTTP/1.1" 401' in log
    assert "203.0.113." not in log


def test_the_wallboard_answers_only_the_listed_networks_and_keeps_to_https(
    tmp_path: Path,
) -> None:
    allow = f"allow {CLIENT};\ndeny all;\n"
    with wallboard_behind_nginx(tmp_path, trusted_as_in_compose(), allow) as (proxy, _):
        with client_from(CLIENT, proxy) as listed:
            page = listed.get("/login")
            assert page.status_code == 200 and 'type="password"' in page.text
            # https as nginx says (X-Forwarded-Proto), never as the client claims.
            claimed = listed.get("/login", headers={"X-Forwarded-Proto": "http"})
            for answer in (page, claimed):
                assert answer.headers["strict-transport-security"] == "max-age=31536000"
                assert answer.headers["x-frame-options"] == "DENY"
            assert listed.get("/dashboard").headers["location"] == "/login"
        with client_from(ELSEWHERE, proxy) as unlisted:
            # Claiming to be the listed client changes nothing: nginx checks who connected.
            headers = {"X-Forwarded-For": CLIENT, "X-Real-IP": CLIENT}
            for path in ("/login", "/dashboard", "/dashboard/events"):
                assert unlisted.get(path, headers=headers).status_code == 403, path
            assert unlisted.get("/healthz").text == "ok"  # the rest is as before
