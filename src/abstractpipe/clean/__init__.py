"""The clean stage: decoded page -> main-content text, blocks and page metadata.

Public API (usable outside the pipeline, e.g. by the boilerplate benchmark):
``compile_rules``/``CleanRules.from_file``, ``extract_html``, ``extract_text``,
``CleanedPage``; the pipeline step is ``CleanStep`` (registered as "clean").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from abstractpipe.clean.blocks import CleanBlock, CleanedPage
from abstractpipe.clean.html import parse_html
from abstractpipe.clean.repetition import SiteRepetition, template_labels
from abstractpipe.clean.rules import CleanRules, compile_rules, rule_drops
from abstractpipe.clean.text import parse_text
from abstractpipe.config import Config
from abstractpipe.document import Document
from abstractpipe.pipeline import Step, register_step
from abstractpipe.workfile import WorkReader, WorkWriter

__all__ = [
    "CleanBlock",
    "CleanRules",
    "CleanStep",
    "CleanedPage",
    "SiteRepetition",
    "compile_rules",
    "extract_html",
    "extract_text",
    "filter_blocks",
]

NO_CONTENT = "no main content after cleaning"


def _as_rules(rules: CleanRules | dict[str, Any]) -> CleanRules:
    return rules if isinstance(rules, CleanRules) else compile_rules(rules)


def filter_blocks(
    blocks: list[CleanBlock],
    rules: CleanRules,
    site: str | None = None,
    repetition: SiteRepetition | None = None,
    counters: Counter[str] | None = None,
) -> list[CleanBlock]:
    """Drop rule-matched and cross-page repeated blocks; renumber list ids."""
    counters = counters if counters is not None else Counter()
    counters["blocks_in"] += len(blocks)
    drops = rule_drops(blocks, rules.rules_for(site))
    dropped = [d is not None for d in drops]
    repeated = repetition.flags(site, blocks) if repetition else [False] * len(blocks)
    labels = template_labels(blocks, repeated, dropped, rules) if any(repeated) else repeated
    kept: list[CleanBlock] = []
    list_ids: dict[int, int] = {}
    for block, rule, is_repeated, is_label in zip(blocks, drops, repeated, labels, strict=True):
        if rule is not None:
            counters[f"dropped_rule:{rule}"] += 1
            continue
        if is_repeated and not is_label:
            counters["dropped_repeated"] += 1
            continue
        if is_label:
            counters["kept_template_label"] += 1
        if block.list_id is not None:
            block.list_id = list_ids.setdefault(block.list_id, len(list_ids))
        kept.append(block)
    counters["blocks_kept"] += len(kept)
    return kept


def parse_page(
    markup: str, is_html: bool, rules: CleanRules, site: str | None, encoded: bytes | None = None
) -> CleanedPage:
    """Every block of one page before filtering, its metadata and the parse's counters.

    ``encoded``: ``markup.encode("utf-8")`` when the caller has it (see ``parse_tree``).
    """
    counters: Counter[str] = Counter()
    if is_html:
        blocks, page_meta = parse_html(markup, rules, site, counters, encoded)
        return CleanedPage(blocks=blocks, page_meta=page_meta, counters=counters)
    return CleanedPage(blocks=parse_text(markup, rules), counters=counters)


def filter_page(
    parsed: CleanedPage, rules: CleanRules, site: str | None, repetition: SiteRepetition | None
) -> CleanedPage:
    """A parsed page with its rule-matched and cross-page repeated blocks dropped."""
    kept = filter_blocks(parsed.blocks, rules, site, repetition, parsed.counters)
    return CleanedPage(blocks=kept, page_meta=parsed.page_meta, counters=parsed.counters)


def extract_html(
    html: str,
    rules: CleanRules | dict[str, Any],
    site: str | None = None,
    repetition: SiteRepetition | None = None,
) -> CleanedPage:
    """Main content of one HTML page (one parse)."""
    compiled = _as_rules(rules)
    return filter_page(parse_page(html, True, compiled, site), compiled, site, repetition)


def extract_text(
    text: str,
    rules: CleanRules | dict[str, Any],
    site: str | None = None,
    repetition: SiteRepetition | None = None,
) -> CleanedPage:
    """Main content of one plain-text page dump."""
    compiled = _as_rules(rules)
    return filter_page(parse_page(text, False, compiled, site), compiled, site, repetition)


def _is_html(doc: Document) -> bool:
    if doc.source.format in ("html", "text"):
        return doc.source.format == "html"
    return doc.markup.lstrip()[:1] == "<"


def _work_key(doc: Document) -> str:
    """Which page a saved parse belongs to: its path and the hash of its bytes."""
    return f"{doc.source.path}\x00{doc.source.sha256}"


@register_step("clean")
class CleanStep(Step):
    observes_site = True
    splits_reduce = True

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.rules = compile_rules(self.load_stage_rules(default="clean.yaml"))
        self.repetition = SiteRepetition(self.rules.repetition)
        self._saving: WorkWriter | None = None
        self._saved: WorkReader | None = None

    def observe(self, doc: Document) -> None:
        parsed = parse_page(doc.markup, _is_html(doc), self.rules, doc.source.site, doc.markup_utf8)
        self.repetition.observe(doc.source.site, parsed.blocks)
        if self._saving is not None:
            self._saving.add(_work_key(doc), parsed)

    def save_work(self, path: Path | None) -> None:
        # The observation pass parses every page; the processing pass reuses that parse
        # instead of parsing the page again (it was a third of the stage's cost).
        if self._saving is not None:
            self._saving.close()
        self._saving = WorkWriter(path) if path is not None else None

    def reuse_work(self, path: Path | None) -> None:
        if self._saved is not None:
            self._saved.close()
        self._saved = WorkReader(path) if path is not None else None

    def end_observation(self) -> None:
        self.repetition.finish()
        self.counters["sites_with_repeated_blocks"] = len(self.repetition.repeated)

    # Sharded runs: see abstractpipe.pipeline.

    def begin_observation(self) -> None:
        self.repetition = SiteRepetition(self.rules.repetition)

    def dump_observation(self, path: Path) -> None:
        self.repetition.dump(path)

    def reduce_observations(self, paths: list[Path], out: Path) -> dict[str, int]:
        return self.join_reduced([self.reduce_part(paths, 0, 1)], out)

    def reduce_part(self, paths: list[Path], part: int, parts: int) -> Any:
        return self.repetition.reduce_part(paths, part, parts)

    def join_reduced(self, results: list[Any], out: Path) -> dict[str, int]:
        self.repetition.join_parts(results)
        self.repetition.save(out)
        return {"sites_with_repeated_blocks": len(self.repetition.repeated)}

    def load_learned(self, path: Path) -> None:
        self.repetition.load(path)

    def learned_digest(self, sites: Iterable[str]) -> str:
        return self.repetition.digest(sites)

    def process(self, doc: Document) -> Document:
        site = doc.source.site
        parsed = self._saved.get(_work_key(doc)) if self._saved is not None else None
        if parsed is None:
            parsed = parse_page(doc.markup, _is_html(doc), self.rules, site, doc.markup_utf8)
        page = filter_page(parsed, self.rules, site, self.repetition)
        self.counters.update(page.counters)
        if not page.blocks:
            self.counters["no_main_content"] += 1
            raise ValueError(NO_CONTENT)
        doc.text, doc.blocks = page.to_document_parts()
        doc.page_meta = page.page_meta
        return doc
