"""tests/trickle_server.py: the stand-in stops at once, so each test using it pays no wait."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.trickle_server import TrickleServer


def test_it_stops_promptly_while_waiting_for_a_connection_or_trickling_to_one() -> None:
    with TrickleServer(interval=0.1) as idle:
        time.sleep(0.2)  # the accept thread is blocked in accept()
        began = time.monotonic()
    assert time.monotonic() - began < 1  # not the 5 s join timeout
    with TrickleServer(interval=0.1) as busy:
        port = urlsplit(busy.url).port
        assert port is not None
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(64).startswith(b"HTTP/1.1 200 OK")  # it trickles
        began = time.monotonic()
    assert time.monotonic() - began < 1
    client.close()
    assert idle.requests == 0 and busy.requests == 1
