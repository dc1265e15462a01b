"""A real HTTP server on 127.0.0.1 for the scraper tests: each route is a small, scripted site behaviour."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROBOTS = """# Everyone else: nothing.
User-agent: *
Disallow: /

User-agent: abstractpipe-test
Disallow: /private/
Allow: /private/open$
"""


def html(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    ).encode()


GBK_TEXT = "目的：探讨针刺治疗老年功能性便秘的疗效。方法：纳入患者120例，随机分为两组。结果：治疗组有效率高于对照组。"
GBK_PAGE = f"<html><head><title>针刺</title></head><body><p>{GBK_TEXT}</p></body></html>".encode("gbk")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0
    send_length: bool = True


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float


class LoopbackSite:
    """Routes map a path to a function of (request headers, times this path was asked for) -> Reply."""

    def __init__(self, robots: str | None = ROBOTS) -> None:
        self.routes: dict[str, Callable[[dict[str, str], int], Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        if robots is not None:
            self.route("/robots.txt", Reply(body=robots.encode(), headers={"Content-Type": "text/plain"}))
        self._install_defaults()

    def route(self, path: str, reply: Reply | Callable[[dict[str, str], int], Reply]) -> None:
        self.routes[path] = reply if callable(reply) else (lambda headers, count, r=reply: r)

    def requests_for(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def _install_defaults(self) -> None:
        for name in ("a", "b", "c", "d"):
            self.route(f"/page/{name}", Reply(body=html(f"Page {name}", f"<p>Text of page {name}.</p>")))
        self.route("/private/secret", Reply(body=html("Secret", "<p>no</p>")))
        self.route("/private/open", Reply(body=html("Open", "<p>allowed by a longer rule</p>")))
        self.route("/old", Reply(status=301, headers={"Location": "/new"}))
        self.route("/new", Reply(body=html("New", "<p>moved here</p>")))
        self.route("/to-private", Reply(status=302, headers={"Location": "/private/secret"}))
        self.route("/loop", Reply(status=302, headers={"Location": "/loop2"}))
        self.route("/loop2", Reply(status=302, headers={"Location": "/loop"}))
        self.route("/slow", Reply(body=html("Slow", "<p>eventually</p>"), delay=0.5))
        self.route(
            "/busy",
            lambda headers, count: (
                Reply(
                    status=429, headers={"Retry-After": "1", "Content-Type": "text/plain"}, body=b"slow down"
                )
                if count == 1
                else Reply(body=html("Busy", "<p>served on the second try</p>"))
            ),
        )
        self.route(
            "/flaky",
            lambda headers, count: (
                Reply(status=500, body=b"oops", headers={"Content-Type": "text/plain"})
                if count == 1
                else Reply(body=html("Flaky", "<p>served after a 500</p>"))
            ),
        )
        self.route("/down", Reply(status=503, body=b"down", headers={"Content-Type": "text/plain"}))
        self.route("/gone", Reply(status=404, body=b"not here", headers={"Content-Type": "text/plain"}))
        self.route("/gbk", Reply(body=GBK_PAGE, headers={"Content-Type": "text/html; charset=gbk"}))
        big = html("Huge", "<p>" + "x" * 50_000 + "</p>")
        self.route("/huge", Reply(body=big))
        self.route("/huge-unsized", Reply(body=big, send_length=False))
        self.route(
            "/image.png", Reply(body=b"\x89PNG\r\n\x1a\n" + bytes(200), headers={"Content-Type": "image/png"})
        )
        self.route("/notes.txt", Reply(body=b"Plain text notes.\n", headers={"Content-Type": "text/plain"}))
        self.route(
            "/gzipped",
            Reply(
                body=gzip.compress(html("Gzipped", "<p>compressed in transit</p>"), mtime=0),
                headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
            ),
        )

        def etag(headers: dict[str, str], count: int) -> Reply:
            if headers.get("if-none-match") == '"v1"':
                return Reply(status=304, headers={"ETag": '"v1"'})
            return Reply(
                body=html("Tagged", "<p>same every time</p>"),
                headers={"Content-Type": "text/html", "ETag": '"v1"'},
            )

        def last_modified(headers: dict[str, str], count: int) -> Reply:
            stamp = "Wed, 01 Oct 2025 08:00:00 GMT"
            if headers.get("if-modified-since") == stamp:
                return Reply(status=304)
            return Reply(
                body=html("Dated", "<p>old news</p>"),
                headers={"Content-Type": "text/html", "Last-Modified": stamp},
            )

        self.route("/etag", etag)
        self.route("/dated", last_modified)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.seen.append(Seen(handler.path, headers, time.monotonic()))
            count = len(self.requests_for(handler.path))
        route = self.routes.get(handler.path)
        reply = (
            route(headers, count)
            if route
            else Reply(status=404, body=b"no route", headers={"Content-Type": "text/plain"})
        )
        if reply.delay:
            time.sleep(reply.delay)
        try:
            handler.send_response(reply.status)
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            if reply.send_length:
                handler.send_header("Content-Length", str(len(reply.body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            if reply.status != 304:
                handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, size limit): that is the behaviour under test


@contextmanager
def serve(site: LoopbackSite) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 (a free port) and yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            site.handle(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def read_records(out: Path) -> list[dict]:
    """The records of a run's output folder, whatever the writer's part layout (gzip or not)."""
    records = []
    for part in sorted(out.rglob("*.jsonl*")):
        if "quarantine" in part.name or any(d.startswith(".") for d in part.relative_to(out).parts):
            continue
        opener = gzip.open if part.suffix == ".gz" else open
        with opener(part, "rt", encoding="utf-8") as lines:
            records += [r for r in map(json.loads, filter(str.strip, lines)) if "text" in r]
    return records
