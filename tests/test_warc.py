"""Web archives: WARC and WET files (gzip per record or plain) read in place, one Document per page
record; a scraped page and the same page read from a WARC give the same record."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import random
import tracemalloc
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from abstractpipe.cli import main
from abstractpipe.config import load_config
from abstractpipe.ingest import IngestStep, discover_inputs, document_for_file, make_id
from abstractpipe.scrape import ScrapeSettings, scrape
from tests.loopback import GBK_PAGE, GBK_TEXT, LoopbackSite, Reply, read_records, serve

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "configs" / "default.yaml"
ARTICLE = (REPO / "raw" / "journal.example.org" / "jcim-2025-0418.html").read_bytes()
DATE = "2026-11-01T10:00:00Z"


def chunked(data: bytes, size: int = 1000) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


class Archive:
    """Writes a WARC the way crawlers do: warcinfo, request/response pairs, redirects, media, revisits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = path.open("wb")
        self.writer = WARCWriter(self.handle, gzip=path.name.endswith(".gz"))

    def response(self, uri: str, body: bytes, headers: list[tuple[str, str]], status: str = "200 OK") -> None:
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": DATE},
        )
        self.writer.write_record(record)

    def other(self, uri: str, record_type: str, payload: bytes, content_type: str) -> None:
        record = self.writer.create_warc_record(
            uri,
            record_type,
            payload=BytesIO(payload),
            length=len(payload),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": DATE},
        )
        self.writer.write_record(record)

    def close(self) -> None:
        self.handle.close()


def html_headers(charset: str = "utf-8") -> list[tuple[str, str]]:
    return [("Content-Type", f"text/html; charset={charset}")]


def write_crawl(path: Path) -> None:
    archive = Archive(path)
    archive.writer.write_record(archive.writer.create_warcinfo_record(path.name, {"software": "test"}))
    archive.other(
        "https://journal.example.org/a/1",
        "request",
        b"GET /a/1 HTTP/1.1\r\nHost: journal.example.org\r\n\r\n",
        "application/http; msgtype=request",
    )
    archive.response("https://journal.example.org/a/1", ARTICLE, html_headers())
    archive.response(
        "https://journal.example.org/old", b"", [("Location", "/a/1")], status="301 Moved Permanently"
    )
    archive.response(
        "https://journal.example.org/logo.png", b"\x89PNG" + bytes(100), [("Content-Type", "image/png")]
    )
    archive.response(
        "https://journal.example.org/missing", b"<p>404</p>", html_headers(), status="404 Not Found"
    )
    # Chunked transfer and gzip content encoding, as captured from the wire.
    gbk_wire = chunked(gzip.compress(GBK_PAGE, mtime=0), 50)
    archive.response(
        "https://cn.example.cn/gbk",
        gbk_wire,
        [
            ("Content-Type", "text/html; charset=GBK"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Encoding", "gzip"),
        ],
    )
    archive.other(
        "https://journal.example.org/a/1", "metadata", b"fetchTimeMs: 12\r\n", "application/warc-fields"
    )
    archive.response(
        "https://journal.example.org/notes.txt", b"Plain notes.\n", [("Content-Type", "text/plain")]
    )
    archive.close()


@pytest.fixture(scope="module")
def step() -> IngestStep:
    return IngestStep(load_config(DEFAULT_CONFIG))


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_warc_page_records_become_documents(step: IngestStep, tmp_path: Path, name: str) -> None:
    (tmp_path / "crawls").mkdir()
    write_crawl(tmp_path / "crawls" / name)
    docs = discover_inputs(tmp_path)
    assert [d.source.url for d in docs] == [
        "https://journal.example.org/a/1",
        "https://cn.example.cn/gbk",
        "https://journal.example.org/notes.txt",
    ]  # requests, redirects, images, errors, warcinfo and metadata are not pages
    offsets = [int(d.source.path.rpartition("#")[2]) for d in docs]
    assert offsets == sorted(offsets) and offsets[0] > 0  # the warcinfo record comes first
    assert all(d.source.path.startswith(f"crawls/{name}#") for d in docs)
    assert [d.source.site for d in docs] == ["journal.example.org", "cn.example.cn", "journal.example.org"]
    assert all(d.source.fetched_at == DATE for d in docs)
    assert docs[0].id == make_id("https://journal.example.org/a/1", "")
    assert all(not d.raw for d in docs)  # discovery reads headers only

    article, gbk, notes = step(docs)
    assert article.failure is None
    assert article.raw == ARTICLE
    assert article.source.sha256 == hashlib.sha256(ARTICLE).hexdigest()
    assert (article.source.format, article.source.encoding) == ("html", "utf-8")
    assert gbk.failure is None, gbk.failure
    assert gbk.raw == GBK_PAGE  # de-chunked and un-gzipped
    assert (gbk.source.format, gbk.source.encoding) == ("html", "gb18030")
    assert GBK_TEXT in gbk.markup
    assert (notes.source.format, notes.markup) == ("text", "Plain notes.\n")


def test_wet_conversion_records(step: IngestStep, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "CC-MAIN-2026-00001.warc.wet.gz")
    archive.writer.write_record(archive.writer.create_warcinfo_record("x.wet.gz", {"software": "test"}))
    text = "Objective: to test WET ingestion.\n目的：测试。\n"
    archive.other("https://example.org/paper", "conversion", text.encode(), "text/plain")
    archive.close()
    [doc] = step(discover_inputs(tmp_path))
    assert doc.failure is None
    assert doc.source.url == "https://example.org/paper"
    assert (doc.source.format, doc.source.encoding) == ("text", "utf-8")
    assert doc.markup == text


def test_damaged_archive_keeps_earlier_records_and_quarantines_the_rest(
    step: IngestStep, tmp_path: Path
) -> None:
    path = tmp_path / "crawl.warc.gz"
    write_crawl(path)
    data = path.read_bytes()
    path.write_bytes(data + b"WARC/1.0\r\nnot a real header block\r\n\r\n")
    *pages, broken = step(discover_inputs(tmp_path))
    assert len(pages) == 3 and all(p.failure is None for p in pages)
    assert broken.source.path == "crawl.warc.gz"
    assert broken.failure is not None and broken.failure.stage == "ingest"
    assert "damaged web archive after 3 page records" in broken.failure.error
    assert step.counters["rejected:corrupt_warc"] >= 1


def test_bad_offset_fails_with_reason(step: IngestStep, tmp_path: Path) -> None:
    write_crawl(tmp_path / "crawl.warc")
    doc = discover_inputs(tmp_path)[0]
    doc.source.path = doc.source.path.rpartition("#")[0] + "#7"  # not the start of a record
    [doc] = step([doc])
    assert doc.failure is not None
    assert "cannot read web archive record" in doc.failure.error


def test_discovery_streams_without_holding_payloads(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "big.warc.gz")
    # ~6 MB that gzip cannot shrink much (a repeated phrase would inflate from one read buffer).
    payload = b"<p>" + random.Random(0).randbytes(3_000_000).hex().encode() + b"</p>"
    archive.response("https://example.org/big", payload, html_headers())
    archive.response("https://example.org/small", b"<p>small</p>", html_headers())
    archive.close()
    tracemalloc.start()
    try:
        docs = discover_inputs(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.source.url for d in docs] == ["https://example.org/big", "https://example.org/small"]
    assert peak < len(payload) // 4, peak


def pipeline_records(raw: Path, out: Path) -> list[dict]:
    assert main(["run", str(DEFAULT_CONFIG), "--raw", str(raw), "--out", str(out)]) == 0
    return read_records(out)


def test_scraped_page_and_warc_copy_give_the_same_record(tmp_path: Path) -> None:
    site = LoopbackSite()
    site.route("/articles/0418", Reply(body=ARTICLE))
    site.route("/moved", Reply(status=301, headers={"Location": "/articles/0418"}))
    site.route("/cn", Reply(body=GBK_PAGE, headers={"Content-Type": "text/html; charset=gbk"}))
    settings = dataclasses.replace(
        ScrapeSettings(), user_agent="abstractpipe-test/1.0", min_interval=0.01, allow_private_addresses=True
    )
    with serve(site) as base:
        summary = scrape(
            [f"{base}/moved", f"{base}/cn"],
            settings,
            tmp_path / "scraped" / "site",
            tmp_path / "archive" / "crawl.warc.gz",
        )
    assert summary.count("fetched") == 2

    scraped = pipeline_records(tmp_path / "scraped", tmp_path / "out-scraped")
    archived = pipeline_records(tmp_path / "archive", tmp_path / "out-archive")
    assert len(scraped) == len(archived) == 2
    for from_page, from_warc in zip(
        sorted(scraped, key=lambda r: r["id"]), sorted(archived, key=lambda r: r["id"]), strict=True
    ):
        assert from_page["source"]["path"].startswith("site/")
        assert from_warc["source"]["path"].startswith("crawl.warc.gz#")
        from_page["source"].pop("path")
        from_warc["source"].pop("path")
        assert from_page == from_warc  # only source.path differs
    urls = {r["source"]["url"] for r in scraped}
    assert urls == {f"{base}/articles/0418", f"{base}/cn"}  # the redirect target, as the WARC files it
    article = next(r for r in scraped if r["source"]["url"].endswith("0418"))
    assert article["sections"]["en"]


def test_a_record_path_rebuilds_its_document(tmp_path: Path) -> None:
    # Runners rebuild Documents from source.path alone (sharded runs): "<archive>#<offset>" must work.
    write_crawl(tmp_path / "crawl.warc.gz")
    for doc in discover_inputs(tmp_path):
        again = document_for_file(tmp_path / doc.source.path, tmp_path)
        assert (again.id, again.source) == (doc.id, doc.source)
    missing = document_for_file(tmp_path / "crawl.warc.gz#3", tmp_path)
    assert [w["code"] for w in missing.warnings] == ["corrupt_warc"]


def test_archive_records_are_planned_through_their_archive(tmp_path: Path) -> None:
    from abstractpipe.shards import plan_shards

    raw = tmp_path / "raw"
    raw.mkdir()
    write_crawl(raw / "crawl.warc.gz")
    plans, files = plan_shards(raw, 4, {}, tmp_path / "plan")
    pages = [page for plan in plans for page in plan.pages]
    assert len(pages) >= 2 and all("#" in page.path for page in pages)
    assert list(files) == ["crawl.warc.gz"]  # one stamp and one hash for the whole archive
    assert len({page.sha256 for page in pages}) == len(pages)  # yet each record has its own content key
    again, _ = plan_shards(raw, 4, files, tmp_path / "plan")
    assert [p.sha256 for plan in again for p in plan.pages] == [p.sha256 for p in pages]


def test_page_identities_are_those_of_the_documents(tmp_path: Path) -> None:
    # Planning reads (id, path, site) without building Documents: the same, in the same order.
    from abstractpipe.ingest import iter_inputs, iter_page_identities

    raw = tmp_path / "raw"
    (raw / "site.example" / "deep").mkdir(parents=True)
    write_crawl(raw / "crawl.warc.gz")
    damaged = (raw / "crawl.warc.gz").read_bytes()
    (raw / "site.example" / "broken.warc.gz").write_bytes(damaged[: len(damaged) // 2])
    (raw / "site.example" / "a.html").write_text("<p>x</p>", encoding="utf-8")
    (raw / "site.example" / "a.html.json").write_text('{"url": "https://moved.example/a"}', encoding="utf-8")
    (raw / "site.example" / "b.html").write_text("<p>x</p>", encoding="utf-8")
    (raw / "site.example" / "b.html.json").write_text('{"final_url": "https://final.example/b"}', "utf-8")
    (raw / "site.example" / "deep" / "c.txt").write_text("text", encoding="utf-8")
    (raw / "site.example" / "deep" / "c.txt.json").write_text("{not json", encoding="utf-8")
    (raw / "site.example" / "d.txt.json").mkdir()  # a folder where a sidecar would be
    (raw / "site.example" / "d.txt").write_text("text", encoding="utf-8")
    (raw / "plain.txt").write_text("text", encoding="utf-8")
    (raw / "odd name #1.txt").write_text("text", encoding="utf-8")
    (raw / "named crawl.warc.gz#5").write_text("not an archive record", encoding="utf-8")
    (raw / "back\\slash.txt").write_text("text", encoding="utf-8")
    expected = [(doc.id, doc.source.path, doc.source.site) for doc in iter_inputs(raw)]
    assert list(iter_page_identities(raw)) == expected
    sites = {site for _, _, site in expected}
    assert {"moved.example", "final.example", "journal.example.org", "site.example/deep", "."} <= sites
    assert sum("#" in path for _, path, _ in expected) >= 4  # records of both archives
