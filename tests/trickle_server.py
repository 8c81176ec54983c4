"""A server that never finishes answering: after the request it sends a status line and then
one header byte every `interval` seconds, for ever. Every per-read timeout is satisfied (a
byte always arrives in time), so only an OVERALL deadline ends a call to it.

    with TrickleServer() as server:
        server.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType


class TrickleServer:
    def __init__(self, *, interval: float = 0.5) -> None:
        self.interval = interval
        self.requests = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(1.0)
                conn.recv(65536)  # the request (or its start): answer regardless
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self._stop.is_set():
                    time.sleep(self.interval)
                    conn.sendall(b"z")
            except OSError:
                return  # the client gave up: that is the point

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        # close() alone leaves the accept() blocked (Linux): the join would wait its timeout
        # out on every test. shutdown() wakes it; the trickling threads see _stop on their
        # next byte (they are daemons: a client still reading does not hold the run up).
        with contextlib.suppress(OSError):  # not every platform shuts a listener down
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
