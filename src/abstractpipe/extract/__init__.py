"""The extract step: title, metadata, abstract section texts, page sections, statistics.

Fills ``doc.fields`` with keys exactly as in ``schema.Record``.  Rules live in
``configs/extract.yaml`` (``extract.rules``) and ``configs/statistics.yaml``
(``extract.statistics_rules``).
"""

from __future__ import annotations

import re
from typing import Any

from abstractpipe.config import Config
from abstractpipe.document import CANONICAL_SECTIONS, LANGS, Document, Section
from abstractpipe.extract.crosscheck import CrossLanguageChecker
from abstractpipe.extract.inferred import CueLabeller, infer_sections
from abstractpipe.extract.metadata import MetadataExtractor
from abstractpipe.extract.page_sections import PageSectionsExtractor
from abstractpipe.extract.statistics import may_hold_statistics
from abstractpipe.extract.title import DumpHeader, TitleFinder
from abstractpipe.patterns import script_lang
from abstractpipe.pipeline import Step, register_step

# How many blocks after an HTML page's <h1> its byline is looked for in.
BYLINE_REACH = 6
METADATA_KEYS = ("journal", "year", "volume", "issue", "pages", "doi", "pmid", "published")


def abstract_sections(doc: Document) -> dict[str, dict[str, str]]:
    """Body text of each canonical section of the first abstract per language."""
    texts: dict[str, dict[str, list[str]]] = {lang: {} for lang in LANGS}
    for section in doc.sections:
        if section.lang in texts and section.abstract == 0 and section.key in CANONICAL_SECTIONS:
            texts[section.lang].setdefault(section.key, []).append(doc.span(section.start, section.end))
    return {
        lang: {key: "\n\n".join(by_key[key]) for key in CANONICAL_SECTIONS if key in by_key}
        for lang, by_key in texts.items()
    }


def section_at(sections: list[Section], start: int, end: int) -> str | None:
    """Key of the abstract section a span lies in, if any."""
    for section in sections:
        if section.start <= start and end <= section.end:
            return section.key
    return None


@register_step("extract")
class ExtractStep(Step):
    def __init__(self, config: Config) -> None:
        super().__init__(config)
        rules = self.load_stage_rules(default="extract.yaml")
        self.metadata = MetadataExtractor(rules.get("metadata") or {})
        self.page_sections = PageSectionsExtractor(rules.get("page_sections") or {})
        self.titles = TitleFinder(
            (rules.get("title") or {}).get("site_suffix") or r"(?!)",
            int((rules.get("title") or {}).get("second_title_min_words", 4)),
        )
        dump_title = (rules.get("title") or {}).get("dump_title") or {}
        self.dump_title = {
            "min_words": int(dump_title.get("min_words", 1)),
            "min_cjk_chars": int(dump_title.get("min_cjk_chars", 1)),
        }
        from abstractpipe.extract.statistics import StatisticsExtractor

        self.statistics: Any = StatisticsExtractor(
            self.load_stage_rules("statistics_rules", default="statistics.yaml")
        )
        self.crosscheck = CrossLanguageChecker(rules.get("crosscheck") or {})
        unlabelled = rules.get("unlabelled_abstracts") or {}
        self.infer_unlabelled = bool(unlabelled.get("enabled", True))
        self.min_labelled_sentences = int(unlabelled.get("min_sentences", 3))
        self.zh_cues = CueLabeller(unlabelled.get("zh_cues") or {})

    def process(self, doc: Document) -> Document:
        sections = [s for s in doc.sections if s.key != "keywords"]
        main = [s for s in sections if s.abstract == 0]
        # Text metadata only from before the end of the main abstract: what follows may be
        # other people's citations.
        limit = max((s.end for s in main), default=len(doc.text))
        abstract_start = min((s.start for s in main), default=None)
        citations: dict[int, dict[str, Any] | None] = {}  # citation lines read by metadata.extract
        meta = self.metadata.extract(doc, limit, citations, abstract_start)
        citation_block = self._citation_block(doc, limit, citations, abstract_start)
        header = self._dump_header(doc, citation_block, abstract_start)
        title = self.titles.find(doc, meta.pop("title", None), header, limit)
        self._second_dump_title(doc, main, header, title)

        metadata: dict[str, Any] = {key: meta.get(key) for key in METADATA_KEYS}
        metadata["authors"] = (
            meta.get("authors")
            or self._dump_authors(doc, header)
            or self._byline_after_title(doc, abstract_start)
            or []
        )
        metadata["affiliations"] = meta.get("affiliations") or []
        metadata["keywords"] = self._keywords(doc, meta.get("keywords_raw"))

        doc.fields["title"] = title
        doc.fields["metadata"] = metadata
        doc.fields["sections"] = abstract_sections(doc)
        if self.infer_unlabelled:
            self._add_inferred_sections(doc, doc.fields["sections"])
        doc.fields["page_sections"] = self.page_sections.extract(doc)
        doc.fields["statistics"] = self._statistics(doc, sections)
        self.counters["statistic_mismatches"] += len(self.crosscheck.check(doc))

        for key, value in metadata.items():
            if value:
                self.counters[f"metadata_{key}"] += 1
        for lang in LANGS:
            if title[lang]:
                self.counters[f"title_{lang}"] += 1
        self.counters["page_sections"] += len(doc.fields["page_sections"])
        self.counters["statistics"] += len(doc.fields["statistics"])
        return doc

    def _add_inferred_sections(self, doc: Document, sections: dict[str, dict[str, str]]) -> None:
        header_less = {s.lang for s in doc.sections if s.key == "other"} - {
            k for k, v in sections.items() if v
        }
        if not header_less:
            return
        english_model = None
        if "en" in header_less:
            from abstractpipe.labeller import default_labeller  # loaded only when a page needs it

            english_model = default_labeller().label
        zh_cues = self.zh_cues.label if "zh" in header_less else None
        inferred = infer_sections(doc, english_model, zh_cues, self.min_labelled_sentences)
        for lang, keys in inferred.items():
            if not sections.get(lang):
                sections[lang] = keys
                self.counters[f"sections_inferred_{lang}"] += 1
                doc.warn(
                    "sections_inferred", f"{lang}: sections of a header-less abstract were labelled by model"
                )

    def _dump_header(
        self, doc: Document, citation_block: int | None, abstract_start: int | None
    ) -> DumpHeader | None:
        """Where a text dump's title and byline are looked for: around its citation line, or
        before its abstract when it has none (HTML pages say these things in markup)."""
        if doc.source.format == "html":
            return None
        end = len(doc.text) if abstract_start is None else abstract_start
        if citation_block is not None:
            return DumpHeader(
                citation_block, end, self._passed_over_for_title, citation=True, **self.dump_title
            )
        if abstract_start is None:
            return None  # no abstract: nothing marks where a header would be
        first = next((i for i, b in enumerate(doc.blocks) if b.end > abstract_start), None)
        if first is None:
            return None
        return DumpHeader(
            first, abstract_start, self._passed_over_for_title, citation=False, **self.dump_title
        )

    def _second_dump_title(
        self, doc: Document, main: list[Section], header: DumpHeader | None, title: dict[str, str | None]
    ) -> None:
        """A bilingual dump gives each abstract its own title, byline and addresses ("妊娠期…" over
        the Chinese abstract, "Characteristics of…" over the English one): a language still
        without a title takes the title line before its own abstract."""
        if header is None:
            return
        for lang in LANGS:
            starts = [s.start for s in main if s.lang == lang]
            if title.get(lang) or not starts:
                continue
            anchor = next((i for i, b in enumerate(doc.blocks) if b.end > min(starts)), None)
            if anchor is None or anchor == header.anchor:
                continue
            own = DumpHeader(
                anchor, min(starts), self._passed_over_for_title, citation=False, **self.dump_title
            )
            text = own.title(doc)
            if text and script_lang(text) == lang:
                title[lang] = re.sub(r"\s+", " ", text).strip()

    def _passed_over_for_title(self, text: str) -> bool:
        """Bylines, addresses and citation lines: a Chinese journal's English masthead over its
        Chinese one ("Chin J Nurs, September 2020, Vol. 55, No. 9") is no title."""
        return (
            self.metadata.author_names(text) is not None
            or self.metadata.is_affiliation(text)
            or self.metadata.citation(text) is not None
        )

    def _dump_authors(self, doc: Document, header: DumpHeader | None) -> list[str] | None:
        for index in header.indices(doc) if header else ():
            if names := self.metadata.author_names(doc.block_text(doc.blocks[index])):
                return names
        return None

    def _byline_after_title(self, doc: Document, abstract_start: int | None) -> list[str] | None:
        """An HTML page without author meta tags: the byline between its <h1> and its abstract
        ("Henrik Sørensen<sup>1,2</sup>, Aiko Tanaka<sup>3</sup>")."""
        if doc.source.format != "html" or abstract_start is None:
            return None
        first = next((i for i, b in enumerate(doc.blocks) if b.kind == "heading" and b.level == 1), None)
        if first is None:
            return None
        for block in doc.blocks[first + 1 : first + 1 + BYLINE_REACH]:
            if block.start >= abstract_start:
                break
            if names := self.metadata.author_names(doc.block_text(block)):
                return names
        return None

    def _citation_block(
        self,
        doc: Document,
        limit: int,
        citations: dict[int, dict[str, Any] | None],
        abstract_start: int | None,
    ) -> int | None:
        for index, block in enumerate(doc.blocks):
            if block.start >= limit:
                break
            if block.kind == "list_item" and not self.metadata.may_hold_citation(doc, block, abstract_start):
                continue
            found = citations[index] if index in citations else self.metadata.citation(doc.block_text(block))
            if found:
                return index
        return None

    def _keywords(self, doc: Document, meta_keywords: str | None) -> dict[str, list[str]]:
        keywords: dict[str, list[str]] = {lang: [] for lang in LANGS}
        for section in doc.sections:
            if section.key == "keywords" and section.lang in keywords and not keywords[section.lang]:
                keywords[section.lang] = self.metadata.split_keywords(doc.span(section.start, section.end))
        if meta_keywords:
            lang = script_lang(meta_keywords)
            if lang in keywords and not keywords[lang]:
                keywords[lang] = self.metadata.split_keywords(meta_keywords)
        return keywords

    def _statistics(self, doc: Document, sections: list[Section]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for block in doc.blocks:
            if block.lang not in LANGS or block.kind == "heading":
                continue
            if not may_hold_statistics(doc.text, block.start, block.end):
                continue  # nor has any span inside the block: most blocks, skipped before splitting
            # Within a block, one call per abstract-section span so section offsets stay exact.
            spans = [(s.start, s.end) for s in sections if block.start <= s.start and s.end <= block.end] or [
                (block.start, block.end)
            ]
            for start, end in spans:
                for stat in self.statistics.find(doc.text[start:end], block.lang):
                    stat = dict(stat)
                    stat["start"] += start
                    stat["end"] += start
                    stat["lang"] = block.lang
                    stat["section"] = section_at(sections, stat["start"], stat["end"])
                    found.append(stat)
        found.sort(key=lambda s: (s["start"], s["end"]))
        return found
