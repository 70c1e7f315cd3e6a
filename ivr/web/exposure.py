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
    not. A unix socket shows its path (or nothing, when the server cannot tell): only
    processes of this machine, normally a proxy, can open it, so it counts as loopback. Servers
    on a network socket (uvicorn, hypercorn, daphne, granian) always give an IP address, so
    anything else (a name, an empty or padded string, a relative socket path) is not trusted
    to be loopback: the check fails closed. An in-process client presents a loopback address
    of its own (ivr.emulator.transport.OnLoopback)."""
    server = scope.get("server")
    if server is None:
        return False
    host, port = (str(server[0]), server[1]) if len(server) == 2 else ("", None)
    if port is None and host.startswith("/"):
        return False  # a unix socket bound by its absolute path
    return public_address(host)


def public_address(host: str) -> bool:
    """True for anything but a loopback IP address: any other address (the wildcard 0.0.0.0
    included), and whatever is no IP address at all."""
    address = _address(host)
    return address is None or not _on_loopback(address)


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
