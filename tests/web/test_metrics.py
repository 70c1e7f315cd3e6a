"""Who may read /metrics: the bearer of IVR_METRICS_TOKEN, and at the edge, only callers from
private networks."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from ivr.config.settings import Settings
from ivr.web.app import create_app
from ivr.web.metrics import serve_metrics
from tests.support.app_client import AppClient
from tests.support.nginx import SITE, running
from tests.support.processes import free_port, until
from tests.support.replicas import replica, replica_env
from tests.support.scrape import BEARER, METRICS_TOKEN, Scrape


def test_metrics_answer_only_the_bearer_of_the_token(metered_client: AppClient) -> None:
    missing = metered_client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.content == b""
    for header in (f"Bearer {METRICS_TOKEN}x", METRICS_TOKEN, f"Basic {METRICS_TOKEN}"):
        assert metered_client.get("/metrics", headers={"Authorization": header}).status_code == 401
    allowed = metered_client.get("/metrics", headers=BEARER)
    assert allowed.status_code == 200
    assert allowed.headers["content-type"] == CONTENT_TYPE_LATEST  # Prometheus' text format
    scraped = Scrape.parse(allowed.text)
    assert ("ivr_webhook_apologies_total", (("route", "/voice/incoming"),)) in scraped.values


def test_without_a_token_metrics_are_open_for_local_use(settings: Settings) -> None:
    assert Settings(_env_file=None, metrics_token="").metrics_token is None
    app = create_app(settings)
    client = AppClient(app)
    try:
        assert client.get("/metrics").status_code == 200
    finally:
        client.close()
        app.state.services.store.close()


def metrics_location() -> list[str]:
    match = re.search(r"location = /metrics \{(.*?)\}", SITE.read_text(), flags=re.DOTALL)
    assert match, "infra/nginx/ivr.conf has no `location = /metrics`"
    return [line.strip().rstrip(";") for line in match.group(1).splitlines() if line.strip()]


def test_nginx_passes_metrics_from_private_networks_only() -> None:
    directives = [line for line in metrics_location() if not line.startswith("#")]
    allowed = [line.split()[1] for line in directives if line.startswith("allow ")]
    assert allowed and all(ipaddress.ip_network(net).is_private for net in allowed)
    assert directives.index("deny all") > max(
        directives.index(f"allow {net}") for net in allowed
    )  # nginx applies the first rule that matches
    assert "proxy_pass http://ivr" in directives


@pytest.fixture
def trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nginx" / "certs" / "fullchain.pem"))


@pytest.mark.slow
def test_through_nginx_metrics_reach_a_replica_from_loopback(tmp_path: Path, trust: None) -> None:
    port = free_port()
    env = replica_env(
        IVR_METRICS_TOKEN=METRICS_TOKEN,
        IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        IVR_SPOOL_DIR=str(tmp_path / "spool"),
    )
    with (
        running(tmp_path / "nginx", [f"127.0.0.1:{port}"]) as proxy,
        replica(env, tmp_path / "replica.log", port) as alone,
    ):
        until(alone.healthy, "the replica")
        with httpx.Client(base_url=proxy.public_url) as edge:
            assert edge.get("/metrics").status_code == 401  # the replica's answer
            scraped = edge.get("/metrics", headers=BEARER)
            assert scraped.status_code == 200
            assert "ivr_webhook_duration_seconds_bucket" in scraped.text
            assert edge.get("/readyz").status_code == 404  # still not public
    upstreams = [entry["upstream"] for entry in proxy.entries() if entry["path"] == "/metrics"]
    assert upstreams == [f"127.0.0.1:{port}"] * 2


@pytest.mark.slow
def test_the_dispatchers_own_metrics_server_asks_for_the_same_token() -> None:
    port = free_port()
    server = serve_metrics("127.0.0.1", port, METRICS_TOKEN)
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/metrics", timeout=10).status_code == 401
        answer = httpx.get(f"{url}/metrics", headers=BEARER, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == CONTENT_TYPE_LATEST
        assert "# TYPE ivr_callbacks_total counter" in answer.text
        assert httpx.get(f"{url}/other", headers=BEARER, timeout=10).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
