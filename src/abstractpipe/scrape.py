"""A polite scraper: URLs in, raw pages with provenance sidecars out (optionally a WARC file too).

Politeness and safety, in the order a URL meets them:

* only ``http``/``https``; the host must resolve to public addresses unless
  ``allow_private_addresses`` (tests, intranets) - the connection then goes to the
  address that was checked, so DNS cannot swap in another one in between;
* robots.txt (RFC 9309: longest match wins, ``*`` and ``$`` wildcards, 4xx = no
  rules, 5xx or unreachable = everything disallowed), fetched once per host and
  cached; its ``Crawl-delay`` lengthens the host's interval;
* at most one request per ``min_interval`` seconds per host; hosts are crawled in
  parallel by at most ``max_workers`` threads, one host per worker at a time;
* separate connect and read timeouts plus a whole-page deadline; retries with
  exponential backoff on timeouts, connection errors, 429 and 5xx, honouring
  ``Retry-After``; a maximum body size (checked on ``Content-Length`` and while
  reading); a content-type filter checked before the body is read;
* conditional requests: a page scraped before is asked for with ``If-None-Match`` /
  ``If-Modified-Since`` from its sidecar, so an unchanged page costs a 304.

Each page is saved as its body (``<out>/<slug>.html`` or ``.txt``; the bytes as
served, after any transfer gzip) plus a sidecar ``<page>.json``: ``url`` (the
normalised URL asked for), ``final_url`` (after redirects), ``status``, the
headers that matter, ``fetched_at`` (UTC, ISO 8601, seconds) and ``sha256``.
The ingest stage reads the sidecar (see ``abstractpipe.ingest``).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from abstractpipe import __version__
from abstractpipe.config import Config, ConfigError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Percent-encoded characters that mean the same decoded (RFC 3986 "unreserved").
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Headers that change how a body is framed or encoded on the wire, not what it is.
TRANSFER_HEADERS = frozenset({"transfer-encoding", "content-encoding", "content-length", "connection"})
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: crawlers must parse at least 500 KiB
READ_CHUNK = 64 * 1024
# Robots fetch failures that say the host itself cannot be used: the page fails with this reason.
UNREACHABLE_HOST = frozenset({"private_address", "dns", "connection", "scheme"})


@dataclass
class ScrapeSettings:
    """Everything configurable about a scrape (``configs/scrape.yaml``, ``scrape:`` overrides)."""

    user_agent: str = f"abstractpipe/{__version__}"
    robots_agent: str = ""  # product token matched in robots.txt; default: user_agent up to "/"
    respect_robots: bool = True
    min_interval: float = 1.0  # seconds between requests to one host
    max_crawl_delay: float = 30.0  # a robots.txt Crawl-delay above this is capped
    max_workers: int = 4  # hosts crawled at the same time
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_page_seconds: float = 120.0  # whole-response deadline (a server dripping bytes)
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 3  # attempts after the first, on timeouts, connection errors, 429 and 5xx
    backoff_base: float = 1.0  # seconds; doubled on each retry
    backoff_max: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After fails the page instead of waiting
    max_redirects: int = 5
    allow_private_addresses: bool = False
    content_types: dict[str, str] = field(
        default_factory=lambda: {
            "text/html": ".html",
            "application/xhtml+xml": ".xhtml",
            "text/plain": ".txt",
        }
    )
    sidecar_headers: list[str] = field(
        default_factory=lambda: ["content-type", "content-language", "etag", "last-modified", "date"]
    )

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ScrapeSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known - {"rules"})
        if unknown:
            raise ConfigError(f"unknown scrape settings: {', '.join(unknown)}")
        settings = cls(**{k: v for k, v in values.items() if k in known})
        if settings.min_interval < 0 or settings.max_workers < 1 or settings.max_bytes < 1:
            raise ConfigError("scrape: min_interval >= 0, max_workers >= 1 and max_bytes >= 1 required")
        settings.content_types = {str(k).lower(): str(v) for k, v in settings.content_types.items()}
        settings.sidecar_headers = [str(h).lower() for h in settings.sidecar_headers]
        return settings

    @property
    def robots_token(self) -> str:
        return (self.robots_agent or self.user_agent.split("/", 1)[0]).strip().lower()


def settings_from_config(config: Config) -> ScrapeSettings:
    """The rule file named by ``scrape.rules``, then the ``scrape:`` section's own keys on top."""
    section = config.section("scrape")
    values: dict[str, Any] = {}
    if section.get("rules"):
        loaded = config.load_rules(section["rules"]) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"scrape rules {section['rules']} must be a mapping")
        values.update(loaded)
    values.update({k: v for k, v in section.items() if k != "rules"})
    return ScrapeSettings.from_mapping(values)


# --- URLs ------------------------------------------------------------------------------------


def _normalise_escapes(part: str, safe: str) -> str:
    """Upper-case percent escapes, decode the unreserved ones, escape what must be escaped."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in UNRESERVED else f"%{match.group(1).upper()}"

    return quote(PERCENT_ESCAPE.sub(fix, part), safe=safe + "%")


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = path.endswith(("/.", "/..")) and (not output or output[-1] != "")
    return "/" + "/".join(output) + ("/" if trailing else "")


def normalise_url(url: str) -> str:
    """Canonical form for fetching and de-duplication.

    Lower-case scheme and host (IDNA for non-ASCII hosts), no default port, no
    fragment, no dot segments, ``/`` for an empty path, percent escapes
    normalised.  The query keeps its order: reordering it can change the page.
    Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"only http and https URLs are fetched, not {parts.scheme or 'a relative URL'!r}")
    host = parts.hostname
    if not host:
        raise ValueError("URL has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from exc
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError as exc:
        raise ValueError(f"bad host name: {exc}") from exc
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = 80 if scheme == "http" else 443
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_escapes(parts.path or "/", safe="/:@!$&'()*+,;=-._~"))
    query = _normalise_escapes(parts.query, safe="/?:@!$&'()*+,;=-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def host_key(url: str) -> str:
    """``scheme://host:port``: the unit robots.txt and the rate limit apply to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_stem(url: str) -> str:
    """A readable, stable file stem for a URL: its path slugged plus a short hash of the whole URL."""
    parts = urlsplit(url)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", unquote(parts.path).strip("/")).strip("-.")[:80]
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"{slug or 'index'}-{digest}"


def site_folder(url: str) -> str:
    """Default output folder name for a URL's pages: the host, with ``_port`` when not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "unknown").strip("[]").replace(":", "_")
    default_port = 80 if parts.scheme == "http" else 443
    return host if parts.port in (None, default_port) else f"{host}_{parts.port}"


def dedupe_urls(urls: Iterable[str]) -> tuple[list[str], list[tuple[str, str]], int]:
    """(normalised unique URLs in input order, [(url, reason)] invalid ones, duplicates dropped)."""
    unique: list[str] = []
    seen: set[str] = set()
    invalid: list[tuple[str, str]] = []
    duplicates = 0
    for raw in urls:
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        try:
            url = normalise_url(raw)
        except ValueError as exc:
            invalid.append((raw, str(exc)))
            continue
        if url in seen:
            duplicates += 1
            continue
        seen.add(url)
        unique.append(url)
    return unique, invalid, duplicates


# --- robots.txt ------------------------------------------------------------------------------


@dataclass
class RobotsRules:
    """The rules of one robots.txt that apply to our product token (RFC 9309)."""

    rules: list[tuple[int, bool, re.Pattern[str]]] = field(default_factory=list)  # (length, allow, regex)
    crawl_delay: float | None = None
    disallow_all: bool = False

    @classmethod
    def parse(cls, text: str, token: str) -> RobotsRules:
        groups: list[tuple[list[str], list[tuple[bool, str]], float | None]] = []
        agents: list[str] = []
        rules: list[tuple[bool, str]] = []
        delay: float | None = None
        in_rules = False
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            key, colon, value = line.partition(":")
            if not colon:
                continue
            key, value = key.strip().lower(), value.strip()
            if key == "user-agent":
                if in_rules:  # a user-agent line after rules starts a new group
                    groups.append((agents, rules, delay))
                    agents, rules, delay, in_rules = [], [], None, False
                agents.append(value.lower())
            elif key in ("allow", "disallow"):
                in_rules = True
                if value:  # an empty Disallow allows everything
                    rules.append((key == "allow", value))
            elif key == "crawl-delay":
                in_rules = True
                with contextlib.suppress(ValueError):
                    delay = float(value)
        if agents:
            groups.append((agents, rules, delay))
        # Every group naming our token applies (merged); else the "*" groups.
        chosen = [g for g in groups if token in g[0]] or [g for g in groups if "*" in g[0]]
        result = cls()
        for _, group_rules, group_delay in chosen:
            for allow, pattern in group_rules:
                result.rules.append((len(pattern), allow, _robots_pattern(pattern)))
            if group_delay is not None:
                result.crawl_delay = max(result.crawl_delay or 0.0, group_delay)
        return result

    def allowed(self, url: str) -> bool:
        if self.disallow_all:
            return False
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if target == "/robots.txt":
            return True
        best: tuple[int, bool] | None = None
        for length, allow, pattern in self.rules:
            if pattern.match(target) and (best is None or (length, allow) > best):
                best = (length, allow)  # longest wins; on a tie, allow (True > False)
        return best is None or best[1]


def _robots_pattern(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = _normalise_escapes(pattern[:-1] if anchored else pattern, safe="/?:@!$&'()*+,;=-._~*")
    regex = ".*".join(re.escape(piece) for piece in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


# --- one HTTP exchange -----------------------------------------------------------------------


class FetchError(Exception):
    """A request that did not give a usable response; ``kind`` is the summary's failure reason."""

    def __init__(self, kind: str, message: str, retryable: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class Response:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address already checked, with a connect timeout apart from the read timeout."""

    def __init__(self, host: str, port: int, address: tuple[Any, ...], settings: ScrapeSettings) -> None:
        super().__init__(host, port, timeout=settings.read_timeout)
        self.address = address
        self.connect_timeout = settings.connect_timeout

    def connect(self) -> None:
        self.sock = socket.create_connection(self.address[:2], timeout=self.connect_timeout)
        self.sock.settimeout(self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443
    context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


class Fetcher:
    """Single requests: address checks, throttling, timeouts, size limits and retries."""

    def __init__(self, settings: ScrapeSettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._interval: dict[str, float] = {}

    # -- per-host rate limit --

    def set_interval(self, host: str, seconds: float) -> None:
        with self._lock:
            self._interval[host] = max(self.settings.min_interval, seconds)

    def wait_turn(self, host: str) -> None:
        """Reserve the host's next request slot and sleep until it (safe across threads)."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self._interval.get(host, self.settings.min_interval)
        if slot > now:
            self.sleep(slot - now)

    def push_back(self, host: str, seconds: float) -> None:
        """After a 429/503, no request to the host before ``seconds`` from now."""
        with self._lock:
            self._next_slot[host] = max(self._next_slot.get(host, 0.0), time.monotonic() + seconds)

    # -- addresses --

    def resolve(self, host: str, port: int) -> list[tuple[Any, ...]]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError("dns", f"cannot resolve {host}: {exc.strerror or exc}", retryable=True) from exc
        addresses = [info[4] for info in infos]
        if not self.settings.allow_private_addresses:
            for address in addresses:
                ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
                if not ip.is_global or ip.is_multicast:
                    raise FetchError(
                        "private_address",
                        f"{host} resolves to {ip}, a loopback/private/reserved address "
                        "(set scrape.allow_private_addresses to allow)",
                    )
        return addresses

    # -- one request --

    def request(self, url: str, headers: dict[str, str], accept_body: Callable[[Response], None]) -> Response:
        """One request, no redirects followed.  ``accept_body`` may refuse a 2xx body before it is read."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError("scheme", f"only http and https are fetched: {url}")
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self.resolve(host, port)
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        last_error: OSError | None = None
        for address in addresses:
            connection = connection_class(host, port, address, self.settings)
            try:
                connection.request("GET", target, headers=self._headers(parts.netloc, headers))
                raw = connection.getresponse()
                return self._read(url, raw, accept_body)
            except TimeoutError as exc:
                raise FetchError("timeout", f"timed out: {exc or 'no response'}", retryable=True) from exc
            except ConnectionRefusedError as exc:
                last_error = exc  # try the host's next address
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError("connection", f"connection error: {exc!r}", retryable=True) from exc
            finally:
                connection.close()
        raise FetchError("connection", f"connection refused: {last_error}", retryable=True)

    def _headers(self, netloc: str, extra: dict[str, str]) -> dict[str, str]:
        headers = {
            "Host": netloc,
            "User-Agent": self.settings.user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1",
            "Accept-Encoding": "gzip",
            "Connection": "close",
        }
        headers.update(extra)
        return headers

    def _read(
        self, url: str, raw: http.client.HTTPResponse, accept_body: Callable[[Response], None]
    ) -> Response:
        response = Response(url=url, status=raw.status, reason=raw.reason, headers=list(raw.getheaders()))
        if not 200 <= raw.status < 300:
            return response  # redirects, 304 and errors: the body is not wanted
        accept_body(response)
        limit = self.settings.max_bytes
        length = response.header("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise FetchError("too_large", f"body of {length} bytes > max_bytes {limit}")
        deadline = time.monotonic() + self.settings.max_page_seconds
        gzipped = (response.header("content-encoding") or "").strip().lower() in ("gzip", "x-gzip")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
        body = BytesIO()
        while True:
            chunk = raw.read(READ_CHUNK)
            if not chunk:
                break
            if inflater is not None:
                try:
                    # Never inflate more than one byte past the limit (gzip-bomb guard).
                    chunk = inflater.decompress(chunk, limit + 1 - body.tell())
                except zlib.error as exc:
                    raise FetchError("corrupt_gzip", f"corrupt gzip body: {exc}") from exc
            body.write(chunk)
            if body.tell() > limit:
                raise FetchError("too_large", f"body larger than max_bytes {limit}")
            if time.monotonic() > deadline:
                raise FetchError(
                    "timeout", f"page took longer than {self.settings.max_page_seconds} s", retryable=True
                )
        response.body = body.getvalue()
        return response

    def request_with_retries(
        self, url: str, headers: dict[str, str], accept_body: Callable[[Response], None]
    ) -> Response:
        """``request`` with the host's rate limit and retries (backoff, Retry-After)."""
        host = host_key(url)
        attempt = 0
        while True:
            self.wait_turn(host)
            error: FetchError
            try:
                response = self.request(url, headers, accept_body)
                if response.status != 429 and response.status < 500:
                    return response
                error = FetchError(
                    f"http_{response.status}",
                    f"HTTP {response.status} {response.reason}".strip(),
                    retryable=True,
                    retry_after=parse_retry_after(response.header("retry-after")),
                )
            except FetchError as exc:
                if not exc.retryable:
                    raise
                error = exc
            if attempt >= self.settings.retries:
                raise FetchError(error.kind, f"{error} (after {attempt + 1} attempts)")
            if error.retry_after is not None:
                if error.retry_after > self.settings.max_retry_after:
                    raise FetchError(
                        error.kind,
                        f"{error}; Retry-After {error.retry_after:.0f} s > max_retry_after "
                        f"{self.settings.max_retry_after:.0f} s",
                    )
                delay = error.retry_after
            else:
                delay = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
            self.push_back(host, delay)
            attempt += 1


# --- the scraper -----------------------------------------------------------------------------


@dataclass
class PageResult:
    url: str
    outcome: str  # fetched | not_modified | robots | content_type | failed
    final_url: str | None = None
    status: int | None = None
    reason: str = ""  # failure kind (failed) or explanation (skipped)
    detail: str = ""
    path: Path | None = None


@dataclass
class ScrapeSummary:
    results: list[PageResult]
    duplicates: int = 0
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> list[PageResult]:
        return [r for r in self.results if r.outcome == "failed"]

    def lines(self) -> list[str]:
        lines = [
            f"fetched:              {self.count('fetched')}",
            f"not modified (304):   {self.count('not_modified')}",
            f"skipped by robots:    {self.count('robots')}",
            f"skipped content type: {self.count('content_type')}",
            f"duplicate URLs:       {self.duplicates}",
            f"failed:               {len(self.failed)}",
        ]
        reasons = Counter(r.reason for r in self.failed)
        lines += [f"  {reason}: {n}" for reason, n in sorted(reasons.items())]
        lines += [f"  {r.url}: {r.detail}" for r in self.failed]
        lines.append(f"time:                 {self.seconds:.2f} s")
        return lines


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


class WarcSink:
    """Appends response records to a WARC file (gzip per record when the name ends in .gz)."""

    def __init__(self, path: Path) -> None:
        from warcio.warcwriter import WARCWriter

        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("ab")
        self._writer = WARCWriter(self._handle, gzip=path.name.endswith(".gz"))
        self._lock = threading.Lock()

    def write_response(self, response: Response, fetched_at: str) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        # The body is stored decoded (no transfer gzip), so the framing headers must match it.
        headers = [(k, v) for k, v in response.headers if k.lower() not in TRANSFER_HEADERS]
        headers.append(("Content-Length", str(len(response.body))))
        http_headers = StatusAndHeaders(
            f"{response.status} {response.reason}".strip(), headers, protocol="HTTP/1.1"
        )
        with self._lock:
            record = self._writer.create_warc_record(
                response.url,
                "response",
                payload=BytesIO(response.body),
                length=len(response.body),
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": fetched_at},
            )
            self._writer.write_record(record)
            self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class Scraper:
    """Fetches URLs politely and saves each page with its sidecar."""

    def __init__(
        self,
        settings: ScrapeSettings,
        out_dir: Path | None = None,
        warc: WarcSink | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.warc = warc
        self.progress = progress or (lambda line: None)
        self.fetcher = Fetcher(settings)
        self._robots: dict[str, RobotsRules | FetchError] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0

    # -- robots --

    def robots_for(self, url: str) -> RobotsRules:
        """The host's robots rules, fetched once (per-host lock: concurrent callers wait for it).

        Raises the FetchError of a host that cannot be reached at all (refused address,
        DNS, connection), once per URL, so the summary gives the real reason.
        """
        host = host_key(url)
        with self._lock:
            lock = self._robots_locks.setdefault(host, threading.Lock())
        with lock:
            if host not in self._robots:
                try:
                    rules = self._fetch_robots(host)
                except FetchError as exc:
                    self._robots[host] = exc
                else:
                    if rules.crawl_delay is not None:
                        delay = min(rules.crawl_delay, self.settings.max_crawl_delay)
                        self.fetcher.set_interval(host, delay)
                    self._robots[host] = rules
            found = self._robots[host]
        if isinstance(found, FetchError):
            raise FetchError(found.kind, str(found))
        return found

    def _fetch_robots(self, host: str) -> RobotsRules:
        url = f"{host}/robots.txt"

        def accept(response: Response) -> None:
            pass

        try:
            for _ in range(self.settings.max_redirects + 1):
                response = self.fetcher.request_with_retries(url, {}, accept)
                location = response.header("location")
                if response.status in REDIRECT_STATUSES and location:
                    url = normalise_url(urljoin(url, location))
                    continue
                break
        except FetchError as exc:
            if exc.kind in UNREACHABLE_HOST:
                raise
            self.progress(f"robots.txt of {host} unreachable ({exc}): not crawling the host")
            return RobotsRules(disallow_all=True)
        except ValueError as exc:
            # RFC 9309: an unreachable robots.txt means "assume complete disallow".
            self.progress(f"robots.txt of {host} unreachable ({exc}): not crawling the host")
            return RobotsRules(disallow_all=True)
        if 200 <= response.status < 300:
            text = response.body[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
            return RobotsRules.parse(text, self.settings.robots_token)
        if 400 <= response.status < 500:
            return RobotsRules()  # "unavailable": no rules
        return RobotsRules(disallow_all=True)

    # -- files --

    def page_dir(self, url: str) -> Path:
        if self.out_dir is not None:
            return self.out_dir
        return Path("raw") / site_folder(url)

    def previous(self, url: str) -> tuple[Path, dict[str, Any]] | None:
        """The page saved for ``url`` by an earlier scrape and its sidecar, if both exist."""
        folder = self.page_dir(url)
        stem = page_stem(url)
        for extension in sorted(set(self.settings.content_types.values())):
            page = folder / f"{stem}{extension}"
            sidecar = page.with_name(page.name + ".json")
            if page.is_file() and sidecar.is_file():
                try:
                    data = json.loads(sidecar.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    return None
                return (page, data) if isinstance(data, dict) else None
        return None

    def save(self, url: str, response: Response, redirects: list[str], fetched_at: str) -> Path:
        extension = self.settings.content_types[media_type(response.header("content-type"))]
        page = self.page_dir(url) / f"{page_stem(url)}{extension}"
        kept = {}
        for name in self.settings.sidecar_headers:
            value = response.header(name)
            if value is not None:
                kept[name] = value
        sidecar = {
            "url": url,
            "final_url": response.url,
            "redirects": redirects,
            "status": response.status,
            "headers": kept,
            "fetched_at": fetched_at,
            "sha256": hashlib.sha256(response.body).hexdigest(),
            "bytes": len(response.body),
        }
        # A stale page of another type (the site switched .txt -> .html) would be read twice.
        for other in set(self.settings.content_types.values()) - {extension}:
            stale = page.with_name(page_stem(url) + other)
            stale.unlink(missing_ok=True)
            stale.with_name(stale.name + ".json").unlink(missing_ok=True)
        write_atomic(page, response.body)
        write_atomic(page.with_name(page.name + ".json"), _json_bytes(sidecar))
        return page

    # -- one page --

    def accept_body(self, response: Response) -> None:
        kind = media_type(response.header("content-type"))
        if kind not in self.settings.content_types:
            raise FetchError("content_type", f"content type {kind or '(none)'} is not a page type")

    def scrape_one(self, url: str) -> PageResult:
        previous = self.previous(url)
        conditional: dict[str, str] = {}
        if previous:
            headers = previous[1].get("headers") or {}
            if headers.get("etag"):
                conditional["If-None-Match"] = headers["etag"]
            if headers.get("last-modified"):
                conditional["If-Modified-Since"] = headers["last-modified"]
        current = url
        redirects: list[str] = []
        try:
            for _ in range(self.settings.max_redirects + 1):
                if self.settings.respect_robots and not self.robots_for(current).allowed(current):
                    return PageResult(
                        url, "robots", final_url=current, detail=f"robots.txt disallows {current}"
                    )
                response = self.fetcher.request_with_retries(current, conditional, self.accept_body)
                location = response.header("location")
                if response.status in REDIRECT_STATUSES and location:
                    redirects.append(current)
                    current = normalise_url(urljoin(current, location))
                    if current in redirects:
                        return PageResult(
                            url, "failed", reason="redirect_loop", detail=f"redirect loop at {current}"
                        )
                    continue
                break
            else:
                return PageResult(
                    url,
                    "failed",
                    reason="too_many_redirects",
                    detail=f"more than {self.settings.max_redirects}",
                )
        except FetchError as exc:
            outcome = "content_type" if exc.kind == "content_type" else "failed"
            return PageResult(url, outcome, final_url=current, reason=exc.kind, detail=str(exc))
        except ValueError as exc:  # a redirect to a non-http(s) or malformed URL
            return PageResult(url, "failed", final_url=current, reason="bad_redirect", detail=str(exc))

        if response.status == 304 and previous:
            sidecar_path = previous[0].with_name(previous[0].name + ".json")
            write_atomic(sidecar_path, _json_bytes({**previous[1], "checked_at": utc_now()}))
            return PageResult(url, "not_modified", final_url=current, status=304, path=previous[0])
        if not 200 <= response.status < 300:
            detail = f"HTTP {response.status} {response.reason}".strip()
            return PageResult(
                url,
                "failed",
                final_url=current,
                status=response.status,
                reason=f"http_{response.status}",
                detail=detail,
            )
        fetched_at = utc_now()
        path = self.save(url, response, redirects, fetched_at)
        if self.warc is not None:
            self.warc.write_response(response, fetched_at)
        return PageResult(url, "fetched", final_url=current, status=response.status, path=path)

    def _scrape_host(self, urls: list[tuple[int, str]]) -> list[tuple[int, PageResult]]:
        done = []
        for index, url in urls:
            result = self.scrape_one(url)
            with self._lock:
                self._done += 1
                shown = result.outcome if not result.detail else f"{result.outcome}: {result.detail}"
                self.progress(f"[{self._done}/{self._total}] {url} -> {shown}")
            done.append((index, result))
        return done

    def scrape(self, urls: Iterable[str]) -> ScrapeSummary:
        """Fetch every URL (normalised, de-duplicated); hosts in parallel, each host in order."""
        started = time.monotonic()
        unique, invalid, duplicates = dedupe_urls(urls)
        by_host: dict[str, list[tuple[int, str]]] = {}
        for index, url in enumerate(unique):
            by_host.setdefault(host_key(url), []).append((index, url))
        self._total, self._done = len(unique), 0
        results: dict[int, PageResult] = {}
        workers = max(1, min(self.settings.max_workers, len(by_host)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done in pool.map(self._scrape_host, by_host.values()):
                results.update(done)
        ordered = [PageResult(raw, "failed", reason="bad_url", detail=reason) for raw, reason in invalid]
        ordered += [results[i] for i in range(len(unique))]
        return ScrapeSummary(ordered, duplicates=duplicates, seconds=time.monotonic() - started)


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def scrape(
    urls: Iterable[str],
    settings: ScrapeSettings,
    out_dir: Path | None = None,
    warc_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScrapeSummary:
    """Scrape ``urls`` into ``out_dir`` (default ``raw/<host>``), optionally also into a WARC file."""
    warc = WarcSink(Path(warc_path)) if warc_path is not None else None
    try:
        return Scraper(settings, out_dir, warc, progress).scrape(urls)
    finally:
        if warc is not None:
            warc.close()
