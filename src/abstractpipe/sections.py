"""Find the abstracts on a page and their labelled sections.

Headers come in many forms: "BACKGROUND: …", "BACKGROUND — …", "Objective. …",
"Objective To investigate…" (PDF-converted journals), "METHODOLOGY/PRINCIPAL FINDINGS:",
"Background & Aims:", "Conclusion(s):", "目的：…", "目 的：…", "【目的】…", "目的 探讨…",
"目的/意义：…", "方法选取…" glued after "。", or a heading on its own line followed by
paragraphs.  Each block is scanned for candidate headers, abstract markers
("Abstract", "摘要") and keywords markers; a small state machine then walks
the candidates in text order and decides which ones really open a section.

How sure a candidate is decides what it may do:

* strong ("BACKGROUND:", "【目的】", "目的：" at a sentence start) opens an abstract anywhere;
* medium ("Results:", "Objective.", a heading on its own line) opens a tentative
  abstract, kept only if it gets several sections;
* weak ("Methods A total…", "方法选取…") is a header only inside an abstract
  and only when it moves forward in the canonical order, so "。结果显示…" inside
  the results is not read as a second results header.

A keywords line, a heading that is not a header, or a block that does not start
with a header ends the abstract.  After a paper body has started (a numbered or
"Introduction" heading after an abstract) only an abstract marker opens a new one,
so "1 资料与方法" / "2 结果" and the body text never become abstract sections.

Sections are emitted with ``key`` in the canonical keys, "keywords" (the keywords
line, so extract can read it) or "other" (unlabelled text after a marker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from abstractpipe.config import Config, ConfigError
from abstractpipe.document import CANONICAL_SECTIONS, Block, Document, Section
from abstractpipe.patterns import (
    CJK_CHAR,
    WordStartPattern,
    WordStartPatterns,
    ascii_lowered_words,
    case_blind,
    first_characters,
    grouped_alternation,
    script_counts,
    script_lang,
)
from abstractpipe.pipeline import Step, register_step

WEAK, MEDIUM, STRONG = 0, 1, 2
# Markdown heading marks, quote marks and bullets a block may start with.
_LEAD_RE = re.compile(r"^[\s#>*•·\-]*")
_HEADING_MARK_RE = re.compile(r"^\s*#{1,6}\s*")
_BRACKET_RE = re.compile(r"[【\[〔［]\s*(?P<label>[^\]】〕］\n]{1,24}?)\s*[】\]〕］]\s*[:：]?\s*")
# What may follow an English header in place of a colon: as telling as the colon itself.
_COLON_OR_DASH = (":", "：", "—", "–", "-")
_SPLIT_LABEL_RE = re.compile(r"\s*[/／、&]\s*|\s+and\s+|\s*[与及和]\s*")


def section_lang(body: str, header: str, fallback: str) -> str:
    """The language of a section body; the header's script decides close calls."""
    cjk, latin = script_counts(body)
    if not cjk and not latin:
        return fallback
    share = cjk / (cjk + latin)
    header_lang = script_lang(header, "")
    if header_lang == "zh" and share >= 0.1:
        return "zh"
    if header_lang == "en" and share < 0.5:
        return "en"
    return "zh" if share >= 0.3 else "en"


def _norm_label(text: str) -> str:
    # str.split() splits on exactly the characters \s matches: one space per run of them.
    return " ".join(text.lower().replace("’", "'").split())


# Spaces between two Han characters: PDF conversions spread labels out ("目 的：", "结 论").
_CJK_SPACES_RE = re.compile(
    r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])[\s\u3000]+(?=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])"
)


def _label_form(text: str) -> str:
    """A label as the lexicon is keyed: normalised, with no spaces between Han characters."""
    norm = _norm_label(text)
    return norm if norm.isascii() else _CJK_SPACES_RE.sub("", norm)


def _label_regex(label: str) -> str:
    parts = label.split()
    if len(parts) == 1 and len(label) > 1 and all(CJK_CHAR.match(char) for char in label):
        # "目的" also as "目 的" / "目\u3000的"
        return r"[ \u3000]?".join(re.escape(char) for char in label)
    return r"\s*".join(re.escape(part) for part in parts)


def _alternation(labels: list[str], *, ignore_case: bool) -> str:
    # Longest first so "materials and methods" wins over "methods".
    ordered = sorted(set(labels), key=lambda s: (-len(s), s))
    branches = [(label.lstrip(), _label_regex(label)) for label in ordered]
    return grouped_alternation(branches, ignore_case=ignore_case)


def _ascii_screen(words: list[str]) -> re.Pattern[str] | None:
    """A case-sensitive search, in ``" " + text.lower()`` of an ASCII text, for where a word starts.

    Every match of the English patterns starts with one of ``words`` (case ignored, spaces as
    ``\\s*``) after a non-letter, so on an ASCII text without a hit they find nothing.  Lower
    case and no (?i) let re skip to the few places worth trying, and no tail is tried there.
    A word that cannot match ASCII text is left out; None when a word's non-ASCII character
    matches an ASCII one under (?i) ("ſ" matches "s"), which lower() does not show.
    """
    kept = ascii_lowered_words(words)
    if not kept:
        return None
    return re.compile(rf"[^a-z](?={_alternation(kept, ignore_case=False)})")


def _caseless(char: str) -> bool:
    """A symbol with no case ("©"): under (?i) it matches only itself, and lower() keeps it."""
    return not char.isalpha() and char.lower() == char == char.upper() and char.casefold() == char


def _case_blind_screen(words: list[str]) -> re.Pattern[str] | None:
    """A case-sensitive search, in ``case_blind(text)`` of any text, for one of ``words``.

    Every match of the English patterns starts with one of ``words`` under (?i), spaces as
    ``\\s*``; where an ASCII word matches under (?i), ``case_blind`` text holds it lower-cased,
    and a Han character (the Chinese stop labels) matches only itself and is left as it is:
    a text without a hit has no English label (the non-ASCII blocks, mostly Chinese, that
    ``_ascii_screen`` does not take).  None when a word holds any other character.
    """
    if not all(char.isascii() or CJK_CHAR.match(char) or _caseless(char) for word in words for char in word):
        return None
    return re.compile(_alternation([word.lower() for word in words], ignore_case=False))


@dataclass
class _Candidate:
    kind: str  # header | marker | keywords
    pos: int  # absolute offset of the header token
    body: int  # absolute offset where the text after it starts
    key: str = ""
    header: str = ""
    strength: int = WEAK
    own_line: bool = False
    block_start: bool = False  # the first thing in its block (after bullets and heading marks)


@dataclass
class _Pending:
    key: str
    header: str
    start: int | None  # None until the first body block of a heading on its own line
    own_line: bool
    strength: int = WEAK
    blocks: int = 0
    block_lang: str = ""


@dataclass
class _Run:
    """An abstract being collected: consecutive sections of one language."""

    marker: bool  # opened by "Abstract" / "摘要"
    strong: bool = False  # has an unambiguous header
    lang: str = ""
    sections: list[Section] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    last_order: int = -1


class SectionRules:
    """The compiled lexicon of configs/sections.yaml."""

    def __init__(self, rules: dict[str, Any]) -> None:
        if not isinstance(rules, dict) or "headers" not in rules:
            raise ConfigError("sections rules need a 'headers' mapping")
        self.order: list[str] = list(rules.get("order") or CANONICAL_SECTIONS)
        self.label_key: dict[str, str] = {}
        labels: dict[str, list[str]] = {"en": [], "zh": []}
        for lang, by_key in rules["headers"].items():
            for key, words in by_key.items():
                if key not in self.order:
                    raise ConfigError(f"sections rules: unknown key {key!r}")
                for word in words:
                    self.label_key[_label_form(word)] = key
                    labels[lang].append(word)
        self.markers = {_label_form(w) for ws in rules["abstract_markers"].values() for w in ws}
        self.keywords = {_label_form(w) for ws in rules["keywords_markers"].values() for w in ws}
        self.closing_markers = {_label_form(w) for w in rules.get("closing_markers") or []}
        # Stop labels that are everyday words ("Impact"): they stop an abstract only before a colon.
        colon_stop_words = [w for ws in (rules.get("colon_stop_labels") or {}).values() for w in ws]
        self.colon_stops = {_label_form(w) for w in colon_stop_words}
        self.stops = {_label_form(w) for ws in (rules.get("stop_labels") or {}).values() for w in ws}
        self.stops |= self.colon_stops
        body = rules.get("body_start") or {}
        self.body_numbered = re.compile(body.get("numbered") or r"(?!)")
        self.body_words = {_label_form(w) for w in body.get("words") or []}
        self.sentence_end = set(rules.get("sentence_end") or "。.;；")
        self.own_line_max_blocks = int(rules.get("own_line_max_blocks", 6))
        self.tentative_min_sections = int(rules.get("tentative_min_sections", 2))
        self.tentative_max_chars = int(rules.get("tentative_max_section_chars", 4000))
        self.other_min_chars = int(rules.get("other_min_chars", 20))
        self.own_line_max_chars = int(rules.get("own_line_max_chars", 60))

        en = _alternation(labels["en"], ignore_case=True)
        zh = _alternation(labels["zh"], ignore_case=False)
        en_markers = _alternation(rules["abstract_markers"].get("en") or [], ignore_case=True)
        zh_markers = _alternation(rules["abstract_markers"].get("zh") or [], ignore_case=False)
        en_keywords = _alternation(rules["keywords_markers"].get("en") or [], ignore_case=True)
        zh_keywords = _alternation(rules["keywords_markers"].get("zh") or [], ignore_case=False)
        # Each English pattern is (?<![A-Za-z]) + label + tail: WordStartPattern scans them fast.
        # tail: ":" | a dash ("BACKGROUND — …", "Methods - …") | ". " before a capital
        # | space before a capital | glued capital/digit
        self.en_header = WordStartPattern(
            # Two labels joined by a slash or "&" ("METHODOLOGY/PRINCIPAL FINDINGS:",
            # "Background & Aims:") are one header.
            # A plural written "(s)" ("Conclusion(s):", "Objective(s):") belongs to the label.
            rf"(?P<label>(?i:{en})(?:\([sS]\))?(?:\s*[/／&]\s*(?i:{en})(?:\([sS]\))?)?)"
            r"(?P<tail>\s*[:：]\s*|\s*[—–]\s*|\s+-\s+|\.\s+(?=[A-Z0-9])|\s+(?=[A-Z0-9($])|(?=[A-Z0-9]))",
            first_characters(labels["en"]),
        )
        self.zh_header = re.compile(
            # A second part joined on before a colon ("目的/意义：", "方法/过程：", "结论与讨论：")
            # belongs to the header; the first part gives the key.
            rf"(?P<label>{zh})"
            rf"(?P<joined>[ \u3000]*[/／][ \u3000]*[\u4e00-\u9fff]{{1,6}}(?=[ \u3000]*[:：])"
            rf"|[与及和、][\u4e00-\u9fff]{{1,4}}(?=[ \u3000]*[:：]))?"
            r"(?P<tail>\s*[:：]\s*|[\s\u3000]+|(?=[^\s:：，,。、；;）)\]】]))"
        )
        self.en_marker = WordStartPattern(
            # "Abstract—Background: …" (IEEE): a dash after the marker, as after a header
            rf"(?P<label>(?i:{en_markers}))(?P<tail>\s*[:：.]\s*|\s*[—–]\s*|\s+(?=[A-Z\[【])|\s*$)",
            first_characters(rules["abstract_markers"].get("en") or []),
        )
        # "摘要目的：…": a marker glued to the first header (text dumps that lost the space)
        self.zh_marker = re.compile(
            rf"(?P<label>{zh_markers})(?P<tail>\s*[:：]\s*|[\s\u3000]+|\s*$|(?=(?:{zh})))"
        )
        self.en_keywords = WordStartPattern(
            rf"(?P<label>(?i:{en_keywords}))(?P<tail>\s*[:：·]\s*|\s+(?=\S))",
            first_characters(rules["keywords_markers"].get("en") or []),
        )
        self.zh_keywords = re.compile(rf"(?P<label>{zh_keywords})(?P<tail>\s*[:：·]\s*|[\s\u3000]+)")
        stop_words = [w for ws in (rules.get("stop_labels") or {}).values() for w in ws] + colon_stop_words
        stops = _alternation(stop_words, ignore_case=True)
        self.stop = WordStartPattern(
            # "©2024 Elsevier": a year may follow a stop label unspaced.
            rf"(?P<label>(?i:{stops}))(?P<tail>\s*[:：]\s*|\s+|(?=\d)|$)",
            first_characters(stop_words),
        )
        # The four scanned in one pass (scan reads them all on every block).
        self.english = WordStartPatterns([self.en_header, self.en_marker, self.en_keywords, self.stop])
        en_words = [
            *labels["en"],
            *(rules["abstract_markers"].get("en") or []),
            *(rules["keywords_markers"].get("en") or []),
            *stop_words,
        ]
        self.ascii_screen = _ascii_screen(en_words)
        self.case_blind_screen = _case_blind_screen(en_words)
        # (An empty list makes an empty label, which matches anywhere.)
        zh_lists = [labels["zh"], rules["abstract_markers"].get("zh"), rules["keywords_markers"].get("zh")]
        self.zh_not_ascii = all(words and not any(word.isascii() for word in words) for words in zh_lists)

    def lookup(self, label: str) -> tuple[str, str] | None:
        """(kind, key) of a label as written: header, marker or keywords."""
        norm = _label_form(label)
        if norm in self.markers:
            return "marker", "abstract"
        if norm in self.keywords:
            return "keywords", "keywords"
        if norm in self.stops:
            return "stop", ""
        if norm in self.label_key:
            return "header", self.label_key[norm]
        # "目的/意义", "Results/Conclusions", "Methods and Process": the first known part
        for part in _SPLIT_LABEL_RE.split(norm):
            if part in self.label_key:
                return "header", self.label_key[part]
        return None


class SectionFinder:
    """Finds abstract sections in a cleaned, language-tagged document."""

    def __init__(self, rules: SectionRules) -> None:
        self.rules = rules

    # -- scanning -------------------------------------------------------------------------------

    def own_line(self, text: str) -> tuple[str, str] | None:
        """A block that is only a header, marker or keywords word ("Methods", "【摘要】", "目的：")."""
        core = _HEADING_MARK_RE.sub("", text).strip()
        if not core or len(core) > self.rules.own_line_max_chars:
            return None
        core = core.strip(" :：.。").strip()
        if len(core) >= 2 and core[0] in "【[〔" and core[-1] in "】]〕":
            core = core[1:-1].strip()
        if ":" in core or "：" in core:
            # "背景与目的：替奈普酶…" is a header and its body on one short line, not a header
            # alone (lookup's split at "与" would find "背景" and drop the body).
            return None
        return self.rules.lookup(core) if core else None

    def is_body_start(self, text: str) -> bool:
        core = _HEADING_MARK_RE.sub("", text).strip()
        if self.rules.body_numbered.match(core):
            return True
        return _label_form(core.strip(" :：.。")) in self.rules.body_words

    def scan(self, text: str, offset: int) -> list[_Candidate]:
        """Header, marker and keywords candidates in one block, in text order, no overlaps."""
        found: list[tuple[_Candidate, bool]] = []  # (candidate, needs a sentence boundary)
        for match in _BRACKET_RE.finditer(text):
            hit = self.rules.lookup(match["label"])
            if hit:
                kind, key = hit
                header = match.group(0).rstrip(" :：\u3000")
                cand = _Candidate(kind, offset + match.start(), offset + match.end(), key, header, STRONG)
                found.append((cand, False))
        ascii_text = text.isascii()
        # The Chinese patterns are case-sensitive, and each of their words holds a non-ASCII
        # character (zh_not_ascii): an ASCII text holds none of them.
        skip_zh = ascii_text and self.rules.zh_not_ascii
        screen = self.rules.ascii_screen if ascii_text else self.rules.case_blind_screen
        if (
            screen is not None
            and screen.search(" " + text.lower() if ascii_text else case_blind(text)) is None
        ):
            en_header = en_marker = en_keywords = stop = []  # most blocks: no English label at all
        else:
            en_header, en_marker, en_keywords, stop = self.rules.english.finditer_each(text)
        lead_in_text = _LEAD_RE.match(text).end()  # type: ignore[union-attr]
        for match in en_header:
            label, tail = match["label"], match["tail"]
            bare = label.replace("(s)", "").replace("(S)", "")
            key = self.rules.label_key.get(_label_form(bare))
            if key is None and any(joiner in bare for joiner in "/／&"):
                hit = self.rules.lookup(bare)  # a joined pair: its first known part
                key = hit[1] if hit is not None and hit[0] == "header" else None
            if key is None or not label[0].isupper():
                continue
            if any(mark in tail for mark in _COLON_OR_DASH):
                strength = STRONG if label.isupper() and len(label) > 2 else MEDIUM
                needs_boundary = strength != STRONG
            elif "." in tail:
                strength, needs_boundary = MEDIUM, True
            else:
                # "DESIGNATED" is not "DESIGN" + "ATED": glued forms only for title-case labels.
                if not tail and label.isupper():
                    continue
                # "OBJECTIVES To estimate…" (bold run-in headers of BMJ-style pages lose their
                # markup): an upper-case label before a capital is as telling as "Objective. …".
                # So is a title-case label opening its block ("Background Antenatal steroids…",
                # "<strong>Methods</strong> We did…"): it may open a tentative abstract, which
                # is kept only with several sections.
                telling = (label.isupper() and len(label) > 2) or match.start() <= lead_in_text
                strength = MEDIUM if tail and telling else WEAK
                needs_boundary = True
            cand = _Candidate("header", offset + match.start(), offset + match.end(), key, label, strength)
            found.append((cand, needs_boundary))
        for match in self.rules.zh_header.finditer(text) if not skip_zh else ():
            label, tail = match["label"], match["tail"]
            key = self.rules.label_key.get(_label_form(label))
            if key is None:
                continue
            if not (":" in tail or "：" in tail) and len(label) > len(_label_form(label)):
                continue  # "结 果 显 示…" of a text spaced out throughout: only "结 果：" is a label
            if ":" in tail or "：" in tail:
                strength = STRONG
            elif tail and not tail.strip():
                # "目的 探讨…" (PDF-converted journals): a space after the label is as telling as
                # "Objective. …" in English, and may open an abstract with no "摘要" before it.
                strength = MEDIUM
            else:
                strength = WEAK  # glued: "结果显示…" is more often prose than a header
            header = label + (match["joined"] or "")
            cand = _Candidate("header", offset + match.start(), offset + match.end(), key, header, strength)
            found.append((cand, True))
        for matches, kind in (
            (en_marker, "marker"),
            (self.rules.zh_marker.finditer(text) if not skip_zh else (), "marker"),
            (en_keywords, "keywords"),
            (self.rules.zh_keywords.finditer(text) if not skip_zh else (), "keywords"),
            (stop, "stop"),
        ):
            for match in matches:
                tail = match["tail"]
                if (
                    kind == "stop"
                    and ":" not in tail
                    and "：" not in tail
                    and _label_form(match["label"]) in self.rules.colon_stops
                ):
                    continue  # "Impact of obesity was…" is a sentence, "IMPACT: …" a label
                has_colon = any(c in tail for c in ":：·") and kind != "stop"
                cand = _Candidate(kind, offset + match.start(), offset + match.end(), kind, match["label"])
                # "摘要：" / "Key words:" count anywhere; bare words only at a sentence start.
                found.append((cand, not has_colon))
        found.sort(key=lambda item: (item[0].pos, -(item[0].body - item[0].pos)))
        accepted: list[_Candidate] = []
        last_body = offset
        lead = offset + _LEAD_RE.match(text).end()  # type: ignore[union-attr]
        for cand, needs_boundary in found:
            if cand.pos < last_body and accepted:
                continue
            if needs_boundary and not self._at_boundary(text, offset, cand.pos, lead, last_body):
                continue
            accepted.append(cand)
            last_body = cand.body
        return accepted

    def _at_boundary(self, text: str, offset: int, pos: int, lead: int, last_body: int) -> bool:
        if pos <= lead:
            return True
        before = text[last_body - offset : pos - offset] if last_body > offset else None
        if before is not None and not before.strip():
            return True  # right after another header or marker ("摘要：目的 …")
        preceding = text[: pos - offset].rstrip()
        return bool(preceding) and preceding[-1] in self.rules.sentence_end

    # -- the walk -------------------------------------------------------------------------------

    def find(self, doc: Document) -> list[Section]:
        walk = _Walk(self, doc)
        return walk.run()


class _Walk:
    """One pass over the blocks of a document (state of the abstract being read)."""

    def __init__(self, finder: SectionFinder, doc: Document) -> None:
        self.finder = finder
        self.rules = finder.rules
        self.doc = doc
        self.out: list[Section] = []
        self.run_: _Run | None = None
        self.current: _Pending | None = None
        self.body_started = False
        self.committed = 0
        self.count: dict[str, int] = {}

    def run(self) -> list[Section]:
        prev_end = 0
        for block in self.doc.blocks:
            self.block(block, prev_end)
            prev_end = block.end
        self.finish(prev_end)
        self.close_run()
        return sorted(self.out, key=lambda s: (s.start, s.end))

    def block(self, block: Block, prev_end: int) -> None:
        text = self.doc.block_text(block)
        own = self.finder.own_line(text)
        heading_like = block.kind == "heading" or bool(_HEADING_MARK_RE.match(text))
        if own is not None:
            kind, key = own
            run = self.run_
            if (
                kind == "header"
                and self.finder.is_body_start(text)
                and (self.committed or (run is not None and (run.sections or self.current)))
            ):
                # "Introduction" after an abstract starts the body, it is not a background header.
                self.finish(prev_end)
                self.close_run()
                self.body_started = self.committed > 0
                return
            self.finish(prev_end)
            cand = _Candidate(kind, block.start, block.end, key, text.strip(" #:：\u3000"), MEDIUM, True)
            self.event(cand)
            return
        if heading_like and self._opens_with_keywords(text, block.start):
            # A short keywords line ("Keywords: a; b", "【关键词】…") that the clean stage took for
            # a heading: read it as the keywords line it is.
            heading_like = False
        if heading_like or block.kind in ("table", "caption"):
            self.finish(prev_end)
            self.close_run()
            if heading_like and self.committed and self.finder.is_body_start(text):
                self.body_started = True
            return
        candidates = self.finder.scan(text, block.start)
        lead = block.start + _LEAD_RE.match(text).end()  # type: ignore[union-attr]
        starts_with_event = bool(candidates) and candidates[0].pos <= lead
        if starts_with_event:
            candidates[0].block_start = True
        current = self.current
        if current is not None and current.own_line:
            lang = block.lang if block.lang in ("en", "zh") else ""
            same_lang = not (current.block_lang and lang and lang != current.block_lang)
            # A block in neither language after the body has begun ("PMID: 37000001", an
            # identifier line) is page furniture: the section under the heading ends there.
            same_lang = same_lang and not (current.start is not None and not lang)
            if (
                not starts_with_event
                and same_lang
                and current.blocks < self.rules.own_line_max_blocks
                and block.kind in ("paragraph", "list_item")
            ):
                if current.start is None:
                    current.start = block.start
                    current.block_lang = lang
                current.blocks += 1
            else:
                self.finish(prev_end)
                if not starts_with_event:
                    self.close_run()
        elif not starts_with_event and not self.resume(block, text):
            self.finish(prev_end)
            self.close_run()  # a block without a header after inline sections: the abstract is over
        for cand in candidates:
            self.event(cand)
        if self.current is not None and not self.current.own_line:
            self.finish(block.end)

    def _opens_with_keywords(self, text: str, offset: int) -> bool:
        """Whether a block opens with a keywords marker ("【关键词】 肺炎；…"): short and without
        a final stop, such a line looks like a heading, but it is the abstract's keywords."""
        candidates = self.finder.scan(text, offset)
        lead = offset + _LEAD_RE.match(text).end()  # type: ignore[union-attr]
        return bool(candidates) and candidates[0].kind == "keywords" and candidates[0].pos <= lead

    def resume(self, block: Block, text: str) -> bool:
        """Continue the last section over a break inside a sentence (PDF page or column break)."""
        run = self.run_
        if run is None or self.current is not None or not run.sections or block.kind != "paragraph":
            return False
        last = run.sections[-1]
        previous = self.doc.text[last.start : last.end]
        first = text.lstrip()[:1]
        broken = previous[-1:] not in self.rules.sentence_end or first.islower()
        if not broken or last.key == "other" or script_lang(text, last.lang) != last.lang:
            return False
        # Nothing but the break may lie between the section and this block.
        if self.doc.text[last.end : block.start].strip():
            return False
        run.sections.pop()
        self.current = _Pending(last.key, last.header, last.start, False, STRONG, block_lang=last.lang)
        return True

    def event(self, cand: _Candidate) -> None:
        if cand.kind == "marker" and self.closes_run(cand):
            # "Purpose of review … Recent findings … Summary …": a closing marker after the
            # results is the abstract's last section, not a second abstract.
            cand = _Candidate(
                "header", cand.pos, cand.body, "conclusions", cand.header, MEDIUM, cand.own_line
            )
        if cand.kind == "marker":
            self.finish(cand.pos)
            self.close_run()
            self.run_ = _Run(marker=True)
            start = None if cand.own_line else cand.body
            self.current = _Pending("other", cand.header, start, cand.own_line, STRONG)
            return
        if cand.kind == "stop":
            self.finish(cand.pos)
            self.close_run()
            return
        if cand.kind == "keywords":
            self.finish(cand.pos)
            self.close_run()
            start = None if cand.own_line else cand.body
            self.current = _Pending("keywords", cand.header, start, cand.own_line, STRONG)
            return
        order = self.rules.order.index(cand.key)
        run = self.run_
        if run is None:
            if cand.strength == WEAK or self.body_started:
                return
            self.finish(cand.pos)
            run = self.run_ = _Run(marker=False)
        elif order < run.last_order or (order == run.last_order and not self.adds_to_key(cand)):
            if cand.strength == WEAK:
                return  # "结果显示…" inside the results: not a header
            # A header repeating or going back: a second abstract starts here.
            self.finish(cand.pos)
            marker = run.marker
            self.close_run()
            if self.body_started and not marker:
                return
            run = self.run_ = _Run(marker=False)
        self.finish(cand.pos)
        start = None if cand.own_line else cand.body
        self.current = _Pending(cand.key, cand.header, start, cand.own_line, cand.strength)
        run.keys.add(cand.key)
        run.last_order = order
        run.strong = run.strong or cand.strength == STRONG

    def closes_run(self, cand: _Candidate) -> bool:
        run = self.run_
        if run is None or _label_form(cand.header.strip(" 【】[]〔〕")) not in self.rules.closing_markers:
            return False
        return run.last_order == self.rules.order.index("results") and (
            bool(run.sections) or self.current is not None
        )

    def adds_to_key(self, cand: _Candidate) -> bool:
        """A further header of the current key ("Design" then "Setting" then "Participants")."""
        # A weak header inside running text is more often prose, but one opening its own block
        # ("Exposures Parent-reported…" after "Design, Setting, and Participants …") is a header.
        if self.run_ is None or (cand.strength == WEAK and not cand.block_start):
            return False
        written = {_norm_label(s.header) for s in self.run_.sections}
        if self.current is not None:
            written.add(_norm_label(self.current.header))
        return _norm_label(cand.header) not in written

    def finish(self, end: int) -> None:
        pending, self.current = self.current, None
        if pending is None or pending.start is None:
            return
        start, end = _trim(self.doc.text, pending.start, end)
        if end <= start:
            return
        fallback = pending.block_lang or "other"
        lang = section_lang(self.doc.text[start:end], pending.header, fallback)
        if lang not in ("en", "zh"):
            return
        if pending.key == "keywords":
            index = max(0, self.count.get(lang, 0) - 1)
            self.out.append(Section(lang, "keywords", start, end, pending.header, index))
            return
        if pending.key == "other" and end - start < self.rules.other_min_chars:
            return
        run = self.run_
        if run is None:
            return
        if run.lang and run.lang != lang:
            # The other language's abstract follows without a marker (PubMed + translation).
            self.close_run()
            run = self.run_ = _Run(marker=False, strong=pending.strength == STRONG)
            if pending.key != "other":
                run.keys.add(pending.key)
                run.last_order = self.rules.order.index(pending.key)
        run.lang = lang
        run.sections.append(Section(lang, pending.key, start, end, pending.header))

    def close_run(self) -> None:
        run, self.run_ = self.run_, None
        if run is None or not run.sections:
            return
        if not (run.marker or run.strong):
            labelled = [s for s in run.sections if s.key != "other"]
            # Distinct keys: "Discussion" then "Conclusions" headings of a paper body are two
            # sections of one key, not a structured abstract.
            if len({s.key for s in labelled}) < self.rules.tentative_min_sections:
                return
            if any(s.end - s.start > self.rules.tentative_max_chars for s in labelled):
                return
        index = self.count.get(run.lang, 0)
        self.count[run.lang] = index + 1
        self.committed += 1
        for section in run.sections:
            section.abstract = index
            self.out.append(section)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@register_step("sections")
class SectionsStep(Step):
    """Append the abstracts' labelled sections to ``doc.sections``."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.finder = SectionFinder(SectionRules(self.load_stage_rules(default="sections.yaml")))

    def process(self, doc: Document) -> Document:
        found = self.finder.find(doc)
        doc.sections.extend(found)
        for section in found:
            self.counters[f"sections_{section.lang}_{section.key}"] += 1
        abstracts = {(s.lang, s.abstract) for s in found if s.key != "keywords"}
        for lang, _ in sorted(abstracts):
            self.counters[f"abstracts_{lang}"] += 1
        return doc
