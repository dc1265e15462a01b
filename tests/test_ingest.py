"""Tests for the ingest stage: discovery, sidecars and ids, reading, rejection and decoding."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from abstractpipe.config import Config, load_config
from abstractpipe.document import Document
from abstractpipe.ingest import IngestStep, discover_inputs, document_for_file, make_id, site_of

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "configs" / "default.yaml"
RAW = REPO / "raw"

# Chinese abstract text with the author's full-width punctuation (，：；（）【】 and full-width digits).
ZH_SIMPLIFIED = (
    "【目的】探讨血清尿酸水平与糖尿病肾病的关系。【方法】共１０７６例患者纳入分析（多中心）；"
    "【结果】OR=6.77，95%CI(4.39,10.43)，P<0.05。【结论】高尿酸血症可能是危险因素。"
)
ZH_TRADITIONAL = (
    "背景：手部功能的恢復是頸髓損傷患者最優先的需求。方法：採用隨機對照試驗，共納入六十四例患者。"
    "結果：兩組評分差異具有統計學意義（P＝0.001）。結論：經皮脊髓電刺激可改善手部功能。"
)
EN_CP1252 = (
    "The “primary” outcome was met in 58 patients’ records (café-au-lait naïve cohort); "
    "mean age 81.6 ± 6.9 years, HR 0.72 (95% CI 0.55–0.94), I² = 14% — vitamin D 20 µg daily."
)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(DEFAULT_CONFIG)


@pytest.fixture(scope="module")
def step(config: Config) -> IngestStep:
    return IngestStep(config)


def write(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ingest(step: IngestStep, path: Path, root: Path) -> Document:
    """Run one file through the step as the pipeline does (failures are caught, not raised)."""
    [doc] = list(step([document_for_file(path, root)]))
    return doc


def html_page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html>\n<html>\n<head>{head}<title>Test page</title></head>\n<body>{body}</body>\n</html>\n"


def assert_failed(doc: Document, reason: str) -> None:
    assert doc.failure is not None, "expected the ingest step to fail this file"
    assert doc.failure.stage == "ingest"
    assert reason in doc.failure.error


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom_codec", "expected"),
    [("utf-8-sig", "utf-8"), ("utf-16", "utf-16-le"), ("utf-32", "utf-32-le")],
)
def test_bom_decides_encoding_and_is_stripped(
    step: IngestStep, tmp_path: Path, bom_codec: str, expected: str
) -> None:
    # A BOM wins over a contradicting declaration; UTF-16/32 NUL bytes are not "binary".
    page = html_page(f"<p>{ZH_SIMPLIFIED}</p>", head='<meta charset="gb2312">')
    path = write(tmp_path, "site/page.html", page.encode(bom_codec))
    doc = ingest(step, path, tmp_path)
    assert doc.failure is None
    assert doc.source.encoding == expected
    assert doc.markup.startswith("<!DOCTYPE html>")
    assert ZH_SIMPLIFIED in doc.markup


def test_meta_charset_declaration(step: IngestStep, tmp_path: Path) -> None:
    page = html_page(f"<p>{ZH_TRADITIONAL}</p>", head='<meta charset="Big5">')
    doc = ingest(step, write(tmp_path, "tw/page.html", page.encode("big5")), tmp_path)
    assert doc.failure is None
    assert doc.source.encoding == "big5"
    assert ZH_TRADITIONAL in doc.markup
    assert not doc.warnings


def test_http_equiv_gb2312_is_decoded_as_gb18030(step: IngestStep, tmp_path: Path) -> None:
    head = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    # 镕 is outside GB2312 but in GBK: browsers (and we) decode a "gb2312" page as GB18030.
    text = ZH_SIMPLIFIED + "朱镕基"
    doc = ingest(
        step, write(tmp_path, "cn/page.html", html_page(f"<p>{text}</p>", head).encode("gbk")), tmp_path
    )
    assert doc.failure is None
    assert doc.source.encoding == "gb18030"
    assert text in doc.markup


def test_xml_declaration_encoding(step: IngestStep, tmp_path: Path) -> None:
    page = '<?xml version="1.0" encoding="GBK"?>\n' + html_page(f"<p>{ZH_SIMPLIFIED}</p>")
    doc = ingest(step, write(tmp_path, "cn/page.xhtml", page.encode("gbk")), tmp_path)
    assert doc.source.encoding == "gb18030"
    assert ZH_SIMPLIFIED in doc.markup


def test_latin1_declaration_is_decoded_as_windows_1252(step: IngestStep, tmp_path: Path) -> None:
    head = '<meta http-equiv="content-type" content="text/html;charset=ISO-8859-1">'
    page = html_page(f"<p>{EN_CP1252}</p>", head)
    doc = ingest(step, write(tmp_path, "en/page.html", page.encode("cp1252")), tmp_path)
    assert doc.source.encoding == "cp1252"
    assert "“primary”" in doc.markup  # 0x93/0x94 are curly quotes in cp1252, controls in Latin-1


@pytest.mark.parametrize("extension", [".txt", ".html"])
def test_gbk_detected_without_declaration(step: IngestStep, tmp_path: Path, extension: str) -> None:
    text = ZH_SIMPLIFIED * 3
    content = text if extension == ".txt" else html_page(f"<p>{text}</p>")
    doc = ingest(step, write(tmp_path, f"cn/page{extension}", content.encode("gbk")), tmp_path)
    assert doc.failure is None
    assert doc.source.encoding == "gb18030"
    assert text in doc.markup
    assert step.counters["encoding_from:detected"] >= 1


def test_big5_detected_without_declaration(step: IngestStep, tmp_path: Path) -> None:
    text = ZH_TRADITIONAL * 2
    doc = ingest(step, write(tmp_path, "tw/page.txt", text.encode("big5")), tmp_path)
    assert doc.source.encoding == "big5"
    assert doc.markup == text


def test_windows_1252_detected_without_declaration(step: IngestStep, tmp_path: Path) -> None:
    page = html_page(f"<p>{EN_CP1252}</p><p>Nørgaard and Bélanger, Hôpital Saint-Roch.</p>")
    doc = ingest(step, write(tmp_path, "en/page.html", page.encode("cp1252")), tmp_path)
    assert doc.source.encoding == "cp1252"  # not cp1250, which scores identically
    assert EN_CP1252 in doc.markup
    assert "Nørgaard" in doc.markup


def test_very_short_legacy_text_is_guessed_not_rejected(step: IngestStep, tmp_path: Path) -> None:
    # Too short for the detector to answer: the first candidate that decodes strictly is used.
    doc = ingest(step, write(tmp_path, "en/tiny.txt", "“Yes.”".encode("cp1252")), tmp_path)
    assert doc.failure is None
    assert doc.markup == "“Yes.”"
    assert doc.source.encoding == "cp1252"
    assert [w["code"] for w in doc.warnings] == ["encoding_guess"]


def test_wrong_declaration_falls_through_to_detection_with_warning(step: IngestStep, tmp_path: Path) -> None:
    page = html_page(f"<p>{EN_CP1252}</p>", head='<meta charset="utf-8">')
    doc = ingest(step, write(tmp_path, "en/page.html", page.encode("cp1252")), tmp_path)
    assert doc.failure is None
    assert doc.source.encoding == "cp1252"
    assert EN_CP1252 in doc.markup
    assert [w["code"] for w in doc.warnings] == ["encoding_mismatch"]


def test_utf8_bytes_win_over_stale_legacy_declaration(step: IngestStep, tmp_path: Path) -> None:
    # A scraper re-saved the page as UTF-8 but kept <meta charset=gb2312>.
    head = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    doc = ingest(
        step, write(tmp_path, "cn/page.html", html_page(ZH_SIMPLIFIED, head).encode("utf-8")), tmp_path
    )
    assert doc.source.encoding == "utf-8"
    assert ZH_SIMPLIFIED in doc.markup
    assert [w["code"] for w in doc.warnings] == ["encoding_mismatch"]


def test_unknown_declared_charset_warns_and_falls_through(step: IngestStep, tmp_path: Path) -> None:
    page = html_page("<p>Plain ASCII page.</p>", head='<meta charset="x-made-up-charset">')
    doc = ingest(step, write(tmp_path, "en/page.html", page.encode("ascii")), tmp_path)
    assert doc.source.encoding == "utf-8"
    assert [w["code"] for w in doc.warnings] == ["unknown_charset"]


def test_text_files_ignore_charset_like_content(step: IngestStep, tmp_path: Path) -> None:
    text = 'The page said <meta charset="big5"> but this is a UTF-8 text dump: 背景：测试。\n'
    doc = ingest(step, write(tmp_path, "notes/page.txt", text.encode("utf-8")), tmp_path)
    assert doc.source.format == "text"
    assert doc.source.encoding == "utf-8"
    assert doc.markup == text


# --- normalisation ------------------------------------------------------------------------------


def test_nfc_and_line_endings(step: IngestStep, tmp_path: Path) -> None:
    decomposed = "Caf\u0065\u0301 study\r\nline two\rline three\n"
    doc = ingest(step, write(tmp_path, "en/page.txt", decomposed.encode("utf-8")), tmp_path)
    assert doc.markup == "Café study\nline two\nline three\n"
    assert "\u0301" not in doc.markup


def test_full_width_punctuation_and_digits_preserved(step: IngestStep, tmp_path: Path) -> None:
    doc = ingest(step, write(tmp_path, "cn/page.txt", ZH_SIMPLIFIED.encode("utf-8")), tmp_path)
    for char in "【】，；（）。":
        assert char in doc.markup
    assert "１０７６" in doc.markup  # NFKC would have folded these to ASCII digits
    assert doc.markup == ZH_SIMPLIFIED


def test_raw_and_sha256_are_of_the_bytes_after_gunzip(step: IngestStep, tmp_path: Path) -> None:
    data = html_page("<p>Gzipped page.</p>").encode("utf-8")
    doc = ingest(step, write(tmp_path, "en/page.html.gz", gzip.compress(data, mtime=0)), tmp_path)
    assert doc.failure is None
    assert doc.raw == data
    assert doc.source.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.source.format == "html"


# --- gzip and rejections -----------------------------------------------------------------------


def test_gzip_windows_1252_page(step: IngestStep, tmp_path: Path) -> None:
    data = html_page(f"<p>{EN_CP1252}</p>").encode("cp1252")
    before = step.counters["gzip"]
    doc = ingest(step, write(tmp_path, "en/page.htm.gz", gzip.compress(data)), tmp_path)
    assert doc.source.encoding == "cp1252"
    assert EN_CP1252 in doc.markup
    assert step.counters["gzip"] == before + 1


@pytest.mark.parametrize(
    "data",
    [
        b"\x1f\x8b\x08\x00garbage that is not deflate",
        gzip.compress(b"<p>cut short</p>" * 50)[:40],
        b"not gzip",
    ],
    ids=["bad-deflate", "truncated", "no-gzip-header"],
)
def test_corrupt_gzip_fails_with_reason(step: IngestStep, tmp_path: Path, data: bytes) -> None:
    before = step.counters["rejected:corrupt_gzip"]
    doc = ingest(step, write(tmp_path, "en/page.html.gz", data), tmp_path)
    assert_failed(doc, "corrupt gzip")
    assert step.counters["rejected:corrupt_gzip"] == before + 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.html", b""),
        ("b.txt", b"  \n\t\r\n  "),
        ("c.txt.gz", gzip.compress(b"\n\n")),
        ("d.html", b"\xef\xbb\xbf \n"),
    ],
    ids=["zero-bytes", "whitespace", "gzip-of-whitespace", "bom-and-whitespace"],
)
def test_empty_file_fails(step: IngestStep, tmp_path: Path, name: str, data: bytes) -> None:
    doc = ingest(step, write(tmp_path, name, data), tmp_path)
    assert_failed(doc, "empty file")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4,
        b"<html><body>" + bytes(range(1, 9)) * 40 + b"</body></html>",
        bytes(range(1, 256)) * 20,
    ],
    ids=["nul-bytes", "control-characters", "bytes-without-nul"],
)
def test_binary_content_fails(step: IngestStep, tmp_path: Path, data: bytes) -> None:
    doc = ingest(step, write(tmp_path, "site/image.html", data), tmp_path)
    assert_failed(doc, "binary content, not a text page")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain ascii\ttext\r\n\x0b\x0c",
        "\x00\x08\x0e\x1f\x7f ascii controls",
        "C1 \x80\x85\x9f but not \xa0 or \xc2 or \u0100 (\u00c2\u0080 is two letters)",
        "\ufffd replacement \ufffd and \ufff0\uffff \U0001f600 中文，全角（）",
        "é\x80\x9f\x7fend\x1b",
        "\ufffd\ufffd中\ufffd\uffef\uffbd\u0fbd\ufffd",  # adjacent U+FFFD, and EF BF/BF BD neighbours
    ],
)
def test_control_share_counts_the_same_in_utf8_bytes(text: str) -> None:
    # The step counts stray characters in the page's UTF-8 bytes when it decoded them strictly.
    from abstractpipe.ingest import control_share

    assert control_share(text, text.encode("utf-8")) == control_share(text)


def test_utf8_source_is_only_given_for_strict_utf8_decoding() -> None:
    from abstractpipe.ingest import _utf8_source

    data = b"\xef\xbb\xbfabc"
    assert _utf8_source(data, "utf-8", "bom") == b"abc"
    assert _utf8_source(b"abc", "utf-8", "declared") == b"abc"
    assert _utf8_source(b"abc", "utf-8", "detected") is None  # may hold replacement characters
    assert _utf8_source(b"abc", "gb18030", "declared") is None


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("paper.pdf", "unsupported file type: .pdf"),
        ("data.csv.gz", "unsupported file type: .csv"),
        ("LICENSE", "(no extension)"),
    ],
)
def test_unsupported_extension_fails(step: IngestStep, tmp_path: Path, name: str, shown: str) -> None:
    doc = ingest(step, write(tmp_path, name, b"%PDF-1.7 some content"), tmp_path)
    assert_failed(doc, shown)


def test_extension_match_is_case_insensitive(step: IngestStep, tmp_path: Path) -> None:
    doc = ingest(step, write(tmp_path, "PAGE.HTM", html_page("<p>x</p>").encode()), tmp_path)
    assert doc.failure is None
    assert doc.source.format == "html"


def test_oversize_file_fails_with_the_limit(tmp_path: Path) -> None:
    small = IngestStep(load_config(DEFAULT_CONFIG, overrides=["ingest.max_bytes=200"]))
    big = html_page("<p>" + "x" * 5000 + "</p>").encode()
    doc = ingest(small, write(tmp_path, "big.html", big), tmp_path)
    assert_failed(doc, "max_bytes 200")
    # A small gzip that inflates past the limit is refused too (gzip-bomb guard).
    bomb = gzip.compress(big)
    assert len(bomb) < 200
    doc = ingest(small, write(tmp_path, "bomb.html.gz", bomb), tmp_path)
    assert_failed(doc, "after gunzip")
    ok = ingest(small, write(tmp_path, "ok.txt", b"short page"), tmp_path)
    assert ok.failure is None


def test_default_max_bytes_comes_from_the_rule_file(step: IngestStep) -> None:
    assert step.max_bytes == 20 * 1024 * 1024


# --- discovery, sidecars, ids ------------------------------------------------------------------


def test_make_id_is_stable_and_prefers_the_url() -> None:
    # Fixed values: ids must not change across runs, machines or Python versions.
    assert (
        make_id(None, "pubmed/003_207fb85fdc7ef63b.txt")
        == hashlib.sha256(b"path:pubmed/003_207fb85fdc7ef63b.txt").hexdigest()[:16]
    )
    assert make_id(None, "pubmed/003_207fb85fdc7ef63b.txt") == "802798f65d94869c"
    url = "https://journal.example.org/articles/10.5555/jcim.2025.0418"
    assert make_id(url, "anything/else.html") == make_id(url, "journal.example.org/jcim-2025-0418.html")
    assert make_id(url, "x.html") == "addcc1d227af1d00"


def test_site_of() -> None:
    assert site_of("https://Journal.Example.org:8443/a?b=1", "x/y.html") == "journal.example.org"
    assert site_of(None, "cn-journal/sub/page.html") == "cn-journal/sub"
    assert site_of(None, "page.html") == "."
    assert site_of("not a url", "folder/page.html") == "folder"


def test_sidecar_sets_url_fetched_at_id_and_site(step: IngestStep, tmp_path: Path) -> None:
    url = "https://www.example.com/articles/123"
    page = write(tmp_path, "scraped/123.html", html_page("<p>Scraped.</p>").encode())
    write(
        tmp_path,
        "scraped/123.html.json",
        json.dumps({"url": url, "fetched_at": "2026-11-01T10:00:00Z"}).encode(),
    )
    [doc] = discover_inputs(tmp_path)
    assert doc.source.path == "scraped/123.html"
    assert doc.source.absolute_path == str(page.resolve())
    assert doc.source.url == url
    assert doc.source.fetched_at == "2026-11-01T10:00:00Z"
    assert doc.source.site == "www.example.com"
    assert doc.id == make_id(url, "ignored")
    assert not doc.warnings
    assert ingest(step, page, tmp_path).failure is None


def test_bad_sidecar_warns_and_keeps_the_page(tmp_path: Path) -> None:
    write(tmp_path, "s/p.html", b"<p>x</p>")
    write(tmp_path, "s/p.html.json", b"{not json")
    [doc] = discover_inputs(tmp_path)
    assert doc.source.url is None
    assert doc.source.site == "s"
    assert doc.id == make_id(None, "s/p.html")
    assert [w["code"] for w in doc.warnings] == ["bad_sidecar"]


def test_discovery_skips_hidden_readme_gitkeep_and_sidecars(tmp_path: Path) -> None:
    for relative in [
        "b/page.html",
        "b/page.html.json",  # sidecar
        "b/orphan.json",  # not a sidecar: a (failing) document
        "a/README.md",
        "README",
        ".gitkeep",
        "a/.gitkeep",
        ".hidden/page.html",
        "a/.draft.html",
        "a/z.txt",
        "a/B.txt",
        "root.txt",
        "a/sub/deep.htm",
        "a/paper.pdf",
    ]:
        write(tmp_path, relative, b"{}" if relative.endswith(".json") else b"content")
    docs = discover_inputs(tmp_path)
    assert [d.source.path for d in docs] == [
        "a/B.txt",
        "a/paper.pdf",
        "a/sub/deep.htm",
        "a/z.txt",
        "b/orphan.json",
        "b/page.html",
        "root.txt",
    ]
    assert [d.source.site for d in docs] == ["a", "a", "a/sub", "a", "b", "b", "."]


def test_ids_do_not_depend_on_where_raw_lives(tmp_path: Path) -> None:
    first = [(d.id, d.source.path, d.source.site) for d in discover_inputs(RAW)]
    copy = tmp_path / "elsewhere" / "raw"
    shutil.copytree(RAW, copy)
    second = [(d.id, d.source.path, d.source.site) for d in discover_inputs(copy)]
    assert first == second
    assert len({doc_id for doc_id, _, _ in first}) == len(first)


# --- the sample pages in raw/ ------------------------------------------------------------------

SAMPLES = {
    "cn-journal/zglcyj-2020-05-001.html": ("html", "gb18030", "cn-journal"),
    "journal.example.org/jcim-2025-0233.html.gz": ("html", "cp1252", "journal.example.org"),
    "journal.example.org/jcim-2025-0418.html": ("html", "utf-8", "journal.example.org"),
    "pubmed-mirror/pmid-36918452.html": ("html", "utf-8", "pubmed-mirror"),
    "researchsummaries-html/exoskeleton-bowel-function-crossover-trial.html": (
        "html",
        "utf-8",
        "researchsummaries-html",
    ),
}


def test_resolved_path_is_what_resolve_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Documents carry str(path.resolve()); the raw root's part is resolved once per process.
    from abstractpipe.ingest import resolved_path

    real = tmp_path / "real"
    (real / "site").mkdir(parents=True)
    (real / "site" / "a.html").write_text("<p>a</p>", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.html").write_text("<p>b</p>", encoding="utf-8")
    (real / "site" / "link.html").symlink_to(tmp_path / "elsewhere" / "b.html")
    (real / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "root-link").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    relatives = ["site/a.html", "site/link.html", "linked/b.html", "site/missing.html", "site/../site/a.html"]
    for root in (real, tmp_path / "root-link", Path("root-link"), Path("real/../real")):
        for relative in relatives:
            path = root / relative
            assert resolved_path(path, root, relative) == str(path.resolve()), (root, relative)


def test_discover_lists_raw_samples_in_sorted_order() -> None:
    paths = [d.source.path for d in discover_inputs(RAW)]
    assert paths == sorted(paths)
    assert set(SAMPLES) <= set(paths)
    assert "pubmed/003_207fb85fdc7ef63b.txt" in paths
    assert not any(p.endswith(".json") for p in paths)  # the sidecars are not pages


def test_raw_samples_ingest_cleanly(step: IngestStep) -> None:
    docs = {d.source.path: d for d in step(discover_inputs(RAW))}
    for path, (page_format, encoding, site) in SAMPLES.items():
        doc = docs[path]
        assert doc.failure is None, (path, doc.failure)
        assert (doc.source.format, doc.source.encoding, doc.source.site) == (page_format, encoding, site), (
            path
        )
        assert not doc.warnings, (path, doc.warnings)
    cn = docs["cn-journal/zglcyj-2020-05-001.html"].markup
    assert "中国临床研究进展杂志, 2020, 33(5): 321-325" in cn
    assert "OR=6.77，95%CI(4.39,10.43)" in cn
    assert "【目的】" in cn
    gz = docs["journal.example.org/jcim-2025-0233.html.gz"]
    assert gz.source.url == "https://journal.example.org/articles/10.5555/jcim.2025.0233"
    assert "81.6 ± 6.9 years" in gz.markup
    assert "I² = 21%" in gz.markup
    assert "“little and often”" in gz.markup
    for doc in docs.values():
        assert doc.failure is None, (doc.source.path, doc.failure)


def test_ingest_is_deterministic(config: Config) -> None:
    def run() -> list[tuple[str, str, str, str]]:
        step = IngestStep(config)
        return [(d.id, d.source.sha256, d.source.encoding, d.markup) for d in step(discover_inputs(RAW))]

    assert run() == run()


def test_pages_are_discovered_in_the_string_order_of_their_paths(tmp_path: Path) -> None:
    from abstractpipe.ingest import iter_inputs

    for relative in ["a/x.txt", "a-b/x.txt", "a.txt", "ab/c/d.txt", "ab/c-d.txt", "b.txt", "a/b/c.html"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("Aspirin reduced fever.\n", encoding="utf-8")
    (tmp_path / "a" / "b" / "c.html.json").write_text("{}", encoding="utf-8")  # a sidecar: not a page
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("hidden\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "a")  # a link to a folder is not walked (as os.walk)
    paths = [doc.source.path for doc in iter_inputs(tmp_path)]
    assert paths == sorted(paths)  # "a-b/x.txt" < "a.txt" < "a/b/c.html": plain string order
    assert paths == ["a-b/x.txt", "a.txt", "a/b/c.html", "a/x.txt", "ab/c-d.txt", "ab/c/d.txt", "b.txt"]


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        ("<p>Ünïcode 中文 plain</p>".encode(), True),
        (b"\xef\xbb\xbf" + "<p>BOM 中文</p>".encode(), True),
        ('<meta charset="utf-8"><p>déclaré</p>'.encode(), True),
        ("<p>café</p>\r\n<p>CRLF</p>".encode(), False),  # line endings normalised
        ("<p>cafe\u0301 (NFD)</p>".encode(), False),  # NFC changes the text
        ('<meta charset="gbk"><p>中文摘要</p>'.encode("gbk"), False),  # not UTF-8
        ('<meta charset="gbk"><p>已存为 UTF-8</p>'.encode(), True),  # UTF-8 over the declaration
        (("<p>" + "中文摘要，无声明。" * 40 + "</p>").encode("gb18030"), False),  # detected
    ],
)
def test_markup_utf8_is_exactly_the_encoded_markup(
    step: IngestStep, tmp_path: Path, data: bytes, kept: bool
) -> None:
    # The HTML parser takes these bytes instead of encoding the markup: they must be its encoding.
    doc = ingest(step, write(tmp_path, "p.html", data), tmp_path)
    assert not doc.failed
    assert (doc.markup_utf8 is not None) is kept
    if doc.markup_utf8 is not None:
        assert doc.markup_utf8 == doc.markup.encode("utf-8")


def test_document_for_relative_is_document_for_file_without_parsing_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPython 3.11's pathlib interns every component it parses, which grew the interpreter's
    # table of interned strings with every page's file names: pages get string paths instead.
    import pathlib

    from abstractpipe.ingest import document_for_relative

    raw = tmp_path / "raw"
    (raw / "site.example" / "deep").mkdir(parents=True)
    (raw / "site.example" / "a.html").write_text("<p>x</p>", encoding="utf-8")
    (raw / "site.example" / "a.html.json").write_text(
        json.dumps({"url": "https://site.example/a", "fetched_at": "2026-01-01T00:00:00Z"}), encoding="utf-8"
    )
    (raw / "site.example" / "deep" / "b.txt").write_text("text", encoding="utf-8")
    (raw / "site.example" / "deep" / "b.txt.json").write_text("{not json", encoding="utf-8")
    (raw / "plain.txt").write_text("text", encoding="utf-8")
    (raw / "odd name #1.txt").write_text("text", encoding="utf-8")
    relatives = [
        "site.example/a.html",
        "site.example/deep/b.txt",
        "plain.txt",
        "odd name #1.txt",
        "missing.txt",
    ]
    for relative in relatives:
        expected = document_for_file(raw / relative, raw)
        assert document_for_relative(raw, relative) == expected, relative
    parsed: list[object] = []
    original = pathlib.PurePath.__dict__["_parse_args"]  # private, Python 3.11: skip if it moved
    if not isinstance(original, classmethod):
        pytest.skip("pathlib parses paths differently on this Python")

    def counting(cls, args):  # type: ignore[no-untyped-def]
        parsed.append(args)
        return original.__func__(cls, args)

    monkeypatch.setattr(pathlib.PurePath, "_parse_args", classmethod(counting))
    docs = [document_for_relative(raw, relative) for relative in relatives[:3]]
    assert not parsed  # no Path was built for these pages
    assert [doc.warnings[0]["code"] if doc.warnings else None for doc in docs] == [None, "bad_sidecar", None]
