"""Property-based fuzzing: whatever bytes a page holds, it ends as a record or a quarantine line."""

from __future__ import annotations

import codecs
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractpipe.config import load_config
from abstractpipe.ingest import document_for_file
from abstractpipe.limits import Limits
from abstractpipe.pipeline import build_steps
from abstractpipe.runner import RunOptions, run_page, run_pipeline
from abstractpipe.write import record_line

from .conftest import SEEDS

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SEED_TEXT = (SEEDS / "pubmed").glob("*.txt").__next__().read_text(encoding="utf-8")

WORDS = st.sampled_from(
    [
        "Aspirin",
        "reduced",
        "fever",
        "in",
        "120",
        "patients",
        "(95% CI 1.2-3.4, P<0.05).",
        "目的",
        "方法",
        "结果：",
        "阿司匹林",
        "降低了",
        "发热。",
        "BACKGROUND:",
        "\n\n",
        "Ω",
        "é",
        "\u200b",
        "\t",
    ]
)
TEXT = st.lists(WORDS, max_size=60).map(" ".join)
TAGS = st.sampled_from(["div", "p", "span", "table", "tr", "td", "li", "ul", "h1", "script", "style", "a"])


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    parts: list[str] = ["<html><head><title>", draw(TEXT), "</title></head><body>"]
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(TAGS)
        parts.append(f"<{tag} class='{draw(st.sampled_from(['nav', 'main', 'x']))}'>{draw(TEXT)}")
        if draw(st.booleans()):
            parts.append(f"</{tag}>")
    parts.append("</body></html>")
    page = "".join(parts)
    cut = draw(st.integers(0, len(page)))
    return page[:cut] if draw(st.booleans()) else page  # truncated half of the time


@st.composite
def page_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["random", "html", "text", "deep", "long_line", "empty", "mixed", "seed"]))
    if kind == "random":
        return ".html", draw(st.binary(max_size=3000))
    if kind == "empty":
        return draw(st.sampled_from([".txt", ".html"])), draw(
            st.sampled_from([b"", b"  \n", b"\xef\xbb\xbf"])
        )
    if kind == "deep":
        depth = draw(st.integers(50, 3000))
        return ".html", ("<div>" * depth + draw(TEXT) + "</div>" * draw(st.integers(0, depth))).encode()
    if kind == "long_line":
        return ".txt", (draw(TEXT) * draw(st.integers(1000, 5000))).replace("\n", " ").encode()
    if kind == "seed":
        cut = draw(st.integers(0, len(SEED_TEXT)))
        return ".txt", SEED_TEXT[:cut].encode("utf-8")
    text = draw(html_pages()) if kind == "html" else draw(TEXT)
    codec = draw(st.sampled_from(["utf-8", "gb18030", "cp1252", "utf-16", "big5", "latin-1"]))
    data = text.encode(codec, errors="replace")
    if kind == "mixed":  # two encodings in one file, and a charset that lies
        data = b"<meta charset='gbk'>" + data + draw(TEXT).encode("utf-8") + codecs.BOM_UTF8
    return (".html" if kind in ("html", "mixed") else ".txt"), data


@pytest.fixture(scope="module")
def pipeline():
    config = load_config()
    return build_steps(config), Limits.from_config(config.section("limits") | {"max_seconds_per_page": 20})


@FUZZ
@given(page=page_bytes())
def test_any_page_becomes_a_record_or_a_quarantine_reason(pipeline, page: tuple[str, bytes]) -> None:
    steps, limits = pipeline
    suffix, data = page
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "site" / f"page{suffix}"
        path.parent.mkdir()
        path.write_bytes(data)
        doc = run_page(steps, document_for_file(path, root), limits)
    if doc.failed:
        assert doc.failure is not None and doc.failure.stage and doc.failure.error
    else:
        line, problem = record_line(doc)
        assert (line is None) != (problem is None)
        if line is not None:
            assert json.loads(line)["id"] == doc.id


@settings(max_examples=4, deadline=None)
@given(pages=st.lists(page_bytes(), min_size=1, max_size=8))
def test_a_run_over_fuzzed_pages_loses_none(pages: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        raw, out = Path(folder) / "raw", Path(folder) / "out"
        for number, (suffix, data) in enumerate(pages):
            path = raw / f"site{number % 2}" / f"{number}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        summary = run_pipeline(load_config(None, ["run.shards=3"]), raw, out, RunOptions(workers=1))
        assert summary.pages == len(pages)
        assert summary.records + summary.quarantined == len(pages)
        quarantine = (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()
        records = [
            line for p in (out / "records").glob("part-*.jsonl") for line in p.read_text().splitlines()
        ]
        assert len(records) + len(quarantine) == len(pages)
