"""infra/nginx/ivr.conf read as text: the numbers it must agree with, and `nginx -t`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.config.settings import Settings
from ivr.emulator.transport import TWILIO_TIME_LIMIT_SECONDS
from tests.support.nginx import SITE, WALLBOARD_ACCESS, check, placeholders

pytestmark = [pytest.mark.slow, pytest.mark.infra]

SIZES = {"": 1, "k": 1024, "m": 1024 * 1024}


def directive(name: str) -> list[str]:
    """The arguments of every `name ...;` in the site, in order."""
    return re.findall(rf"^\s*{name}\s+([^;]*);", SITE.read_text(), flags=re.MULTILINE)


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s)?", value)
    assert match, value
    return int(match.group(1)) / (1000 if match.group(2) == "ms" else 1)


def test_the_body_limit_is_the_services() -> None:
    (limit,) = directive("client_max_body_size")
    size = re.fullmatch(r"(\d+)([kKmM]?)", limit)
    assert size, limit
    number, unit = size.groups()
    assert int(number) * SIZES[unit.lower()] == Settings.model_fields["max_body_bytes"].default


def test_a_retry_still_answers_before_twilio_gives_up() -> None:
    (connect,), (read,), (send,) = (
        directive(name)
        for name in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout")
    )
    (tries,) = directive("proxy_next_upstream_tries")
    (budget,) = directive("proxy_next_upstream_timeout")
    worst = int(tries) * (seconds(connect) + max(seconds(read), seconds(send)))
    assert 1 < int(tries) and worst < TWILIO_TIME_LIMIT_SECONDS
    assert seconds(budget) < TWILIO_TIME_LIMIT_SECONDS


def test_failed_posts_are_retried_on_another_replica() -> None:
    (retry,) = directive("proxy_next_upstream")
    assert set(retry.split()) >= {"error", "timeout", "http_502", "http_503", "non_idempotent"}


def test_the_forwarded_headers() -> None:
    headers = dict(value.split(maxsplit=1) for value in directive("proxy_set_header"))
    # The address nginx saw, never appended to what the client sent (which it can make up).
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == headers["Host"] == "$http_host"


def locations() -> dict[str, str]:
    """Each `location` of the site: its match, and its body up to the closing brace."""
    text, found = SITE.read_text(), {}
    for match in re.finditer(r"^\s*location\s+([^{]+?)\s*\{", text, flags=re.MULTILINE):
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        found[match.group(1)] = text[match.end() : end - 1]
    return found


def test_the_wallboard_is_passed_only_to_the_networks_the_operator_lists() -> None:
    wallboard = {
        match: body
        for match, body in locations().items()
        if re.search(r"login|logout|dashboard", match)
    }
    assert set(wallboard) == {"~ ^/(login|logout)$", "/dashboard"}
    for body in wallboard.values():
        rules = [line.strip() for line in body.splitlines() if line.strip()]
        assert rules[0] == "include wallboard-access.conf;"  # before it is passed on
    # As shipped, nobody: the operator adds `allow` lines for the supervisors' networks.
    shipped = [
        line.strip()
        for line in WALLBOARD_ACCESS.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert shipped == ["deny all;"]


def test_no_query_string_reaches_the_access_log() -> None:
    (log_format,) = re.findall(r"log_format ivr ([^;]*);", SITE.read_text())
    for leak in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$arg_"):
        assert leak not in log_format
    assert set(directive("access_log")) == {"/dev/stdout ivr"}


def test_only_compose_variables_are_templated() -> None:
    # The image substitutes every variable of its environment it finds: ours are upper case,
    # nginx's own are lower case, so they never collide.
    text = SITE.read_text()
    assert placeholders(text) == {"IVR_UPSTREAM", "NGINX_HTTP_LISTEN", "NGINX_HTTPS_LISTEN"}
    assert not re.search(r"\$[A-Z]", text), "an unbraced upper-case variable"


def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    result = check(tmp_path / "nginx", ["127.0.0.1:1", "127.0.0.1:2"])
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
