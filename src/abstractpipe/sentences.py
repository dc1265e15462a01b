"""Sentences: split blocks (or the section bodies inside them) into sentences.

A sentence never crosses a block or a section boundary.  In a block that
overlaps a section only the parts inside section bodies, and what follows the
last of them ("TRIAL REGISTRATION: NCT…", in the last section's language), are
split, so a header between two sections ("OBJECTIVE:") belongs to no sentence;
a keywords section is one sentence; other blocks are split whole.

English: spaCy's blank English tokenizer, then rules over its tokens: a
sentence ends at a terminator unless it closes an abbreviation ("et al.",
"Fig."), sits inside a matched bracket pair, is a list number ("1."), or is
followed by a lower-case word.  spaCy cuts each whitespace-free chunk on its
own, so a chunk is tokenised once per process and remembered (a page's new
chunks in one spaCy call, joined by line breaks), and a chunk with no period,
terminator or bracket that is not made of closers alone (most words, "patient's")
is not tokenised at all: the rules cannot see inside it.  The spans equal those of tokenising the whole
text (``use_spacy_for_whole_text``, checked in the tests).  Chinese: a sentence ends after a stop
character (。！？；!?;) or "……", closing quotes and brackets included.  A line
that starts with a list marker starts a new sentence in both.  Rules live in
``configs/sentences.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from abstractpipe.config import PACKAGE_CONFIG_DIR
from abstractpipe.document import Document, Sentence
from abstractpipe.patterns import PatternRule, case_blind
from abstractpipe.pipeline import Step, register_step

HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A span with none of these is punctuation only: it joins the sentence before it.
CONTENT = re.compile(rf"[^\W_]|[{HAN_CLASS}]")
BLANK_LINE = re.compile(r"\n[ \t]*\n")
LIST_NUMBER = re.compile(r"\d{1,3}|[A-Za-z]|[ivxIVX]{1,4}")
# A capital initial as spaCy keeps it, its period attached ("J.").
INITIAL = re.compile(r"[A-Z]\.")
# A numbered citation right after a full stop: spaCy glues it to the stop ("30%.[5").
GLUED_CITATION = re.compile(r"(.*[.!?])\[(\d[\d,\-–—]*)")
# What a numbered citation holds: "5", "3,4", "12-14".
CITATION_NUMBERS = re.compile(r"[\d,\-–—]+")


@lru_cache(maxsize=1)
def english_tokenizer() -> Any:
    """spaCy's blank English pipeline, loaded once per process."""
    import spacy

    return spacy.blank("en")


# spaCy keeps a lexeme for every distinct word it has seen, and its tokenizer a cache
# entry for every distinct chunk, for the life of the pipeline: on unseen text that is
# ~30 new lexemes a page, without end.  Past this many the pipeline is built afresh
# (~0.3 s, every ~6,000 pages of real text), which keeps a worker's memory bounded;
# tokens do not depend on what the vocabulary has seen, so neither does the output.
ENGLISH_VOCAB_LIMIT = 200_000


def _tokenize_bounded(tokenizer: Any, text: str, rebuild: Callable[[], None]) -> Any:
    """``tokenizer(text)`` (a Doc); past ``ENGLISH_VOCAB_LIMIT`` lexemes ``rebuild`` drops the
    cached pipeline, so the next call builds a fresh one."""
    doc = tokenizer(text)
    if len(tokenizer.vocab) > ENGLISH_VOCAB_LIMIT:
        rebuild()
    return doc


def english_tokenize(text: str) -> Any:
    """spaCy's blank English tokenizer on ``text`` (a Doc), with its memory kept bounded."""
    return _tokenize_bounded(english_tokenizer().tokenizer, text, english_tokenizer.cache_clear)


@lru_cache(maxsize=1)
def chunk_tokenizer() -> Any:
    """The tokenizer of a private blank English pipeline whose vocabulary computes no attributes.

    spaCy computes a dozen attributes (shape, like_num, norm ...) for every new
    string it meets, a third of the cost of cutting unseen chunks.  Cuts come
    from the tokenizer's rules and the strings alone, never from those
    attributes, so the splitter's own pipeline skips them (spans unchanged,
    checked in the tests against ``english_tokenizer``).
    """
    import spacy

    nlp = spacy.blank("en")
    nlp.vocab.lex_attr_getters = {}
    return nlp.tokenizer


def chunk_tokenize(text: str) -> Any:
    """``chunk_tokenizer`` on ``text`` (a Doc), its memory bounded as ``english_tokenize``'s."""
    return _tokenize_bounded(chunk_tokenizer(), text, chunk_tokenizer.cache_clear)


@lru_cache(maxsize=1)
def chinese_tokenizer() -> Any:
    """spaCy's blank Chinese pipeline with jieba, loaded once per process (about a second)."""
    import spacy

    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})


def tokens(text: str, lang: str) -> list[str]:
    """Word tokens of a text (jieba words for Chinese), for callers that need them."""
    nlp = chinese_tokenizer() if lang == "zh" else english_tokenizer()
    return [t.text for t in nlp(text) if not t.is_space]


CHUNK_CACHE_SIZE = 50_000  # distinct chunks remembered per splitter (~10 MB at most)
# Chunks tokenised together are joined by this: a whitespace token of its own.
CHUNK_SEPARATOR = "\n"


def _separator_is_inert(tokenizer: Any) -> bool:
    """Whether spaCy cuts every chunk of ``CHUNK_SEPARATOR.join(chunks)`` as it cuts it alone.

    spaCy splits a text at whitespace and cuts each piece on its own; the one
    step that looks across pieces applies the special cases (tokenizer
    exceptions) to runs of tokens.  A run crossing a separator would have to
    hold the separator's own token, so none can unless a special case's text
    holds the separator (longer than it: one that is just the separator only
    ever matches the separator token).
    """
    return not any(CHUNK_SEPARATOR in key and key != CHUNK_SEPARATOR for key in tokenizer.rules)


def _matched_brackets(items: list[str], pairs: dict[str, str]) -> dict[int, int]:
    """Opening index -> closing index for every bracket pair that closes (stray ones ignored)."""
    closing_to_opening = {close: open_ for open_, close in pairs.items()}
    stacks: dict[str, list[int]] = {open_: [] for open_ in pairs}
    matched: dict[int, int] = {}
    for index, item in enumerate(items):
        if item in pairs:
            stacks[item].append(index)
        elif item in closing_to_opening and stacks[closing_to_opening[item]]:
            matched[stacks[closing_to_opening[item]].pop()] = index
    return matched


def _without_leading_boundary(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """``pattern`` less a leading ``\\b``, to search first: it matches wherever ``pattern`` does.

    re scans for a leading literal ("10.") quickly, but not behind ``\\b``: one
    scan of a text without the literal is ~20 times faster.  None when there is
    no leading ``\\b``, or ignoring case (re then scans no faster).
    """
    if not pattern.pattern.startswith("\\b") or pattern.flags & re.IGNORECASE:
        return None
    try:
        return re.compile(pattern.pattern[2:], pattern.flags)
    except re.error:
        return None


def _line_anchored(pattern: re.Pattern[str]) -> bool:
    """Whether every match of ``pattern`` starts with ``^`` (at 0, or after a line break)."""
    try:
        from re import _parser  # the parse re compiles from; private, hence the fallback

        parsed = _parser.parse(pattern.pattern, pattern.flags)
        return len(parsed) > 0 and parsed[0] == (_parser.AT, _parser.AT_BEGINNING)
    except Exception:  # another Python's internals: the general path stays right
        return False


class _ProtectedPositions:
    """A text's protected positions, found on the first question: about half the
    texts never ask (no terminator or stop), and finding them scans the whole text."""

    __slots__ = ("_find", "_positions", "_text")

    def __init__(self, find: Callable[[str], frozenset[int]], text: str) -> None:
        self._find = find
        self._text = text
        self._positions: frozenset[int] | None = None

    def __contains__(self, position: object) -> bool:
        if self._positions is None:
            self._positions = self._find(self._text)
        return position in self._positions


def _crossing(matched: dict[int, int]) -> bool:
    """Whether two of these bracket pairs overlap without one holding the other."""
    closes: list[int] = []  # closing indices of the open pairs around the current one
    for open_, close in sorted(matched.items()):
        while closes and closes[-1] < open_:
            closes.pop()
        if closes and close > closes[-1]:
            return True
        closes.append(close)
    return False


def _innermost_enclosing(matched: dict[int, int], length: int) -> list[tuple[int, int] | None]:
    """For each position, the innermost matched bracket pair strictly around it (else None)."""
    enclosing: list[tuple[int, int] | None] = [None] * length
    # Wider pairs first, so narrower (inner) pairs overwrite them.
    for open_, close in sorted(matched.items(), key=lambda pair: pair[0] - pair[1]):
        for position in range(open_ + 1, close):
            enclosing[position] = (open_, close)
    return enclosing


class SentenceSplitter:
    """Rule-based sentence boundaries for English and Chinese text."""

    def __init__(self, rules: dict[str, Any]) -> None:
        english = rules.get("english", {}) or {}
        chinese = rules.get("chinese", {}) or {}
        abbreviations: set[str] = set()
        for abbreviation in english.get("abbreviations", []):
            word = str(abbreviation)
            abbreviations.update({word, word[:1].swapcase() + word[1:]})
        self.abbreviations = frozenset(abbreviations)
        self.terminators = frozenset(str(t) for t in english.get("terminators", [".", "!", "?"]))
        self.en_closers = frozenset(str(c) for c in english.get("closers", [")", "]"]))
        self.en_brackets = {str(k): str(v) for k, v in (english.get("brackets") or {"(": ")"}).items()}
        self.en_list_item = re.compile(english.get("list_item_pattern", r"^\s*[•\-*]\s+"), re.MULTILINE)
        self.en_closers_or_terminators = self.en_closers | self.terminators
        # A chunk without any of these characters is one opaque pseudo-token for
        # the rules: it holds no terminator, no bracket and no period, so how spaCy
        # would cut it inside changes no decision.  A closer matters only right
        # after a terminator (the same chunk) or when every token between a
        # terminator and a closing bracket is a closer or terminator, which no
        # token holding another character is: only a chunk made of closers alone
        # needs cutting for them ("patient's", "“word”" stay whole).
        significant = {".", *"".join(self.terminators)}
        significant.update("".join(open_ + close for open_, close in self.en_brackets.items()))
        closer_chars = {*"".join(self.en_closers)} - significant
        # A whitespace-free chunk holding one of them, or made of closers only (the
        # lookbehind and the possessive scan to the first of them keep the search
        # linear in the chunk's length; possessive: ~20% faster than the lazy
        # "\S*?[...]", which matches the same, and never backtracks).
        marks = re.escape("".join(sorted(significant)))
        pattern = rf"[^\s{marks}]*+[{marks}]\S*+"
        if closer_chars:
            pattern += rf"|[{re.escape(''.join(sorted(closer_chars)))}]+(?!\S)"
        self.significant_chunk = re.compile(rf"(?<!\S)(?:{pattern})")  # one lookbehind: faster
        # Every chunk holding a closer cut as well: where two bracket pairs cross,
        # the narrower in tokens counts as the inner one, so there the tokens are
        # those of cutting these chunks too (as before closers alone were told apart).
        every = "".join(sorted(significant | closer_chars))
        marks = re.escape(every)
        self.chunk_with_closer = re.compile(rf"(?<!\S)[^\s{marks}]*+[{marks}]\S*+")
        # A text without any of these has no significant chunk (a quick test: re
        # scans for a character class far faster than for chunks).
        self.chunk_character = re.compile(f"[{re.escape(every)}]")
        # The significant chunks of the texts of the last ``prepare`` (speed only).
        self.prepared: dict[str, list[re.Match[str]]] = {}
        self.chunk_tokens: dict[str, tuple[tuple[int, int], ...]] = {}
        self.use_spacy_for_whole_text = False  # True: the reference path (tests compare both)
        self.batch_chunks: bool | None = None  # may ``prepare`` join chunks (known once spaCy is loaded)

        stop_chars = str(chinese.get("stop_characters", "。！？；!?;"))
        sequences = [str(s) for s in chinese.get("stop_sequences", ["……"])]
        closers = str(chinese.get("closers", "”’」』）)"))
        alternatives = [re.escape(s) for s in sequences] + [f"[{re.escape(stop_chars)}]"]
        if chinese.get("ascii_period_after_han", True):
            alternatives.append(rf"(?<=[{HAN_CLASS}])\.(?!\d)")
        if chinese.get("ascii_period_before_han", True):
            # "降低了1.2%. 体重…", "5.6 mmol/L. 结果…": an ASCII period after a Latin letter
            # or "%", then a space and Chinese text, ends a sentence too ("et al. 报道" and
            # the other English abbreviations excepted, in ``_split_chinese``).  Not after a
            # digit or a bracket ("1. 价格" is a list number, "[J]. 中华…" a reference's
            # type), nor glued to the Chinese ("Feat.金锺国").
            alternatives.append(rf"(?<=[A-Za-z%])\.(?=[ \t\u3000]+[{HAN_CLASS}])")
        self.zh_stop = re.compile(f"(?:{'|'.join(alternatives)})+[{re.escape(closers)}]*")
        self.zh_closers = frozenset(closers)
        self.zh_brackets = {str(k): str(v) for k, v in (chinese.get("brackets") or {"(": ")"}).items()}
        self.zh_list_item = re.compile(chinese.get("list_item_pattern", r"^\s*[•\-*]\s*"), re.MULTILINE)
        # Each pattern with its needs (``PatternRule``: a substring test before the scan).
        self.protected_rules = [
            PatternRule.from_entry(entry) for entry in rules.get("protected_patterns", [])
        ]
        self.protected = [rule.pattern for rule in self.protected_rules]
        self.protected_prefilters = [_without_leading_boundary(p) for p in self.protected]
        # A text without any of these characters holds no bracket token.
        bracket_chars = "".join(
            sorted({*"".join(open_ + close for open_, close in self.en_brackets.items())})
        )
        self.en_bracket = re.compile(f"[{re.escape(bracket_chars)}]" if bracket_chars else "(?!)")
        # Whether a list item can only start at a line start: a text without a
        # line break then has one segment (most blocks are one paragraph).
        self.en_list_item_anchored = _line_anchored(self.en_list_item)
        self.zh_list_item_anchored = _line_anchored(self.zh_list_item)

    @staticmethod
    def is_chinese(text: str, lang: str) -> bool:
        """Whether ``split`` uses the Chinese rules for this text (else the English ones)."""
        return lang == "zh" or (lang not in ("en", "zh") and re.search("[。！？]", text) is not None)

    def prepare(self, texts: list[str]) -> None:
        """Tokenise the new significant chunks of these texts in one spaCy call (speed only).

        One call per chunk costs more in spaCy's per-call overhead than in the
        cutting itself; joined by ``CHUNK_SEPARATOR`` each chunk gets the tokens
        it gets alone (``_separator_is_inert``), so the spans do not change.
        Each text's significant chunks are kept for ``english_tokens``: one scan
        of the text, not two.
        """
        from spacy.attrs import IDX, LENGTH

        tokenizer = chunk_tokenizer()
        if self.batch_chunks is None:
            self.batch_chunks = _separator_is_inert(tokenizer)
        if self.use_spacy_for_whole_text or not self.batch_chunks:
            return
        known = self.chunk_tokens
        prepared = self.prepared = {}
        for text in texts:
            if text not in prepared:
                found = self.chunk_character.search(text) is not None
                prepared[text] = list(self.significant_chunk.finditer(text)) if found else []
        new = list(
            dict.fromkeys(m.group() for found in prepared.values() for m in found if m.group() not in known)
        )
        if len(new) < 2:
            return
        if len(known) + len(new) > CHUNK_CACHE_SIZE:
            known.clear()
        pieces: list[list[tuple[int, int]]] = [[] for _ in new]
        index = 0
        start = 0  # offset of chunk ``index`` in the joined text
        # Offsets and lengths straight from the Doc: no Token objects.
        for offset, length in chunk_tokenize(CHUNK_SEPARATOR.join(new)).to_array([IDX, LENGTH]).tolist():
            while offset >= start + len(new[index]):
                start += len(new[index]) + len(CHUNK_SEPARATOR)
                index += 1
            if offset >= start:  # not the separator
                pieces[index].append((offset - start, offset - start + length))
        for chunk, chunk_pieces in zip(new, pieces, strict=True):
            # spaCy's tokens of a whitespace-free chunk tile it; anything else
            # would be a surprise: that chunk is then tokenised alone.
            ends = [0] + [piece_end for _, piece_end in chunk_pieces]
            if [piece_start for piece_start, _ in chunk_pieces] == ends[:-1] and ends[-1] == len(chunk):
                known[chunk] = tuple(chunk_pieces)

    def split(self, text: str, lang: str) -> list[tuple[int, int]]:
        """Sentence spans (start, end) in ``text``: trimmed, non-empty, in order."""
        chinese = self.is_chinese(text, lang)
        if "\n" not in text and (self.zh_list_item_anchored if chinese else self.en_list_item_anchored):
            # No blank line, and a list item could start only at 0: one segment.
            segments: Iterable[tuple[int, int]] = [(0, len(text))] if text else []
        else:
            segments = self._segments(text, self.zh_list_item if chinese else self.en_list_item)
        protected = _ProtectedPositions(self._protected_positions, text)
        spans: list[tuple[int, int]] = []
        for start, end in segments:
            if chinese:
                raw = self._split_chinese(text, start, end, protected)
            else:
                raw = self._split_english(text, start, end, protected)
            spans.extend(_tidy(text, raw))
        return spans

    def _protected_positions(self, text: str) -> frozenset[int]:
        """Character positions no sentence may end at: inside inline maths, URLs, DOIs."""
        positions: set[int] = set()
        folded = None  # case_blind(text), for the rules with needs_any_case
        for rule, prefilter in zip(self.protected_rules, self.protected_prefilters, strict=True):
            if rule.needs_any_case and folded is None:
                folded = case_blind(text)
            if not rule.may_match(text, folded):
                continue  # it holds none of the strings every match holds
            pattern = rule.pattern
            if prefilter is not None and prefilter.search(text) is None:
                continue  # cannot match: the prefilter matches wherever the pattern does
            for match in pattern.finditer(text):
                positions.update(range(match.start(), match.end() - 1))
        return frozenset(positions)

    @staticmethod
    def _segments(text: str, list_item: re.Pattern[str]) -> Iterator[tuple[int, int]]:
        """Pieces no sentence crosses: cut at blank lines and before list-item lines."""
        cuts = {0, len(text)}
        cuts.update(m.start() for m in BLANK_LINE.finditer(text))
        cuts.update(m.start() for m in list_item.finditer(text))
        ordered = sorted(cuts)
        yield from pairwise(ordered)

    def english_tokens(
        self, text: str, start: int, end: int, chunks: re.Pattern[str] | None = None
    ) -> tuple[list[int], list[int], list[str]]:
        """spaCy's non-space tokens of text[start:end] as (starts, ends, texts), in ``text`` offsets.

        spaCy tokenises each whitespace-free chunk independently, so chunks are
        tokenised once and remembered.  Chunks the rules cannot look inside (no
        period, terminator or bracket, and not closers alone) are not tokenised: each run of
        them between two significant chunks becomes one pseudo-token.
        ``chunks`` finds the chunks to cut (``significant_chunk`` by default).
        """
        starts: list[int] = []
        ends: list[int] = []
        texts: list[str] = []
        if self.use_spacy_for_whole_text:
            for token in english_tokenize(text[start:end]):
                if not token.is_space:
                    starts.append(start + token.idx)
                    ends.append(start + token.idx + len(token.text))
                    texts.append(token.text)
            return starts, ends, texts
        previous_end = start
        # The whole text's chunks as ``prepare`` found them (a segment's own scan otherwise).
        matches: Iterable[re.Match[str]] | None = None
        if chunks is None and start == 0 and end == len(text):
            matches = self.prepared.get(text)
        if matches is None:
            matches = (chunks or self.significant_chunk).finditer(text, start, end)
        for match in matches:
            offset = match.start()
            self._add_opaque(text, previous_end, offset, starts, ends, texts)
            chunk = match.group()
            pieces = self.chunk_tokens.get(chunk)
            if pieces is None:
                if len(self.chunk_tokens) >= CHUNK_CACHE_SIZE:
                    self.chunk_tokens.clear()
                doc = chunk_tokenize(chunk)
                pieces = self.chunk_tokens[chunk] = tuple((t.idx, t.idx + len(t.text)) for t in doc)
            for piece_start, piece_end in pieces:
                starts.append(offset + piece_start)
                ends.append(offset + piece_end)
                texts.append(chunk[piece_start:piece_end])
            previous_end = match.end()
        self._add_opaque(text, previous_end, end, starts, ends, texts)
        return starts, ends, texts

    @staticmethod
    def _add_opaque(
        text: str, start: int, end: int, starts: list[int], ends: list[int], texts: list[str]
    ) -> None:
        """The chunks between two significant ones, as one pseudo-token (none if only spaces)."""
        gap = text[start:end]
        stripped = gap.strip()
        if stripped:
            left = start + len(gap) - len(gap.lstrip())
            starts.append(left)
            ends.append(left + len(stripped))
            texts.append(stripped)

    def _split_english(
        self, text: str, start: int, end: int, protected: Container[int]
    ) -> list[tuple[int, int]]:
        starts, ends, words = self.english_tokens(text, start, end)
        if not words:
            return []
        # Most texts hold no bracket at all: no token can be one.
        bracketed = self.en_bracket.search(text, start, end) is not None
        if bracketed:
            _cut_glued_citations(starts, ends, words)
        matched = _matched_brackets(words, self.en_brackets) if bracketed else {}
        if _crossing(matched) and not self.use_spacy_for_whole_text:
            starts, ends, words = self.english_tokens(text, start, end, self.chunk_with_closer)
            _cut_glued_citations(starts, ends, words)
            matched = _matched_brackets(words, self.en_brackets)
        enclosing = _innermost_enclosing(matched, len(words))
        terminators = self.terminators
        # Only a terminator or a word ending in a period can end a sentence.
        candidates = [
            index
            for index, word in enumerate(words)
            if word in terminators or (len(word) > 1 and word[-1] == ".")
        ]
        spans: list[tuple[int, int]] = []
        first = 0  # index of the current sentence's first token
        for index in candidates:
            if index < first or starts[index] in protected:
                continue
            last = self._english_sentence_end(starts, ends, words, enclosing, first, index)
            if last is None:
                continue
            spans.append((starts[first], ends[last]))
            first = last + 1
        if first < len(words):
            spans.append((starts[first], ends[-1]))
        return spans

    def _english_sentence_end(
        self,
        starts: list[int],
        ends: list[int],
        words: list[str],
        enclosing: list[tuple[int, int] | None],
        first: int,
        index: int,
    ) -> int | None:
        """Index of the sentence's last token if token ``index`` ends a sentence, else None."""
        word = words[index]
        if word in self.terminators:
            if word == "." and index > first and ends[index - 1] == starts[index]:
                previous = words[index - 1]
                if previous + "." in self.abbreviations:
                    return None
                # "1." "a." "iv." opening a list item is a number, not a sentence.
                if index - first == 1 and LIST_NUMBER.fullmatch(previous):
                    return None
        elif not (len(word) > 1 and word.endswith(".")) or word in self.abbreviations:
            return None
        elif INITIAL.fullmatch(word) and (
            index == first
            or INITIAL.fullmatch(words[index - 1])
            or (index + 1 < len(words) and INITIAL.fullmatch(words[index + 1]))
        ):
            # An initial opening the sentence ("J. Smith ...", as "1." opens a list item) or
            # next to another ("K. L. Wong"): a name, not a sentence end.
            return None
        last = index
        pair = enclosing[index]
        closers_or_terminators = self.en_closers_or_terminators
        if pair is not None:
            open_, close = pair
            # Inside brackets only a bracketed sentence of its own ends: "(See Table 2.)".
            if open_ != first or any(w not in closers_or_terminators for w in words[index + 1 : close]):
                return None
            last = close
        count = len(words)
        while (
            last + 1 < count
            and starts[last + 1] == ends[last]
            and words[last + 1] in closers_or_terminators
            and enclosing[last + 1] is None
        ):
            last += 1
        # A numbered citation after the stop belongs to the sentence it cites for:
        # "by 30%.[5] Further" and "by 30%. [5] Further" end after "[5]".
        citation_end = self._citation_end(words, enclosing, last + 1)
        if citation_end is not None:
            last = citation_end
        if last + 1 < count:
            following = words[last + 1][0]
            if following.islower() or following in ",;:%":
                return None  # a continuation: "etc. and", "U.S., and"
        return last

    @staticmethod
    def _citation_end(words: list[str], enclosing: list[tuple[int, int] | None], index: int) -> int | None:
        """Index of the "]" closing a numbered citation ("[5]", "[3,4]") opening at ``index``, else None."""
        if index + 1 >= len(words) or words[index] != "[" or enclosing[index] is not None:
            return None
        pair = enclosing[index + 1]
        if pair is None or pair[0] != index:
            return None
        close = pair[1]
        inside = "".join(words[index + 1 : close])
        return close if CITATION_NUMBERS.fullmatch(inside) else None

    def _zh_abbreviation_period(self, text: str, start: int, position: int) -> bool:
        """Whether the stop at ``position`` is an English abbreviation's period ("et al.报道")."""
        if text[position] != ".":
            return False
        word = re.search(r"[A-Za-z.]+$", text[max(start, position - 12) : position])
        return word is not None and word.group() + "." in self.abbreviations

    def _split_chinese(
        self, text: str, start: int, end: int, protected: Container[int]
    ) -> list[tuple[int, int]]:
        chars = list(text[start:end])
        enclosing = _innermost_enclosing(_matched_brackets(chars, self.zh_brackets), len(chars))
        spans: list[tuple[int, int]] = []
        first = 0
        for match in self.zh_stop.finditer(text, start, end):
            stop, after = match.start() - start, match.end() - start
            if match.start() in protected or self._zh_abbreviation_period(text, start, match.start()):
                continue
            pair = enclosing[stop]
            if pair is not None:
                open_, close = pair
                # Inside brackets only a bracketed sentence of its own ends: "（见表 2。）".
                if text[start + first : start + open_].strip() or close >= after:
                    continue
            spans.append((start + first, start + after))
            first = after
        if first < len(chars):
            spans.append((start + first, end))
        return spans


def _cut_glued_citations(starts: list[int], ends: list[int], words: list[str]) -> None:
    """Cut "30%.[5" into "30%." "[" "5" in place, so the stop and the citation's bracket are seen."""
    index = len(words) - 1
    while index >= 0:
        match = GLUED_CITATION.fullmatch(words[index]) if "[" in words[index] else None
        if match is not None:
            stop_end = starts[index] + match.end(1)
            number_start = stop_end + 1
            starts[index + 1 : index + 1] = [stop_end, number_start]
            ends[index : index + 1] = [stop_end, stop_end + 1, ends[index]]
            words[index : index + 1] = [match.group(1), "[", match.group(2)]
        index -= 1


def _tidy(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Trim whitespace, drop empty spans, join punctuation-only spans to the previous one."""
    tidy: list[tuple[int, int]] = []
    for start, end in spans:
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped:
            continue
        start += len(piece) - len(piece.lstrip())
        end = start + len(stripped)
        if tidy and not CONTENT.search(stripped):
            tidy[-1] = (tidy[-1][0], end)
            continue
        tidy.append((start, end))
    return tidy


@lru_cache(maxsize=1)
def _default_splitter() -> SentenceSplitter:
    path = Path(PACKAGE_CONFIG_DIR) / "sentences.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return SentenceSplitter(rules or {})


def split_sentences(text: str, lang: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in ``text`` for ``lang`` (en | zh | other), packaged rules."""
    return _default_splitter().split(text, lang)


@register_step("sentences")
class SentencesStep(Step):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.splitter = SentenceSplitter(self.load_stage_rules())

    def process(self, doc: Document) -> Document:
        sentences: list[Sentence] = []
        sections = sorted(doc.sections, key=lambda s: (s.start, s.end))
        pieces: list[tuple[int, str, int, str, str | None]] = []  # block, text, offset, lang, key
        for block_index, block in enumerate(doc.blocks):
            overlapping = [s for s in sections if s.start < block.end and s.end > block.start]
            if overlapping:
                for s in overlapping:
                    start, end = max(block.start, s.start), min(block.end, s.end)
                    pieces.append((block_index, doc.text[start:end], start, s.lang, s.key))
                # What follows the block's last section ("... CONCLUSIONS: ... TRIAL
                # REGISTRATION: NCT01234567.") is text of the page too, in no section.
                last = max(overlapping, key=lambda s: s.end)
                if last.end < block.end and doc.text[last.end : block.end].strip():
                    pieces.append((block_index, doc.text[last.end : block.end], last.end, last.lang, None))
            else:
                pieces.append((block_index, doc.text[block.start : block.end], block.start, block.lang, None))
        self.splitter.prepare(
            [text for _, text, _, lang, _ in pieces if not self.splitter.is_chinese(text, lang)]
        )
        for block_index, text, start, lang, key in pieces:
            # A keywords line is one unit in both languages: Chinese "；" would otherwise cut
            # "肺炎；降钙素原；预后" into three where the English "Pneumonia; ...; Prognosis"
            # stays one, and the links of more than three keywords fall apart.
            spans = _tidy(text, [(0, len(text))]) if key == "keywords" else self.splitter.split(text, lang)
            for s_start, s_end in spans:
                sentences.append(Sentence(start + s_start, start + s_end, lang, key, block_index))
                self.counters[f"sentences_{lang}"] += 1
        sentences.sort(key=lambda s: (s.start, s.end))
        doc.sentences.extend(sentences)
        return doc
