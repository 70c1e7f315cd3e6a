"""Which `ivr serve --host` values listen for this machine only."""

from __future__ import annotations

import pytest

from ivr.web.exposure import loopback_host, reached_publicly

LOOPBACK = ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost"]
PUBLIC = ["0.0.0.0", "::", "192.0.2.2", "10.0.0.5", "fd00::2", "::ffff:192.0.2.2", ""]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts_listen_for_this_machine_only(host: str) -> None:
    assert loopback_host(host)


@pytest.mark.parametrize("host", PUBLIC)
def test_every_other_address_is_public(host: str) -> None:
    assert not loopback_host(host)


def test_a_name_that_does_not_resolve_counts_as_public() -> None:
    assert not loopback_host("no-such-host.invalid")


@pytest.mark.parametrize(
    "server",
    [("127.0.0.1", 8000), ("::1", 8000), ("/run/ivr/ivr.sock", None), None],
    ids=str,
)
def test_a_request_on_a_loopback_address_or_a_unix_socket_is_local(
    server: tuple[str, int | None] | None,
) -> None:
    assert not reached_publicly({"type": "http", "server": server})


@pytest.mark.parametrize(
    "server",
    [
        ("localhost", 8000),
        ("myhost.example", 8000),
        ("", 8000),
        ("192.0.2.2 ", 8000),
        ("testserver", 80),
        ("ivr.test", None),
        ("ivr.sock", None),
        ("192.0.2.2", 8000),
        (),
    ],
    ids=str,
)
def test_a_request_on_anything_but_a_loopback_ip_is_public(
    server: tuple[str, int | None] | tuple[()],
) -> None:
    assert reached_publicly({"type": "http", "server": server})
