"""A TCP forwarder on a loopback port that a test can close and open again, like a database
that goes away (its port refuses connections, open connections are cut) and comes back; or
hold, like a database that goes silent (a network that drops everything), and release.

While closed, the port stays bound but does not listen, so a connection attempt is refused at
once (Linux answers a SYN to a port without a listener with a reset) and nobody else can take
the port in the meantime.

While held, connections are still accepted but nothing is forwarded either way: bytes wait in
the kernel's buffers (acknowledged, as by a proxy in the path), so clients wait for answers
that do not come. Released, everything held is delivered late, as when a network comes back
before the connections time out.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType
from typing import Self


class TcpGate:
    """Forwards 127.0.0.1:`port` to `target`; starts closed."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._listener = self._bound(0)
        self.port: int = self._listener.getsockname()[1]
        self._accepting: threading.Thread | None = None
        self._connections: dict[int, tuple[socket.socket, socket.socket]] = {}
        self._pumps: list[threading.Thread] = []
        self._generation = 0
        self.is_open = False
        self._flowing = threading.Event()
        self._flowing.set()
        # Readable while held: pumps wait in select() on it too, so `hold` stops them at once.
        self._held_read, self._held_write = socket.socketpair()
        self._held_read.setblocking(False)

    def _bound(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        return listener

    # --- opening and closing -------------------------------------------------------------
    def open(self) -> None:
        """Listen and forward new connections to the target."""
        with self._lock:
            if self.is_open:
                return
            self._generation += 1
            self.is_open = True
            self._listener.listen(64)
            listener, generation = self._listener, self._generation
        self._accepting = threading.Thread(
            target=self._accept, args=(listener, generation), name="tcp-gate-accept", daemon=True
        )
        self._accepting.start()

    def close(self) -> None:
        """Stop listening (new connections are refused) and cut every open connection, held
        or not."""
        with self._lock:
            if not self.is_open:
                return
            self.is_open = False
            listener = self._listener
            connections = list(self._connections.values())
            self._connections.clear()
            pumps, self._pumps = self._pumps, []
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
        if self._accepting is not None:
            self._accepting.join(timeout=5)
            self._accepting = None
        listener.close()
        for pair in connections:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the pump, which closes both
        self.release()  # a held pump must see its sockets cut too (a closed gate holds nothing)
        for pump in pumps:
            pump.join(timeout=5)
        with self._lock:
            self._listener = self._bound(self.port)  # keep the port, refusing

    def hold(self) -> None:
        """Forward nothing from now on, either way (new connections are accepted, and held)."""
        with self._lock:
            if self._flowing.is_set():
                self._flowing.clear()
                self._held_write.send(b"!")

    def release(self) -> None:
        """Forward again, everything held first."""
        with self._lock:
            with contextlib.suppress(BlockingIOError):
                while self._held_read.recv(4096):
                    pass
            self._flowing.set()

    @property
    def is_held(self) -> bool:
        return not self._flowing.is_set()

    def shutdown(self) -> None:
        """Close, and release the port."""
        self.release()
        self.close()
        self._listener.close()
        self._held_read.close()
        self._held_write.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()

    @property
    def connections(self) -> int:
        """Connections currently forwarded."""
        with self._lock:
            return len(self._connections)

    # --- forwarding ----------------------------------------------------------------------
    def _accept(self, listener: socket.socket, generation: int) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the gate closed
            pump = threading.Thread(
                target=self._forward, args=(client, generation), name="tcp-gate-pump", daemon=True
            )
            with self._lock:
                if generation != self._generation or not self.is_open:
                    client.close()
                    return
                self._pumps.append(pump)
            pump.start()

    def _forward(self, client: socket.socket, generation: int) -> None:
        self._flowing.wait()  # held: not even connected to the target yet
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        key = id(client)
        with self._lock:
            if generation != self._generation or not self.is_open:
                client.close()
                upstream.close()
                return
            self._connections[key] = (client, upstream)
        try:
            self._pump(client, upstream)
        finally:
            with self._lock:
                self._connections.pop(key, None)
            client.close()
            upstream.close()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        """Copy bytes both ways until either side ends (or is shut down by `close`); while
        held, read nothing."""
        other = {a: b, b: a}
        while True:
            try:
                self._flowing.wait()
                readable, _, _ = select.select([a, b, self._held_read], [], [])
                if self._held_read in readable:
                    continue  # held since: wait for the release
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    other[sock].sendall(data)
            except (OSError, ValueError):
                return
