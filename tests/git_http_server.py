"""A git smart-HTTP remote on 127.0.0.1 for tests: `git http-backend` (CGI) behind a tiny
threaded HTTP server that demands GitHub-style Basic auth, `x-access-token:TOKEN`.

It records every request (method, path, whether it was authorised, the raw Authorization
header) so tests can check the token travelled only as a header — never in a URL.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    authorized: bool
    authorization: str | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        authorization = self.headers.get("Authorization")
        scheme, _, credentials = (authorization or "").partition(" ")
        # the auth scheme is case-insensitive (RFC 9110); git's extraheader sends "basic"
        authorized = scheme.lower() == "basic" and credentials.strip() == self.server.expected
        self.server.requests.append(Request(self.command, self.path, authorized, authorization))
        body = self._body()
        if self.server.redirect:  # a remote that moved (or a hostile one): send the client on
            self.send_response(302)
            self.send_header("Location", self.server.redirect + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not authorized:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="engram-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",  # enables receive-pack (push)
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        separator = b"\r\n\r\n" if b"\r\n\r\n" in done.stdout else b"\n\n"
        head, _, payload = done.stdout.partition(separator)
        headers = [line.split(b":", 1) for line in head.replace(b"\r", b"").split(b"\n") if line]
        status = 200
        for name, value in headers:
            if name.strip().lower() == b"status":
                status = int(value.split()[0])
        self.send_response(status)
        for name, value in headers:
            if name.strip().lower() != b"status":
                self.send_header(name.decode().strip(), value.decode().strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    root: Path
    expected: str
    requests: list[Request]
    redirect: str


class GitHttpServer:
    """`with GitHttpServer(root, token) as server:` serves every repo under `root` at
    `server.url(name)`; with `redirect=`, a remote that sends every request elsewhere."""

    def __init__(
        self, root: Path, token: str, *, host: str = "127.0.0.1", redirect: str = ""
    ) -> None:
        """`redirect`: answer every request with a 302 to this base URL + the path."""
        self._server = _Server((host, 0), _Handler)
        self._server.redirect = redirect
        self._server.root = root
        credentials = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self._server.expected = credentials
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[Request]:
        return self._server.requests

    def url(self, name: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{name}"

    def __enter__(self) -> GitHttpServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
