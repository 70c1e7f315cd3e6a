"""Who can reach the service: an address on loopback (or a unix socket) serves this machine
only, any other address the network. Unsigned webhooks and an open /metrics are for the first.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def loopback_host(host: str) -> bool:
    """True when `ivr serve --host HOST` listens for this machine only: a loopback address
    (127.0.0.0/8, ::1) or a name all of whose addresses are on loopback (localhost). 0.0.0.0,
    :: and every other address are public; so is a name that does not resolve."""
    address = _address(host)
    if address is not None:
        return _on_loopback(address)
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = [_address(str(info[4][0])) for info in found]
    return bool(addresses) and all(a is not None and _on_loopback(a) for a in addresses)


def reached_publicly(scope: Mapping[str, Any]) -> bool:
    """True when the request came in on an address other machines can reach.

    ASGI's `server` is the local address of the request's connection: on a service bound to
    0.0.0.0 a request to 127.0.0.1 came from this machine, one to the host's own address maybe
    not. A unix socket shows no address (None, or its path): only processes of this machine,
    normally a proxy, can open it, so it counts as loopback. A name where an address belongs
    comes from an in-process client (httpx's ASGITransport, Starlette's TestClient); servers
    on a network socket (uvicorn, hypercorn, daphne, granian) always give the address."""
    server = scope.get("server")
    if not server:
        return False
    return public_address(str(server[0]))


def public_address(host: str) -> bool:
    """True for an IP address outside loopback (the wildcard 0.0.0.0 included)."""
    address = _address(host)
    return address is not None and not _on_loopback(address)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _on_loopback(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket shows an IPv4 connection as ::ffff:a.b.c.d.
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
