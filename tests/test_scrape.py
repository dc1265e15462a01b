"""Scraper tests against a real HTTP server on 127.0.0.1 (see tests/loopback.py): every politeness,
safety and provenance behaviour, and scrape -> run end to end."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import json
import re
import socket
from pathlib import Path

import pytest

from abstractpipe.cli import main
from abstractpipe.config import ConfigError, load_config
from abstractpipe.ingest import IngestStep, discover_inputs, make_id
from abstractpipe.scrape import (
    RobotsRules,
    ScrapeSettings,
    dedupe_urls,
    normalise_url,
    page_stem,
    parse_retry_after,
    scrape,
    settings_from_config,
)
from tests.loopback import GBK_PAGE, GBK_TEXT, LoopbackSite, Reply, read_records, serve

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "configs" / "default.yaml"

# Fast and loopback-friendly; everything else as shipped.
FAST = ScrapeSettings(
    user_agent="abstractpipe-test/1.0 (+tests)",
    min_interval=0.05,
    connect_timeout=1.0,
    read_timeout=0.3,
    max_page_seconds=5.0,
    max_bytes=20_000,
    retries=2,
    backoff_base=0.05,
    backoff_max=0.2,
    max_retry_after=5.0,
    allow_private_addresses=True,
)


def settings(**changes: object) -> ScrapeSettings:
    return dataclasses.replace(FAST, **changes)


def sidecar_of(page: Path) -> dict:
    return json.loads(page.with_name(page.name + ".json").read_text(encoding="utf-8"))


@pytest.fixture
def site() -> LoopbackSite:
    return LoopbackSite()


@pytest.fixture
def base(site: LoopbackSite):
    with serve(site) as url:
        yield url


# --- URLs and robots rules (no network) ---------------------------------------------------------


def test_normalise_url() -> None:
    assert normalise_url("HTTP://Example.ORG:80/a/./b/../c?x=1&a=2#frag") == "http://example.org/a/c?x=1&a=2"
    assert normalise_url("https://example.org:443") == "https://example.org/"
    assert (
        normalise_url("https://example.org:8443/%7euser/%e4%b8%ad")
        == "https://example.org:8443/~user/%E4%B8%AD"
    )
    assert normalise_url("https://例子.中国/论文") == "https://xn--fsqu00a.xn--fiqs8s/%E8%AE%BA%E6%96%87"
    for bad in (
        "ftp://example.org/x",
        "file:///etc/passwd",
        "/relative/path",
        "mailto:a@b.c",
        "http:///nohost",
    ):
        with pytest.raises(ValueError):
            normalise_url(bad)


def test_dedupe_urls_normalises_and_reports_invalid() -> None:
    unique, invalid, duplicates = dedupe_urls(
        [
            "https://example.org/a",
            "https://EXAMPLE.org:443/a#top",
            "# a comment line",
            "",
            "ftp://example.org/b",
            "https://example.org/b",
        ]
    )
    assert unique == ["https://example.org/a", "https://example.org/b"]
    assert duplicates == 1
    assert [url for url, _ in invalid] == ["ftp://example.org/b"]


def test_robots_rules_follow_rfc_9309() -> None:
    text = """
User-agent: Googlebot
Disallow: /

User-agent: abstractpipe
User-agent: other
Disallow: /articles/
Allow: /articles/*/abstract$
Disallow: /*.pdf$
Allow: /search
Disallow: /search?q=
Crawl-delay: 2.5

User-agent: *
Disallow: /
"""
    rules = RobotsRules.parse(text, "abstractpipe")
    assert rules.crawl_delay == 2.5
    assert rules.allowed("https://x.org/")
    assert not rules.allowed("https://x.org/articles/123")
    assert rules.allowed("https://x.org/articles/123/abstract")  # longer allow wins
    assert not rules.allowed("https://x.org/articles/123/abstract/full")  # $ anchors
    assert not rules.allowed("https://x.org/files/a.pdf")
    assert rules.allowed("https://x.org/files/a.pdf?download=1")
    assert not rules.allowed("https://x.org/search?q=heart")  # the query is matched too
    assert rules.allowed("https://x.org/robots.txt")
    # A token no group names gets the "*" group; an empty file allows everything.
    assert not RobotsRules.parse(text, "somebot").allowed("https://x.org/page")
    assert RobotsRules.parse("", "abstractpipe").allowed("https://x.org/page")
    # On equal length, allow wins.
    assert RobotsRules.parse("User-agent: *\nDisallow: /a\nAllow: /a\n", "x").allowed("https://x.org/a")


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_settings_come_from_the_rule_file_and_overrides() -> None:
    shipped = settings_from_config(load_config(DEFAULT_CONFIG))
    assert shipped.min_interval == 1.0  # at most one request a second per host by default
    assert shipped.allow_private_addresses is False
    assert shipped.robots_token == "abstractpipe"
    changed = settings_from_config(load_config(DEFAULT_CONFIG, ["scrape.min_interval=0.05"]))
    assert changed.min_interval == 0.05
    with pytest.raises(ConfigError, match="unknown scrape settings: speed"):
        settings_from_config(load_config(DEFAULT_CONFIG, ["scrape.speed=9"]))


# --- fetching and saving ------------------------------------------------------------------------


def test_page_saved_with_body_and_sidecar(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    summary = scrape([f"{base}/page/a"], FAST, tmp_path)
    [result] = summary.results
    assert result.outcome == "fetched", result
    page = tmp_path / f"{page_stem(base + '/page/a')}.html"
    assert result.path == page
    body = page.read_bytes()
    assert b"Text of page a." in body
    sidecar = sidecar_of(page)
    assert sidecar["url"] == sidecar["final_url"] == f"{base}/page/a"
    assert sidecar["status"] == 200
    assert sidecar["sha256"] == hashlib.sha256(body).hexdigest()
    assert sidecar["headers"]["content-type"] == "text/html; charset=utf-8"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sidecar["fetched_at"])
    [request] = site.requests_for("/page/a")
    assert request.headers["user-agent"] == FAST.user_agent


def test_robots_txt_honoured_and_fetched_once_per_host(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    urls = [f"{base}/page/a", f"{base}/private/secret", f"{base}/private/open", f"{base}/page/b"]
    summary = scrape(urls, FAST, tmp_path)
    assert [r.outcome for r in summary.results] == ["fetched", "robots", "fetched", "fetched"]
    assert not site.requests_for("/private/secret")
    assert len(site.requests_for("/robots.txt")) == 1
    assert summary.count("robots") == 1
    assert any(line.startswith("skipped by robots:    1") for line in summary.lines())
    # Another product token falls under "User-agent: *  Disallow: /".
    other = scrape([f"{base}/page/c"], settings(user_agent="otherbot/2.0"), tmp_path)
    assert other.results[0].outcome == "robots"
    assert not site.requests_for("/page/c")
    # Robots can be switched off (a site's owner asked us to mirror it).
    assert (
        scrape([f"{base}/private/secret"], settings(respect_robots=False), tmp_path).results[0].outcome
        == "fetched"
    )


def test_unreachable_robots_txt_means_disallow_all(tmp_path: Path) -> None:
    site = LoopbackSite(robots=None)
    site.route("/robots.txt", Reply(status=500, body=b"", headers={"Content-Type": "text/plain"}))
    with serve(site) as base:
        summary = scrape([f"{base}/page/a"], settings(retries=1), tmp_path)
    assert summary.results[0].outcome == "robots"
    assert not site.requests_for("/page/a")
    assert len(site.requests_for("/robots.txt")) == 2  # retried like any 5xx


def test_missing_robots_txt_allows_everything(tmp_path: Path) -> None:
    site = LoopbackSite(robots=None)  # /robots.txt is a 404
    with serve(site) as base:
        assert scrape([f"{base}/private/secret"], FAST, tmp_path).results[0].outcome == "fetched"


def test_redirect_followed_and_recorded(base: str, tmp_path: Path) -> None:
    [result] = scrape([f"{base}/old"], FAST, tmp_path).results
    assert result.outcome == "fetched"
    assert result.final_url == f"{base}/new"
    sidecar = sidecar_of(result.path)
    assert (sidecar["url"], sidecar["final_url"], sidecar["redirects"]) == (
        f"{base}/old",
        f"{base}/new",
        [f"{base}/old"],
    )
    # The page's record takes the URL the bytes came from (what a WARC files them under).
    [doc] = discover_inputs(tmp_path)
    assert doc.source.url == f"{base}/new"
    assert doc.id == make_id(f"{base}/new", "")


def test_redirect_into_a_disallowed_path_and_redirect_loops(
    site: LoopbackSite, base: str, tmp_path: Path
) -> None:
    summary = scrape([f"{base}/to-private", f"{base}/loop"], FAST, tmp_path)
    assert [r.outcome for r in summary.results] == ["robots", "failed"]
    assert not site.requests_for("/private/secret")
    assert summary.results[1].reason == "redirect_loop"


def test_rate_limit_per_host(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    scrape([f"{base}/page/{n}" for n in "abcd"], settings(min_interval=0.2), tmp_path)
    times = [s.at for s in site.seen]
    assert site.seen[0].path == "/robots.txt"  # robots.txt counts as a request too
    assert len(times) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.18, gaps


def test_crawl_delay_lengthens_the_interval(tmp_path: Path) -> None:
    site = LoopbackSite(robots="User-agent: *\nCrawl-delay: 0.3\n")
    with serve(site) as base:
        scrape([f"{base}/page/a", f"{base}/page/b"], settings(min_interval=0.01), tmp_path)
    first, second = (site.requests_for(p)[0].at for p in ("/page/a", "/page/b"))
    assert second - first >= 0.28


def test_hosts_are_fetched_in_parallel(tmp_path: Path) -> None:
    one, two = LoopbackSite(), LoopbackSite()
    slow = settings(min_interval=0.15)
    with serve(one) as first, serve(two) as second:
        urls = [f"{first}/page/{n}" for n in "abc"] + [f"{second}/page/{n}" for n in "abc"]
        summary = scrape(urls, slow, tmp_path)
        assert summary.count("fetched") == 6
        # Order, not wall-clock time (the machine is shared): the second host started
        # before the first, rate-limited to 0.15 s a request, had finished.
        assert two.seen[0].at < one.seen[-1].at
        # With one worker the hosts are taken one after the other.
        one.seen.clear()
        two.seen.clear()
        scrape(urls, dataclasses.replace(slow, max_workers=1), tmp_path / "serial")
        assert two.seen[0].at > one.seen[-1].at


def test_429_waits_for_retry_after(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    [result] = scrape([f"{base}/busy"], FAST, tmp_path).results
    assert result.outcome == "fetched"
    first, second = site.requests_for("/busy")
    assert second.at - first.at >= 0.95  # Retry-After: 1, not the 0.05 s backoff


def test_retry_after_longer_than_the_cap_fails(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    [result] = scrape([f"{base}/busy"], settings(max_retry_after=0.5), tmp_path).results
    assert result.outcome == "failed"
    assert result.reason == "http_429"
    assert "max_retry_after" in result.detail
    assert len(site.requests_for("/busy")) == 1


def test_500_then_success_is_retried(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    [result] = scrape([f"{base}/flaky"], FAST, tmp_path).results
    assert result.outcome == "fetched"
    first, second = site.requests_for("/flaky")
    assert second.at - first.at >= 0.045  # backoff_base


def test_persistent_5xx_fails_after_retries_with_reason(
    site: LoopbackSite, base: str, tmp_path: Path
) -> None:
    summary = scrape([f"{base}/down", f"{base}/gone", f"{base}/page/a"], FAST, tmp_path)
    down, gone, fine = summary.results
    assert (down.outcome, down.reason) == ("failed", "http_503")
    assert "after 3 attempts" in down.detail
    assert len(site.requests_for("/down")) == 3  # first try + retries=2
    gaps = [
        b.at - a.at for a, b in zip(site.requests_for("/down"), site.requests_for("/down")[1:], strict=False)
    ]
    assert gaps[1] > gaps[0]  # exponential backoff
    assert (gone.outcome, gone.reason) == ("failed", "http_404")
    assert len(site.requests_for("/gone")) == 1  # a 404 is not retried
    assert fine.outcome == "fetched"
    lines = summary.lines()
    assert "failed:               2" in lines
    assert "  http_503: 1" in lines
    assert any(line.startswith(f"  {base}/down: HTTP 503") for line in lines)


def test_slow_endpoint_times_out_unless_the_timeout_allows(
    site: LoopbackSite, base: str, tmp_path: Path
) -> None:
    [result] = scrape([f"{base}/slow"], settings(read_timeout=0.2, retries=1), tmp_path).results
    assert (result.outcome, result.reason) == ("failed", "timeout")
    assert len(site.requests_for("/slow")) == 2  # timeouts are retried
    [result] = scrape([f"{base}/slow"], settings(read_timeout=2.0), tmp_path).results
    assert result.outcome == "fetched"


def test_connection_refused_is_retried_and_reported(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [result] = scrape(
        [f"http://127.0.0.1:{port}/x"], settings(respect_robots=False, retries=1), tmp_path
    ).results
    assert (result.outcome, result.reason) == ("failed", "connection")
    assert "after 2 attempts" in result.detail


def test_gbk_page_keeps_its_bytes_and_decodes_by_the_http_charset(base: str, tmp_path: Path) -> None:
    [result] = scrape([f"{base}/gbk"], FAST, tmp_path).results
    assert result.path.read_bytes() == GBK_PAGE
    step = IngestStep(load_config(DEFAULT_CONFIG))
    [doc] = step(discover_inputs(tmp_path))
    assert doc.failure is None
    assert doc.source.encoding == "gb18030"  # the GBK label, read as its superset
    assert step.counters["encoding_from:http-declared"] == 1
    assert GBK_TEXT in doc.markup


def test_huge_body_refused(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    summary = scrape([f"{base}/huge", f"{base}/huge-unsized"], FAST, tmp_path)
    assert [(r.outcome, r.reason) for r in summary.results] == [
        ("failed", "too_large"),
        ("failed", "too_large"),
    ]
    assert "max_bytes 20000" in summary.results[0].detail
    assert not list(tmp_path.iterdir())
    assert len(site.requests_for("/huge")) == 1  # not retried


def test_content_type_filter(base: str, tmp_path: Path) -> None:
    summary = scrape([f"{base}/image.png", f"{base}/notes.txt"], FAST, tmp_path)
    image, notes = summary.results
    assert (image.outcome, image.reason) == ("content_type", "content_type")
    assert "image/png" in image.detail
    assert notes.outcome == "fetched"
    assert notes.path.suffix == ".txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == [notes.path.name, notes.path.name + ".json"]


def test_transfer_gzip_is_decoded_before_saving(base: str, tmp_path: Path) -> None:
    [result] = scrape([f"{base}/gzipped"], FAST, tmp_path).results
    assert b"compressed in transit" in result.path.read_bytes()
    assert "content-encoding" not in sidecar_of(result.path)["headers"]


@pytest.mark.parametrize(("path", "header"), [("/etag", "if-none-match"), ("/dated", "if-modified-since")])
def test_rescrape_sends_validators_and_304_keeps_the_page(
    site: LoopbackSite, base: str, tmp_path: Path, path: str, header: str
) -> None:
    [first] = scrape([base + path], FAST, tmp_path).results
    assert first.outcome == "fetched"
    body, sidecar = first.path.read_bytes(), sidecar_of(first.path)
    [second] = scrape([base + path], FAST, tmp_path).results
    assert second.outcome == "not_modified"
    assert second.path == first.path
    assert header not in site.requests_for(path)[0].headers
    assert header in site.requests_for(path)[1].headers
    assert first.path.read_bytes() == body
    again = sidecar_of(first.path)
    assert again["fetched_at"] == sidecar["fetched_at"]  # the record does not change
    assert "checked_at" in again


def test_only_http_and_no_private_addresses_by_default(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    summary = scrape(
        ["ftp://127.0.0.1/x", f"{base}/page/a"], settings(allow_private_addresses=False), tmp_path
    )
    bad, private = summary.results
    assert (bad.outcome, bad.reason) == ("failed", "bad_url")
    assert (private.outcome, private.reason) == ("failed", "private_address")
    assert "127.0.0.1" in private.detail
    assert not site.seen  # not even robots.txt was asked for
    localhost = scrape(
        [base.replace("127.0.0.1", "localhost") + "/page/a"],
        settings(allow_private_addresses=False),
        tmp_path,
    )
    assert localhost.results[0].reason == "private_address"


def test_redirect_to_another_scheme_fails(site: LoopbackSite, base: str, tmp_path: Path) -> None:
    site.route("/to-ftp", Reply(status=302, headers={"Location": "ftp://127.0.0.1/file"}))
    [result] = scrape([f"{base}/to-ftp"], FAST, tmp_path).results
    assert (result.outcome, result.reason) == ("failed", "bad_redirect")


def test_default_out_folder_is_the_host(base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    [result] = scrape([f"{base}/page/a"], FAST).results
    port = base.rsplit(":", 1)[1]
    assert result.path.parent == Path("raw") / f"127.0.0.1_{port}"


def test_warc_output_holds_the_fetched_responses(base: str, tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    warc = tmp_path / "crawl.warc.gz"
    scrape([f"{base}/page/a", f"{base}/old", f"{base}/etag"], FAST, tmp_path / "raw", warc)
    with warc.open("rb") as stream:
        records = [
            (
                r.rec_headers.get_header("WARC-Target-URI"),
                r.rec_headers.get_header("WARC-Date"),
                r.content_stream().read(),
            )
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        ]
    assert sorted(uri for uri, _, _ in records) == sorted([f"{base}/page/a", f"{base}/new", f"{base}/etag"])
    for uri, date, payload in records:
        page = next(
            p
            for p in (tmp_path / "raw").iterdir()
            if p.suffix == ".html" and sidecar_of(p)["final_url"] == uri
        )
        assert payload == page.read_bytes()
        assert date == sidecar_of(page)["fetched_at"]
    with gzip.open(warc) as whole:  # gzip per record: the file is a valid multi-member gzip
        assert whole.read().count(b"WARC/1.0\r\n") == 3


# --- the command line, scrape -> run -------------------------------------------------------------


def test_cli_scrape_then_run_gives_records_with_url_provenance(
    site: LoopbackSite, base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = (REPO / "raw" / "journal.example.org" / "jcim-2025-0418.html").read_bytes()
    site.route("/articles/0418", Reply(body=article))
    url_file = tmp_path / "urls.txt"
    url_file.write_text(
        f"# articles\n{base}/articles/0418\n{base}/private/secret\n{base}/down\n", encoding="utf-8"
    )
    raw = tmp_path / "raw"
    overrides = ["--set", "scrape.allow_private_addresses=true", "--set", "scrape.min_interval=0.01"]
    overrides += ["--set", "scrape.retries=0", "--set", "scrape.user_agent=abstractpipe-test/1.0"]
    code = main(
        [
            "scrape",
            "--urls",
            str(url_file),
            "--out",
            str(raw / "journal"),
            "--config",
            str(DEFAULT_CONFIG),
            *overrides,
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # /down failed
    assert "fetched:              1" in captured.out
    assert "skipped by robots:    1" in captured.out
    assert "[3/3]" in captured.err  # progress

    out = tmp_path / "processed"
    assert main(["run", str(DEFAULT_CONFIG), "--raw", str(raw), "--out", str(out)]) == 0
    [record] = read_records(out)
    sidecar = sidecar_of(next((raw / "journal").glob("*.html")))
    assert record["id"] == make_id(f"{base}/articles/0418", "")
    assert record["source"]["url"] == f"{base}/articles/0418"
    assert record["source"]["site"] == "127.0.0.1"
    assert record["source"]["fetched_at"] == sidecar["fetched_at"]
    assert record["source"]["sha256"] == hashlib.sha256(article).hexdigest()
    assert record["sections"]["en"]


def test_cli_without_urls_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scrape"]) == 2
    assert "no URLs given" in capsys.readouterr().err
