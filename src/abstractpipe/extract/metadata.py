"""Bibliographic metadata: HTML meta tags and JSON-LD first, then citation lines in the text.

Text is searched only up to the end of the main abstract (or the whole page when
there is none), and never in list items: lists after an article are other
people's citations (similar articles, references).
"""

from __future__ import annotations

import json
import re
from typing import Any

from abstractpipe.document import Document
from abstractpipe.patterns import ascii_lowered_words, grouped_alternation

_ISO_RE = re.compile(r"^(?P<y>(?:19|20)\d\d)(?:[-/.](?P<m>\d{1,2})(?:[-/.](?P<d>\d{1,2}))?)?")
_WORDY_DATE_RE = re.compile(
    r"(?:(?P<mon1>[A-Za-z]{3,9})\.?\s+(?P<d1>\d{1,2}),?\s+(?P<y1>\d{4}))"
    r"|(?:(?P<d2>\d{1,2})\s+(?P<mon2>[A-Za-z]{3,9})\.?\s+(?P<y2>\d{4}))"
    r"|(?:(?P<y3>\d{4})\s+(?P<mon3>[A-Za-z]{3,9})(?:\s+(?P<d3>\d{1,2}))?)"
    r"|(?:(?P<y4>\d{4})\s*年\s*(?P<m4>\d{1,2})\s*月(?:\s*(?P<d4>\d{1,2})\s*日)?)"
    # A month and year without a day: "March 2020", "Mar. 2021" (citation_date, mastheads).
    r"|(?:(?P<mon5>[A-Za-z]{3,9})\.?\s+(?P<y5>\d{4}))"
)
_ARTICLE_TYPES = {"scholarlyarticle", "article", "medicalscholarlyarticle", "newsarticle", "report"}


def normalise_doi(raw: str | None) -> str | None:
    """Bare, lower-case DOI: no URL or "doi:" prefix, no trailing punctuation."""
    if not raw:
        return None
    text = raw.strip()
    text = re.sub(r"(?i)^(?:https?://(?:dx\.)?doi\.org/|doi\s*[:：]\s*)", "", text).strip()
    trimmed = text.rstrip(".,;:)]}>。，；")
    removed = text[len(trimmed) :]
    # A DOI may end with a parenthesis it opened ("10.1002/(sici)…(199801)"): put back the
    # stripped closing ones it needs, and only those (a DOI written in brackets keeps none).
    while trimmed.count("(") > trimmed.count(")") and removed.startswith(")"):
        trimmed, removed = trimmed + ")", removed[1:]
    text = trimmed.lower()
    return text if text.startswith("10.") and "/" in text else None


_PAGE_RANGE_RE = re.compile(
    r"(?P<prefix>[A-Za-z]?)(?P<first>\d+)\s*[-–~]\s*(?P<last_prefix>[A-Za-z]?)(?P<last>\d+)"
)


def page_range(first: str, last: str | None = None) -> str:
    """ "957-80", ("1234", "45") -> "957-980", "1234-1245": the pages a reader means.

    Journals shorten a range's last page to the digits that change; the record writes it in
    full, whatever the source, so one paper's pages read the same from every page about it.
    """
    text = f"{first.strip()}-{last.strip()}" if last and last.strip() != first.strip() else first.strip()
    match = _PAGE_RANGE_RE.fullmatch(text)
    if not match or match["last_prefix"] not in ("", match["prefix"]):
        return re.sub(r"\s*[-–~]\s*", "-", text)
    prefix, start, end = match["prefix"], match["first"], match["last"]
    if len(end) < len(start):
        full = start[: len(start) - len(end)] + end
        # Only when the filled-in page comes after the first: "1299-05" is no range to guess.
        end = full if int(full) > int(start) else end
    return f"{prefix}{start}-{match['last_prefix']}{end}"


class Rule:
    """A pattern of the metadata rules, and the strings one of which it needs (() for none).

    ``needs`` (configs/extract.yaml) is a fast substring test in front of a pattern that re
    cannot scan quickly (case-insensitive, or led by a wide character class): most blocks
    hold none of them, and the pattern is not tried there.  A pattern must not be able to
    match without one of them (tests/test_extract.py checks that).
    """

    __slots__ = ("_any_need", "needs", "pattern")

    def __init__(self, entry: str | dict[str, Any]) -> None:
        if isinstance(entry, dict):
            self.pattern = re.compile(str(entry["pattern"]))
            self.needs = tuple(str(need) for need in entry.get("needs") or ())
        else:
            self.pattern, self.needs = re.compile(str(entry)), ()
        # Several needs are looked for in one scan (their literal alternation finds one exactly
        # when one is in the text) rather than a generator of substring tests.
        self._any_need = (
            re.compile("|".join(re.escape(need) for need in self.needs)) if len(self.needs) > 1 else None
        )

    def search(self, text: str) -> re.Match[str] | None:
        if self._any_need is not None:
            if self._any_need.search(text) is None:
                return None
        elif self.needs and self.needs[0] not in text:
            return None
        return self.pattern.search(text)


class MetadataExtractor:
    def __init__(self, rules: dict[str, Any]) -> None:
        self.citation_lines = [Rule(entry) for entry in rules.get("citation_lines") or []]
        self.doi = Rule(rules["doi"])
        self.pmid = Rule(rules["pmid"])
        self.published_line = Rule(rules["published_line"]) if rules.get("published_line") else None
        words = rules.get("affiliation_words") or []
        self.affiliation = re.compile(
            grouped_alternation([(w, re.escape(w)) for w in words], ignore_case=True), re.IGNORECASE
        )
        # The same search on ASCII text, case-sensitive on the lower-cased text: under (?i)
        # re has no first character to scan for and tried every word at every position.
        ascii_words = ascii_lowered_words(words)
        self._ascii_affiliation = (
            re.compile(grouped_alternation([(w, re.escape(w)) for w in ascii_words], ignore_case=False))
            if ascii_words
            else None
        )
        self.affiliation_max_chars = int(rules.get("affiliation_max_chars", 300))
        self.affiliation_postcode = re.compile(rules.get("affiliation_postcode") or r"(?!)")
        self.affiliation_heading = re.compile(rules.get("affiliation_heading") or r"(?!)")
        self.affiliation_label = re.compile(rules.get("affiliation_label") or r"(?!)")
        self.affiliation_split = re.compile(rules.get("affiliation_split") or r"(?!)")
        self.affiliation_marker = re.compile(rules.get("affiliation_marker") or r"(?!)")
        self.months: dict[str, int] = {str(k): int(v) for k, v in (rules.get("months") or {}).items()}
        self.keyword_separators = [re.compile(p) for p in rules.get("keyword_separators") or []]
        # Bylines of text dumps ("Ramirez L(1), Okonkwo B(2).", "张晓梅1，王磊2"): the line splits
        # at a separator into parts each of which is one name as an item pattern has it.
        bylines = rules.get("author_lines") or {}
        self.author_separator = re.compile(bylines.get("separator") or r"(?!)")
        self.author_items = [re.compile(p) for p in bylines.get("items") or []]
        self.author_marks = re.compile(bylines.get("marks") or r"(?!)")
        self.author_label = re.compile(bylines.get("label") or r"(?!)")
        # Blocks holding nothing but identifiers ("DOI: 10.1001/…", "PMID: 32484532"), which dumps
        # put just after the abstract, and how many blocks after it they are looked for in.
        self.identifier_line = re.compile(rules.get("identifier_line") or r"(?!)")
        self.identifier_blocks_after = int(rules.get("identifier_blocks_after", 0))
        self.keyword_tail = re.compile(rules.get("keyword_tail") or r"(?!)")

    # -- dates ----------------------------------------------------------------------------------

    def iso_date(self, text: str | None) -> str | None:
        """ "2024/03/20", "March 27, 2024", "2024 Jul", "2020年5月" -> ISO 8601 (YYYY[-MM[-DD]])."""
        if not text:
            return None
        text = text.strip()
        # "2024 Jul" must not stop at the ISO reading "2024".
        if (match := _ISO_RE.match(text)) and not re.search(r"[A-Za-z年]", text[: match.end() + 4]):
            return _iso(int(match["y"]), _int(match["m"]), _int(match["d"]))
        if match := _WORDY_DATE_RE.search(text):
            for n in "1235":
                if match[f"y{n}"]:
                    month = self.months.get((match[f"mon{n}"] or "")[:3].lower())
                    day = match.groupdict().get(f"d{n}")  # (none after a month alone)
                    return _iso(int(match[f"y{n}"]), month, _int(day) if month else None)
            return _iso(int(match["y4"]), _int(match["m4"]), _int(match["d4"]))
        if match := _ISO_RE.match(text):
            return _iso(int(match["y"]), _int(match["m"]), _int(match["d"]))
        return None

    # -- sources --------------------------------------------------------------------------------

    def from_page_meta(self, meta: dict[str, list[str]]) -> dict[str, Any]:
        def first(*keys: str) -> str | None:
            for key in keys:
                for value in meta.get(key) or []:
                    if value and value.strip():
                        return value.strip()
            return None

        found: dict[str, Any] = {
            "journal": first("citation_journal_title", "dc.source", "prism.publicationname"),
            # Every value is tried: dc.identifier is often repeated, an ISSN or URL before the DOI.
            "doi": next(
                (
                    doi
                    for key in ("citation_doi", "dc.identifier", "prism.doi")
                    for value in meta.get(key) or []
                    if (doi := normalise_doi(value))
                ),
                None,
            ),
            "pmid": _pmid_digits(first("citation_pmid")),
            "volume": first("citation_volume", "prism.volume"),
            "issue": first("citation_issue", "prism.number"),
            "published": self.iso_date(first("citation_publication_date", "citation_date", "dc.date")),
            # Older Highwire tags give all authors in one: citation_authors "Rossi, Marco; Bianchi, Laura".
            "authors": [
                a.strip()
                for a in meta.get("citation_author")
                or meta.get("dc.creator")
                or [
                    name
                    for value in meta.get("citation_authors") or []
                    for name in re.split(r"\s*[;；]\s*", value)
                ]
                if a.strip()
            ],
            "affiliations": _unique(meta.get("citation_author_institution") or []),
        }
        # dc.source often holds the whole citation ("中国老年学杂志, 2021, 41(6): 1201-1204",
        # DOAJ's "Journal of X, Vol 18, Iss 2, Pp 101-109 (2020)"): the journal is its name.
        if found["journal"] and not meta.get("citation_journal_title"):
            source = self.citation(found["journal"])
            if source and source.get("journal"):
                for key in ("journal", "volume", "issue", "pages", "year"):
                    if source.get(key) and (key == "journal" or not found.get(key)):
                        found[key] = source[key]
            else:
                found["journal"] = re.split(r"\s*[,，]\s*(?=Vol\b|\d)", found["journal"])[0]
        first_page = first("citation_firstpage", "prism.startingpage")
        last_page = first("citation_lastpage", "prism.endingpage")
        if first_page:
            found["pages"] = page_range(first_page, last_page)
        elif pages := first("citation_pages"):
            found["pages"] = page_range(pages)
        keywords = _keywords_meta(meta)
        if keywords:
            found["keywords_raw"] = keywords
        for raw in meta.get("jsonld") or []:
            for key, value in self.from_jsonld(raw).items():
                if not found.get(key):
                    found[key] = value
        # article:published_time is the web page's date (a summary site's post, a news item), not
        # the paper's: it comes last, after a citation line's date (see extract).
        if not found.get("published") and not found.get("page_published"):
            found["page_published"] = self.iso_date(first("article:published_time"))
        return {k: v for k, v in found.items() if v}

    def from_jsonld(self, raw: str) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, TypeError):
            return {}
        for item in _jsonld_items(data):
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if not any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds):
                continue
            found: dict[str, Any] = {"title": item.get("headline") or item.get("name")}
            # Only a scholarly article's date is the paper's; an Article or NewsArticle is the page's.
            scholarly = any(isinstance(k, str) and "scholarly" in k.lower() for k in kinds)
            found["published" if scholarly else "page_published"] = self.iso_date(item.get("datePublished"))
            authors = item.get("author") or []
            authors = authors if isinstance(authors, list) else [authors]
            found["authors"] = [name for name in map(_jsonld_person, authors) if name]
            part = item.get("isPartOf")
            while isinstance(part, dict):
                # The issue and volume sit on the way up to the periodical.
                for key, field in (("issue", "issueNumber"), ("volume", "volumeNumber")):
                    found[key] = found.get(key) or _jsonld_text(part.get(field))
                if str(part.get("@type", "")).lower() == "periodical" or "isPartOf" not in part:
                    found["journal"] = part.get("name")
                    break
                part = part.get("isPartOf")
            found["doi"] = normalise_doi(
                str(item.get("doi") or item.get("sameAs") or "") or None
            ) or _jsonld_doi(item.get("identifier"))
            first_page, last_page = _jsonld_text(item.get("pageStart")), _jsonld_text(item.get("pageEnd"))
            if first_page:
                found["pages"] = page_range(first_page, last_page)
            # Keywords of scholarly articles only: news and blog pages fill theirs with CMS tags
            # ("channel_other", "type_news").
            keywords = item.get("keywords") if scholarly else None
            if isinstance(keywords, list):
                keywords = "; ".join(str(k).strip() for k in keywords if str(k).strip())
            found["keywords_raw"] = keywords if isinstance(keywords, str) else None
            return {k: v for k, v in found.items() if v}
        return {}

    def citation(self, text: str) -> dict[str, Any] | None:
        """The fields of a citation line, or None when the block is not one."""
        for pattern in self.citation_lines:
            match = pattern.search(text)
            if not match:
                continue
            groups = {k: v.strip() for k, v in match.groupdict().items() if v}
            found: dict[str, Any] = {"journal": groups.get("journal")}
            if "year" in groups:
                found["year"] = int(groups["year"])
            for key in ("volume", "issue"):
                if key in groups:
                    found[key] = groups[key]
            if "pages" in groups:
                found["pages"] = page_range(groups["pages"])
            found["published"] = self.iso_date(groups.get("date")) or (
                str(found["year"]) if "year" in found else None
            )
            if "doi" in groups:
                found["doi"] = normalise_doi(groups["doi"])
            return {k: v for k, v in found.items() if v}
        return None

    def author_names(self, text: str) -> list[str] | None:
        """The names of a byline ("Fischer H(1)(2), Morgan T(3)."), or None when it is not one."""
        text = text.strip().rstrip(".。")
        # A labelled byline ("Authors: Adams J, Baker K", "作者：张三，李四") is one for certain.
        labelled = self.author_label.match(text)
        if labelled:
            text = text[labelled.end() :].strip()
        if not text or len(text) > 1000 or not self.author_items:
            return None
        names = [part.strip() for part in self.author_separator.split(text)]
        if not all(names) or not all(
            any(item.fullmatch(name) for item in self.author_items) for name in names
        ):
            return None
        bare = [self.author_marks.sub("", name).strip() for name in names]
        # One unmarked name is as likely a journal rubric or a place ("临床研究", "广州").
        return bare if labelled or len(bare) > 1 or bare[0] != names[0] else None

    def is_identifier_block(self, text: str) -> bool:
        return self.identifier_line.fullmatch(text.strip()) is not None

    def extract(
        self,
        doc: Document,
        limit: int,
        citations: dict[int, dict[str, Any] | None] | None = None,
        abstract_start: int | None = None,
    ) -> dict[str, Any]:
        """Metadata of the page; text sources only before offset ``limit``.

        ``citations``, when given, receives ``citation()`` of each block read for one, by block
        index, so a caller looking for citation lines too need not read them again.
        ``abstract_start`` (the main abstract's first offset, None without one) bounds the list
        items of a text dump read for a citation line.
        """
        meta = self.from_page_meta(doc.page_meta)
        from_text: dict[str, Any] = {}
        affiliations: list[str] = []
        citation_seen = False
        published_line: str | None = None
        index = -1
        # Abstract text is no address, whatever words it has ("方法：在三家康复中心开展…，…").
        section_spans = [(s.start, s.end) for s in doc.sections]
        header_end = len(doc.text) if abstract_start is None else abstract_start
        heading = ""  # the latest heading's text
        for index, block in enumerate(doc.blocks):
            if block.start >= limit:
                break
            if block.kind == "heading":
                heading = doc.block_text(block).strip()
            if not self.may_hold_citation(doc, block, abstract_start):
                # A list under an "Affiliations" heading before the abstract (PubMed's page) is
                # the authors' addresses, not other people's citations.
                if (
                    block.kind == "list_item"
                    and block.start < header_end
                    and self.affiliation_heading.fullmatch(heading)
                    and self.is_affiliation(text := doc.block_text(block))
                ):
                    affiliations.extend(self.affiliation_parts(text))
                continue
            text = doc.block_text(block)
            if not citation_seen:
                found = self.citation(text)
                if citations is not None:
                    citations[index] = found
                if found:
                    citation_seen = True
                    for key, value in found.items():
                        from_text.setdefault(key, value)
            if "doi" not in from_text and (match := self.doi.search(text)):
                from_text["doi"] = normalise_doi(match["doi"])
            if "pmid" not in from_text and (match := self.pmid.search(text)):
                from_text["pmid"] = match["pmid"]
            if published_line is None and self.published_line and (match := self.published_line.search(text)):
                published_line = self.iso_date(match["date"])
            # Addresses come before the citation line, or (PubMed's abstract format) after it,
            # numbered ("(1)Department…") or under "Author information:", up to the abstract.
            if (
                (not citation_seen or (block.start < header_end and self.numbered_or_labelled(doc, index)))
                and not any(start < block.end and block.start < end for start, end in section_spans)
                and self.is_affiliation(text)
            ):
                affiliations.extend(self.affiliation_parts(text))
        else:
            index = len(doc.blocks)
        # Dumps give the identifiers just after the abstract (PubMed's "DOI: …" and "PMID: …"
        # lines): blocks of identifiers only, in the first few after it, before any heading or list.
        for block in doc.blocks[index : index + self.identifier_blocks_after]:
            text = doc.block_text(block)
            # (The text cleaner may call a short identifier line a heading: "DOI: 10.1016/…"
            # over "PMID: 31524532 [Indexed for MEDLINE]"; it is read like a paragraph.)
            if not self.is_identifier_block(text):
                if block.kind != "paragraph":
                    break
                continue
            if "doi" not in from_text and (match := self.doi.search(text)):
                from_text["doi"] = normalise_doi(match["doi"])
            if "pmid" not in from_text and (match := self.pmid.search(text)):
                from_text["pmid"] = match["pmid"]
        if affiliations:
            from_text["affiliations"] = _unique(affiliations)
        # A citation line often gives the year alone: a dated "Published" line of that year is fuller.
        cited = str(from_text.get("published") or "")
        if published_line and published_line.startswith(cited[:4]) and len(published_line) > len(cited):
            from_text["published"] = published_line
        merged = {**{k: v for k, v in from_text.items() if v}, **meta}
        page_published = merged.pop("page_published", None)
        if not merged.get("published") and page_published:
            merged["published"] = page_published
        if "year" not in merged and merged.get("published"):
            merged["year"] = int(str(merged["published"])[:4])
        return merged

    @staticmethod
    def may_hold_citation(doc: Document, block: Any, abstract_start: int | None) -> bool:
        """Whether a block is read for metadata: not a table, and a list item only in a text
        dump before its abstract (PubMed numbers each record: "1. JAMA. 2020 Jun 2;…"), as
        lists elsewhere (and on a page without an abstract) are other people's citations."""
        if block.kind == "table":
            return False
        if block.kind == "list_item":
            return doc.source.format != "html" and abstract_start is not None and block.start < abstract_start
        return True

    def numbered_or_labelled(self, doc: Document, index: int) -> bool:
        """An address line that starts with its number, or follows an affiliations label line."""
        if self.affiliation_marker.match(doc.block_text(doc.blocks[index]).strip()):
            return True
        previous = doc.block_text(doc.blocks[index - 1]).strip() if index > 0 else ""
        return (
            self.affiliation_label.match(previous) is not None
            and self.affiliation_label.sub("", previous) == ""
        )

    def affiliation_parts(self, text: str) -> list[str]:
        """The addresses of an affiliation line, without label, enclosing brackets or numbers."""
        text = self.affiliation_label.sub("", text.strip()).strip()
        if (text[:1], text[-1:]) == ("（", "）") or (
            (text[:1], text[-1:]) == ("(", ")") and not self.affiliation_marker.match(text)
        ):
            text = text[1:-1].strip()
        parts = [
            self.affiliation_marker.sub("", part.strip()).strip()
            for part in self.affiliation_split.split(text)
        ]
        return [part for part in parts if part]

    def is_affiliation(self, text: str) -> bool:
        # An address: comma-separated parts, ending like a sentence or with a place name.  The
        # cheap tests go first: most blocks fail them before the word search.
        commas = text.count(",") + text.count("，")
        if len(text) > self.affiliation_max_chars or commas < 1:
            return False
        # One comma is enough before a postcode ("（河北医科大学第二医院心内科，河北 石家庄 050000）").
        if commas < 2 and not self.affiliation_postcode.search(text):
            return False
        if self._ascii_affiliation is not None and text.isascii():
            found = self._ascii_affiliation.search(text.lower()) is not None
        else:
            found = self.affiliation.search(text) is not None
        return found and not re.search(r"\d{4}\s*;", text)

    def split_keywords(self, text: str) -> list[str]:
        text = self.keyword_tail.sub("", text.strip()).strip().rstrip(".。;；")
        if not text:
            return []
        for separator in self.keyword_separators:
            parts = [p.strip(" .。") for p in separator.split(text)]
            parts = [p for p in parts if p]
            if len(parts) > 1:
                return parts
        return [text]


def _keywords_meta(meta: dict[str, list[str]]) -> str | None:
    """The keywords of the page's meta tags as one list line.

    Many sites write one citation_keywords tag per keyword: those are joined with "; " (the
    first separator split_keywords tries).  Tags that are lists themselves (a page repeating
    its keywords tag, each a whole list) are not joined: the first is kept as written.
    """
    for key in ("citation_keywords", "keywords"):
        values = _unique(meta.get(key) or [])
        if len(values) > 1 and not any(re.search(r"[;；,，、]", value.rstrip(";；,，")) for value in values):
            return "; ".join(value.rstrip(";；,，") for value in values)
        if values:
            return values[0]
    return None


def _pmid_digits(raw: str | None) -> str | None:
    """ "PMID: 31776789" (some sites write the label into the tag) -> "31776789"."""
    match = re.search(r"\d{1,9}", raw or "")
    return match[0] if match else None


def _jsonld_items(data: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if isinstance(data, list):
        for entry in data:
            items.extend(_jsonld_items(entry))
    elif isinstance(data, dict):
        items.append(data)
        if isinstance(data.get("@graph"), list):
            items.extend(_jsonld_items(data["@graph"]))
    return items


def _jsonld_text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, (str, int)) else None


def _jsonld_person(author: Any) -> str | None:
    """A JSON-LD author's name: "name", or "givenName familyName" when there is no name."""
    if not isinstance(author, dict):
        return str(author).strip() or None if author else None
    if name := _jsonld_text(author.get("name")):
        return name
    parts = [_jsonld_text(author.get(key)) for key in ("givenName", "familyName")]
    return " ".join(part for part in parts if part) or None


def _jsonld_doi(identifier: Any) -> str | None:
    """A DOI among JSON-LD identifiers: a string, or a PropertyValue named DOI."""
    for entry in identifier if isinstance(identifier, list) else [identifier]:
        if isinstance(entry, dict):
            if str(entry.get("propertyID", "")).lower() == "doi" and (
                doi := normalise_doi(_jsonld_text(entry.get("value")))
            ):
                return doi
        elif isinstance(entry, str) and (doi := normalise_doi(entry)):
            return doi
    return None


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _iso(year: int, month: int | None, day: int | None) -> str:
    if month and 1 <= month <= 12:
        if day and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}"


def _unique(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        value = value.strip()
        if value and value not in seen:
            seen.append(value)
    return seen
