"""The HTML review report: self-contained, escaped, and working in a real headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from abstractpipe.curate import import_decisions
from abstractpipe.diff import Run, diff_runs, highlight, tokens
from abstractpipe.report import render_report

SHA_OLD = "a" * 64
SHA_NEW = "b" * 64
INJECTED_TITLE = "<script>window.__pwned = 'script'</script>Trial"
INJECTED_TEXT = "Results <img src=x onerror=\"window.__pwned='onerror'\"> were </script><b>bold</b> & good."


def record(record_id: str, site: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": record_id,
        "source": {"path": f"{site}/{record_id}.html", "url": None, "site": site, "sha256": SHA_OLD},
        "title": {"en": None, "zh": None},
        "metadata": {"doi": None, "authors": []},
        "text": "",
        "statistics": [],
        "warnings": [],
        "curated": [],
    }
    base.update(fields)
    return base


def two_runs() -> tuple[Run, Run]:
    old = {
        "r1": record(
            "r1",
            "pubmed",
            title={"en": "Old title", "zh": "治疗组有效率为85%"},
            metadata={"doi": "10.1/a", "authors": []},
        ),
        "r2": record("r2", "evil.example", text="plain"),
        "r3": record("r3", "pubmed"),
        "r4": record("r4", "pubmed", text="same"),
    }
    new = {
        "r1": record(
            "r1",
            "pubmed",
            title={"en": "New title", "zh": "治疗组总有效率为86%"},
            metadata={"doi": "10.1/b", "authors": []},
            warnings=[{"code": "stat_mismatch", "detail": "OR 1.5 in en, 1.6 in zh"}],
        ),
        "r2": record(
            "r2",
            "evil.example",
            title={"en": INJECTED_TITLE, "zh": None},
            text=INJECTED_TEXT,
            source={
                "path": "evil/<svg onload=alert(1)>.html",
                "url": "javascript:window.__pwned='url'",
                "site": "evil.example",
                "sha256": SHA_NEW,
            },
            warnings=[
                {
                    "code": "stale_correction",
                    "detail": "title.en (set by eve) not applied: the source changed",
                },
                {"code": "x<img src=y onerror=\"window.__pwned='warning'\">", "detail": "<script>1</script>"},
            ],
        ),
        "r4": record("r4", "pubmed", text="same"),
        "r5": record("r5", "clinic", title={"en": "<i>added</i>", "zh": None}),
    }
    return Run("old", old, {"config": {"a": 1}, "config_sha256": "1"}), Run(
        "new", new, {"config": {"a": 2}, "config_sha256": "2"}
    )


def test_chinese_is_highlighted_per_character_and_english_per_word() -> None:
    assert tokens("治疗组 OR 1.5") == ["治", "疗", "组", " ", "OR", " ", "1", ".", "5"]
    left, right = highlight("治疗组有效率为85%", "治疗组总有效率为86%")
    assert left == [("=", "治疗组有效率为"), ("-", "85"), ("=", "%")]
    assert right == [("=", "治疗组"), ("+", "总"), ("=", "有效率为"), ("+", "86"), ("=", "%")]
    left, right = highlight("The odds ratio was high.", "The hazard ratio was high.")
    assert left == [("=", "The "), ("-", "odds"), ("=", " ratio was high.")]
    assert right == [("=", "The "), ("+", "hazard"), ("=", " ratio was high.")]


def test_long_unchanged_text_is_shortened_around_the_change() -> None:
    body = "word " * 400
    left, right = highlight(body + "old end", body + "new end", context=50)
    assert left[-2:] == [("-", "old"), ("=", " end")]
    assert left[0][0] == "=" and left[0][1].startswith(" … ") and len(left[0][1]) < 60
    assert right[-2] == ("+", "new")


def test_report_is_self_contained_and_page_text_never_becomes_markup() -> None:
    old, new = two_runs()
    page = render_report(diff_runs(old, new))
    assert page == render_report(diff_runs(old, new))  # deterministic
    assert page.count("<script") == 2 and page.count("</script>") == 2  # the data block and our script
    assert "<img" not in page and "<svg" not in page and "<b>bold" not in page and "<i>added" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # nothing fetched
    assert "<link" not in page and "@import" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert '<span class="count" id="count-changed">2</span>' in page
    assert '<span class="count" id="count-added">1</span>' in page


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = find_chromium()


class Browser:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (no websockets needed)."""

    def __init__(self, binary: str, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._events, events_write = os.pipe()

        def wire_pipes() -> None:  # the browser reads commands on fd 3 and writes replies on fd 4
            os.dup2(commands_read, 3)
            os.dup2(events_write, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            close_fds=False,
        )
        os.close(commands_read)
        os.close(events_write)
        self._next_id = 0
        self._buffer = b""
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._events, 1 << 16)
                if not chunk:
                    raise RuntimeError("browser closed the debugging pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": url}, session=False)["targetId"]
        self.session = self.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=False
        )["sessionId"]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:
                pass
            time.sleep(0.1)
        raise TimeoutError(expression)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        os.close(self._commands)
        os.close(self._events)


@pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (CI installs Debian's chromium package)"
)
def test_report_in_a_headless_browser(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    old, new = two_runs()
    report = tmp_path / "report.html"
    report.write_text(render_report(diff_runs(old, new)), encoding="utf-8")
    browser = Browser(CHROMIUM, tmp_path / "profile")
    try:
        browser.open(report.as_uri())
        browser.wait_for("document.body && document.body.dataset.ready === '1'")
        text = browser.evaluate("document.body.innerText")
        # Counts: r1, r2 changed; r3 removed; r5 added; r4 unchanged.
        assert browser.evaluate("document.getElementById('shown').textContent") == "4"
        assert browser.evaluate("document.querySelectorAll('#records .record').length") == 4
        assert browser.evaluate("document.getElementById('count-unchanged').textContent") == "1"
        # Injected markup is shown as text and runs nothing.
        assert browser.evaluate("window.__pwned === undefined")
        assert (
            browser.evaluate(
                "document.querySelectorAll('#records img, #records svg, #records b, #records i').length"
            )
            == 0
        )
        assert "<script>window.__pwned = 'script'</script>Trial" in text
        assert "<img src=x onerror=\"window.__pwned='onerror'\">" in text
        assert browser.evaluate("document.querySelector('a.url').hasAttribute('href')") is False
        # Chinese changes are marked per character.
        inserted = browser.evaluate("Array.from(document.querySelectorAll('ins')).map(n => n.textContent)")
        assert "总" in inserted and "86" in inserted
        # The record's warnings and stale corrections are shown.
        assert "stat_mismatch: OR 1.5 in en, 1.6 in zh" in text
        assert "stale correction: title.en (set by eve)" in text
        # Filters by field, site and change kind.
        select = "(id, v) => { const s = document.getElementById(id); s.value = v; s.dispatchEvent(new Event('change')); }"
        browser.evaluate(f"({select})('filter-field', 'metadata.doi')")
        assert browser.evaluate("document.getElementById('shown').textContent") == "1"
        browser.evaluate(f"({select})('filter-field', '')")
        browser.evaluate(f"({select})('filter-site', 'pubmed')")
        assert browser.evaluate("document.getElementById('shown').textContent") == "2"
        browser.evaluate(f"({select})('filter-site', '')")
        browser.evaluate(f"({select})('filter-kind', 'stale')")
        assert browser.evaluate("document.getElementById('shown').textContent") == "1"
        browser.evaluate(f"({select})('filter-kind', '')")
        # Decisions: reject the DOI change (keep the old value), accept the title, drop the stale correction.
        click = "(path, label) => Array.from(document.querySelectorAll('.change')).find(c => c.querySelector('.path').textContent === path).querySelectorAll('button')[label].click()"
        browser.evaluate(f"({click})('metadata.doi', 1)")
        browser.evaluate(f"({click})('title.en', 0)")
        browser.evaluate(
            "Array.from(document.querySelectorAll('.stale button')).find(b => b.dataset.decision === 'drop').click()"
        )
        browser.evaluate("document.getElementById('curator').value = 'carol'")
        assert browser.evaluate("document.getElementById('decided').textContent") == "3"
        decisions = json.loads(browser.evaluate("window.abstractpipeDecisions()"))
    finally:
        browser.close()
    assert [(d["id"], d["field"], d["decision"]) for d in decisions["decisions"]] == [
        ("r1", "metadata.doi", "keep_old"),
        ("r1", "title.en", "accept"),
        ("r2", "title.en", "drop"),
    ]
    assert decisions["decisions"][0]["value"] == "10.1/a" and decisions["decisions"][0]["curator"] == "carol"
    # What `curate import` does with the downloaded file (the stale one is not in this overlay).
    outcome = import_decisions([], decisions)
    assert [(c.id, c.field, c.action, c.value, c.sha256) for c in outcome.corrections] == [
        ("r1", "metadata.doi", "set", "10.1/a", SHA_OLD)
    ]
    assert outcome.counts["accept"] == 1 and outcome.problems == [
        "r2 title.en: no such correction in the overlay"
    ]
