"""infra/compose.yaml's wiring, read with PyYAML (no Docker engine here to run it)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from ivr.config.settings import Settings
from tests.support.dockerfile import stages
from tests.support.nginx import SITE, placeholders
from tests.support.processes import INFRA

pytestmark = [pytest.mark.slow, pytest.mark.infra]

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (schemathesis brings it)")

COMPOSE = INFRA / "compose.yaml"
ENV_EXAMPLE = INFRA / ".env.example"
# Where the official nginx image looks: its prefix, and the templates it renders at start.
NGINX_PREFIX = "/etc/nginx"
NGINX_TEMPLATE = "/etc/nginx/templates/default.conf.template"
# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}...
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def example_env() -> dict[str, str]:
    """infra/.env.example as compose reads a .env: NAME=value lines."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        present = env.get(name)
        if operator in (":?", "?"):
            assert present, f"compose would refuse: {argument}"
            return present
        if operator == ":-":
            return present or argument
        if operator == "-":
            return argument if present is None else present
        return present or ""

    return VARIABLE.sub(one, value)


def container_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """What a container of `service` gets: its env_file, overridden by its environment."""
    values = dict(env) if service.get("env_file") == ".env" else {}
    for name, value in (service.get("environment") or {}).items():
        values[name] = interpolate(str(value), env)
    return values


def test_the_four_services(services: dict[str, Any]) -> None:
    assert set(services) == {"ivr", "dispatch", "postgres", "nginx"}


def test_two_replicas_and_one_dispatcher_of_the_same_image(services: dict[str, Any]) -> None:
    ivr, dispatch = services["ivr"], services["dispatch"]
    assert ivr["deploy"]["replicas"] == 2
    assert dispatch["deploy"]["replicas"] == 1
    assert dispatch["command"] == ["ivr", "dispatch"]
    assert ivr["image"] == dispatch["image"] and ivr["build"] == dispatch["build"]
    build = ivr["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == (
        INFRA / "Dockerfile"
    )
    assert dispatch["healthcheck"] == {"disable": True}  # it serves no /healthz
    assert "ports" not in ivr, "the replicas are reached through nginx only"


def test_the_replicas_get_a_valid_configuration(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = example_env()
    # IVR_WORKERS (the image's command) and IVR_ACCESS_LOG are `ivr serve` options.
    serve_options = {"IVR_WORKERS", "IVR_ACCESS_LOG"}
    known = {Settings.variable(field) for field in Settings.model_fields} | serve_options
    for name in ("ivr", "dispatch"):
        given = container_env(services[name], env)
        for variable in ("IVR_DATABASE_URL", "TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL"):
            assert given.get(variable), f"{name} gets no {variable}"
        ivr_names = {key for key in given if key.startswith(("IVR_", "TWILIO_"))}
        assert ivr_names <= known, f"not settings: {sorted(ivr_names - known)}"
        for key in ivr_names:
            monkeypatch.setenv(key, given[key])
        settings = Settings(_env_file=None)
        assert settings.auth_token == env["TWILIO_AUTH_TOKEN"]
        assert settings.public_url == env["IVR_PUBLIC_URL"]


def test_required_values_are_required(services: dict[str, Any]) -> None:
    env = example_env()
    for variable in ("TWILIO_AUTH_TOKEN", "IVR_PUBLIC_URL", "POSTGRES_PASSWORD"):
        with pytest.raises(AssertionError, match="compose would refuse"):
            container_env(services["ivr"], {**env, variable: ""})


def test_the_database_url_names_the_postgres_service(services: dict[str, Any]) -> None:
    env = example_env()
    url = urlsplit(container_env(services["ivr"], env)["IVR_DATABASE_URL"])
    postgres = container_env(services["postgres"], env)
    assert url.scheme == "postgresql+psycopg"
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]
    assert url.path == "/" + postgres["POSTGRES_DB"]
    assert services["ivr"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["dispatch"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_postgres_keeps_its_data_and_reports_its_health(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    postgres = services["postgres"]
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data" and volume in compose["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"]


def test_the_replicas_share_the_spool_the_image_points_at(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    image_spool = stages()[-1].env()["IVR_SPOOL_DIR"]
    volume, _, target = services["ivr"]["volumes"][0].partition(":")
    assert target == image_spool and volume in compose["volumes"]


def test_shutdown_outlasts_twilios_timeout(services: dict[str, Any]) -> None:
    for name in ("ivr", "dispatch"):
        assert int(services[name]["stop_grace_period"].removesuffix("s")) > 15


def test_nginx_fronts_the_replicas(services: dict[str, Any]) -> None:
    nginx = services["nginx"]
    assert sorted(nginx["ports"]) == ["443:443", "80:80"]
    env = nginx["environment"]
    # Every ${VARIABLE} of ivr.conf is given (the image substitutes only those it has).
    assert placeholders(SITE.read_text()) == set(env)
    host, _, port = env["IVR_UPSTREAM"].partition(":")
    assert host == "ivr" and port == stages()[-1].all("EXPOSE")[0].arguments
    assert (env["NGINX_HTTP_LISTEN"], env["NGINX_HTTPS_LISTEN"]) == ("80", "443")
    assert nginx["depends_on"]["ivr"] == {"condition": "service_healthy"}


def test_nginx_gets_its_site_certificates_and_static_fallback(services: dict[str, Any]) -> None:
    mounts = {}
    for volume in services["nginx"]["volumes"]:
        source, target, mode = volume.split(":")
        assert mode == "ro"
        mounts[target] = (COMPOSE.parent / source).resolve()
    assert mounts[NGINX_TEMPLATE] == SITE
    assert mounts[f"{NGINX_PREFIX}/twiml/fallback.xml"] == INFRA / "fallback.xml"
    site = SITE.read_text()
    # ivr.conf's relative paths resolve under the image's prefix, where these are mounted.
    assert "alias twiml/fallback.xml;" in site
    certificates = re.findall(r"ssl_certificate(?:_key)? (\S+);", site)
    assert certificates == ["certs/fullchain.pem", "certs/privkey.pem"]
    assert mounts[f"{NGINX_PREFIX}/certs"] == INFRA / "certs"
    # Who may reach the wallboard: included by ivr.conf, relative to the same prefix.
    assert "include wallboard-access.conf;" in site
    access = INFRA / "nginx" / "wallboard-access.conf"
    assert mounts[f"{NGINX_PREFIX}/wallboard-access.conf"] == access


def on_network(service: dict[str, Any], network: str) -> bool:
    return network in (service.get("networks") or ["default"])


def test_the_replicas_believe_x_forwarded_for_from_nginx_alone(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    (network, attachment), *others = services["nginx"]["networks"].items()
    assert not others, "nginx reaches the replicas on one network"
    nginx = ipaddress.ip_address(attachment["ipv4_address"])
    assert services["ivr"]["environment"]["FORWARDED_ALLOW_IPS"] == str(nginx)
    assert on_network(services["ivr"], network)
    assert [name for name, service in services.items() if on_network(service, network)] == [
        "ivr",
        "nginx",
    ]
    # nginx's fixed address is in the network and outside the range handed out to others.
    (pool,) = compose["networks"][network]["ipam"]["config"]
    assert nginx in ipaddress.ip_network(pool["subnet"])
    assert nginx not in ipaddress.ip_network(pool["ip_range"])
    # The replicas still reach PostgreSQL on the default network.
    assert on_network(services["ivr"], "default") and on_network(services["postgres"], "default")


def test_images_name_a_version(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = interpolate(service["image"], {})
        _, _, tag = image.rpartition(":")
        assert tag and tag != "latest" and "/" not in tag, f"{name}: {image}"


def test_images_pulled_from_a_registry_are_pinned_by_digest(services: dict[str, Any]) -> None:
    """Only the image compose builds itself (from the pinned Dockerfile) goes by a tag."""
    pinned = re.compile(r"[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*@sha256:[0-9a-f]{64}")
    for name, service in services.items():
        if "build" not in service:
            assert pinned.fullmatch(service["image"]), f"{name}: use name:tag@sha256:..."


def test_every_variable_has_a_value_or_a_default(compose: dict[str, Any]) -> None:
    env = example_env()
    for match in VARIABLE.finditer(COMPOSE.read_text()):
        name, operator, _ = match.groups()
        assert name in env or operator in (":-", "-"), f"${{{name}}} is not in .env.example"


def test_secrets_are_not_committed() -> None:
    ignored = (INFRA / ".gitignore").read_text().split()
    assert ".env" in ignored and "certs/" in ignored
