"""Align: pair the English abstract's sections with the Chinese ones, then their sentences.

Sections pair by key first (a longest common subsequence of the two key lists,
so order is kept) and then by order inside the gaps between key matches; a
section still unpaired (one the translation folded into its neighbour) joins the
neighbouring pair whose length ratio it evens out.
Sentences pair inside each section pair by a banded dynamic programme over
1-1, 1-2, 2-1, 2-2 (and 1-3, 3-1), 1-0 and 0-1 links, as in Gale & Church
(1993): a cost from the character lengths of the two sides, plus a cost when
their anchors (numbers, Latin-script tokens such as "MSCs" or "EDSS") do not
agree.  Parameters live in ``configs/align.yaml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from abstractpipe.config import PACKAGE_CONFIG_DIR
from abstractpipe.document import CANONICAL_SECTIONS, Alignment, Document, Section, Sentence, SentenceLink
from abstractpipe.pipeline import Step, register_step

NUMBER = re.compile(r"\d+(?:,\d{3})+(?![\d])|\d+(?:[.·]\d+)?")
LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+)*")
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A marked token (see _marked_tokens): two capitals, or a digit.
_MARKED = re.compile(r"[A-Z][^A-Z]*[A-Z]|[0-9]")

DEFAULT_PRIORS: dict[str, float] = {
    "1-1": 0.84,
    "1-2": 0.07,
    "2-1": 0.04,
    "2-2": 0.01,
    "1-3": 0.005,
    "3-1": 0.002,
    "1-0": 0.01,
    "0-1": 0.01,
}


@dataclass(frozen=True)
class AlignParams:
    han_weight: float = 3.6  # English characters one Han character stands for
    mean_ratio: float = 1.0  # Chinese length (Han weighted) per English character
    variance: float = 8.0  # per English character
    link_priors: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRIORS))
    number_weight: float = 3.0
    token_weight: float = 2.0
    min_token_length: int = 2
    null_link_cost: float = 3.0
    unmatched_null_discount: float = 2.0
    unsupported_merge_cost: float = 3.0
    null_line_patterns: tuple[str, ...] = ()
    band: int = 20
    score_anchor_weight: float = 0.5
    null_link_score: float = 0.0
    low_confidence: float = 0.35
    min_run_characters: int = 80
    max_run_length_ratio: float = 2.0

    @classmethod
    def from_mapping(cls, rules: Mapping[str, Any] | None) -> AlignParams:
        rules = rules or {}
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in rules.items() if key in known}
        if "link_priors" in values:
            values["link_priors"] = {str(k): float(v) for k, v in values["link_priors"].items()}
        if "null_line_patterns" in values:
            values["null_line_patterns"] = tuple(str(p) for p in values["null_line_patterns"] or ())
        return cls(**values)

    def link_types(self) -> list[tuple[int, int, float]]:
        """(English count, Chinese count, cost of the prior) for each link type, sorted."""
        types = []
        for name, prior in sorted(self.link_priors.items()):
            en_count, zh_count = (int(part) for part in name.split("-"))
            if prior > 0 and (en_count or zh_count):
                types.append((en_count, zh_count, -math.log(prior)))
        return types


def _length(text: str, han_weight: float) -> float:
    """Non-space characters, a Han character counting as ``han_weight`` Latin ones."""
    # str.split() splits on exactly the characters \s matches; an ASCII text has no Han.
    han = 0 if text.isascii() else len(HAN.findall(text))
    return len("".join(text.split())) - han + han * han_weight


def _numbers(text: str) -> frozenset[str]:
    found = set()
    for match in NUMBER.finditer(text):
        raw = match.group().replace(",", "").replace("·", ".")
        found.add(f"{float(raw):g}")
    return frozenset(found)


def _token_key(token: str) -> str:
    # "MSCs" and "MSC" are one anchor; ordinary words are compared lower-cased.
    if len(token) > 2 and token.endswith("s") and token[:-1].isupper():
        token = token[:-1]
    return token.lower()


def _tokens(text: str, min_length: int) -> frozenset[str]:
    return frozenset(_token_key(t) for t in LATIN_TOKEN.findall(text) if len(t) >= min_length)


def _marked_tokens(text: str, min_length: int) -> frozenset[str]:
    """English tokens a translation would keep as written: abbreviations, gene and drug codes."""
    # Two capitals or a digit, tested in C (a LATIN_TOKEN is ASCII, where isupper is A-Z).
    marked = _MARKED.search
    return frozenset(
        _token_key(t) for t in LATIN_TOKEN.findall(text) if len(t) >= min_length and marked(t) is not None
    )


def _token_sets(text: str, min_length: int) -> tuple[frozenset[str], frozenset[str]]:
    """``(_tokens(text, min_length), _marked_tokens(text, min_length))`` from one token scan."""
    keys: list[str] = []
    marked_keys: list[str] = []
    marked = _MARKED.search
    for token in LATIN_TOKEN.findall(text):
        if len(token) < min_length:
            continue
        # _token_key inline (it ran once per English word, twice on the English side).
        key = (token[:-1] if token[-1] == "s" and len(token) > 2 and token[:-1].isupper() else token).lower()
        keys.append(key)
        if marked(token) is not None:
            marked_keys.append(key)
    return frozenset(keys), frozenset(marked_keys)


def _overlap(left: frozenset[str], right: frozenset[str]) -> float | None:
    union = left | right
    return len(left & right) / len(union) if union else None


def _normal_tail(delta: float) -> float:
    """Two-sided tail probability of a standard normal: 2 * (1 - Phi(|delta|))."""
    return math.erfc(abs(delta) / math.sqrt(2.0))


class _Side:
    """Per-sentence features of one side, with prefix sums for span lengths."""

    def __init__(
        self,
        texts: Sequence[str],
        params: AlignParams,
        chinese: bool,
        null_lines: tuple[re.Pattern[str], ...],
    ) -> None:
        self.prefix = [0.0]
        for text in texts:
            self.prefix.append(self.prefix[-1] + _length(text, params.han_weight))
        self.numbers = [_numbers(t) for t in texts]
        token_sets = [_token_sets(t, params.min_token_length) for t in texts]
        self.all_tokens = [all_tokens for all_tokens, _ in token_sets]
        # Chinese side: its Latin tokens are all anchors; English side: only marked ones,
        # plus any word that the Chinese side also wrote in Latin letters (checked per link).
        self.anchors = self.all_tokens if chinese else [marked for _, marked in token_sets]
        # Lines such as "Trial registration: ..." or "关键词：..." that translations often leave out.
        self.null_line = [any(p.search(t) for p in null_lines) for t in texts]
        self._span_cache: dict[tuple[int, int], tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}

    def length(self, start: int, end: int) -> float:
        return self.prefix[end] - self.prefix[start]

    @staticmethod
    def union(sets: list[frozenset[str]], start: int, end: int) -> frozenset[str]:
        if end - start == 1:
            return sets[start]
        merged: frozenset[str] = frozenset()
        for index in range(start, end):
            merged = merged | sets[index]
        return merged

    def spans(self, start: int, end: int) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(numbers, anchors, all tokens) of sentences start..end-1, cached: the DP asks often."""
        key = (start, end)
        found = self._span_cache.get(key)
        if found is None:
            found = (
                _Side.union(self.numbers, start, end),
                _Side.union(self.anchors, start, end),
                _Side.union(self.all_tokens, start, end),
            )
            self._span_cache[key] = found
        return found


class _LinkModel:
    def __init__(self, en: _Side, zh: _Side, params: AlignParams) -> None:
        self.en, self.zh, self.params = en, zh, params
        # A sentence is "foreign" when it has anchors and none of them occurs anywhere on the
        # other side (a registration number, a software version): most likely untranslated.
        zh_numbers = frozenset().union(*zh.numbers)
        zh_tokens = frozenset().union(*zh.anchors)
        en_numbers = frozenset().union(*en.numbers)
        en_words = frozenset().union(*en.all_tokens)
        self.en_foreign = [
            (bool(en.numbers[k] or en.anchors[k]) and not (en.numbers[k] & zh_numbers))
            and not (en.all_tokens[k] & zh_tokens)
            for k in range(len(en.numbers))
        ]
        self.zh_foreign = [
            bool(zh.numbers[k] or zh.anchors[k])
            and not (zh.numbers[k] & en_numbers)
            and not (zh.anchors[k] & en_words)
            for k in range(len(zh.numbers))
        ]
        self.en_null_cost = [
            self._null_cost(en.null_line[k], self.en_foreign[k]) for k in range(len(en.numbers))
        ]
        self.zh_null_cost = [
            self._null_cost(zh.null_line[k], self.zh_foreign[k]) for k in range(len(zh.numbers))
        ]

    def _null_cost(self, null_line: bool, foreign: bool) -> float:
        cost = self.params.null_link_cost
        if null_line or foreign:
            cost -= self.params.unmatched_null_discount
        return cost

    def length_probability(self, en_len: float, zh_len: float) -> float:
        scaled_zh = zh_len / self.params.mean_ratio
        base = max((en_len + scaled_zh) / 2.0, 1.0)
        delta = (scaled_zh - en_len) / math.sqrt(self.params.variance * base)
        return _normal_tail(delta)

    def anchor_overlaps(self, i0: int, i1: int, j0: int, j1: int) -> list[tuple[float, float]]:
        """(weight, overlap) for each anchor kind present on either side."""
        found = []
        en_numbers, en_anchors, en_words = self.en.spans(i0, i1)
        zh_numbers, zh_tokens, _ = self.zh.spans(j0, j1)
        numbers = _overlap(en_numbers, zh_numbers)
        if numbers is not None:
            found.append((self.params.number_weight, numbers))
        tokens = _overlap(en_anchors | (zh_tokens & en_words), zh_tokens)
        if tokens is not None:
            found.append((self.params.token_weight, tokens))
        return found

    def unsupported_members(self, i0: int, i1: int, j0: int, j1: int) -> tuple[float, float, int]:
        """Sentences merged into a many-sentence side whose anchors the other side lacks.

        A merge is only worth its prior when each merged sentence is part of the
        translation; one whose numbers and Latin tokens are all missing across the
        link (or a registration/keyword line) was more likely left untranslated.
        Returns (English length, Chinese length, count) of those sentences.
        """
        count = 0
        en_length = zh_length = 0.0
        en, zh = self.en, self.zh
        if i1 - i0 > 1:
            zh_numbers, zh_tokens, _ = zh.spans(j0, j1)
            for k in range(i0, i1):
                if en.null_line[k] or (
                    (en.numbers[k] or en.anchors[k])
                    and not (en.numbers[k] & zh_numbers)
                    and not (en.all_tokens[k] & zh_tokens)
                ):
                    count += 1
                    en_length += en.length(k, k + 1)
        if j1 - j0 > 1:
            en_numbers, _, en_words = en.spans(i0, i1)
            for k in range(j0, j1):
                if zh.null_line[k] or (
                    (zh.numbers[k] or zh.anchors[k])
                    and not (zh.numbers[k] & en_numbers)
                    and not (zh.anchors[k] & en_words)
                ):
                    count += 1
                    zh_length += zh.length(k, k + 1)
        return en_length, zh_length, count

    def cost(self, i0: int, i1: int, j0: int, j1: int, prior_cost: float, limit: float = math.inf) -> float:
        """Cost of one link; once past ``limit`` (the link has already lost) the rest is skipped."""
        if i0 == i1:
            # A dropped sentence: its length and anchors say nothing about a counterpart
            # (charging them would make long omitted sentences merge into a neighbour).
            return prior_cost + self.zh_null_cost[j0]
        if j0 == j1:
            return prior_cost + self.en_null_cost[i0]
        probability = max(self.length_probability(self.en.length(i0, i1), self.zh.length(j0, j1)), 1e-300)
        total = prior_cost - math.log(probability)
        if total >= limit:
            return total
        for weight, overlap in self.anchor_overlaps(i0, i1, j0, j1):
            total += weight * (1.0 - overlap)
        if i1 - i0 == 1 and j1 - j0 == 1:
            # A registration, keyword or affiliation line faces its own kind or nothing: a
            # 1-1 link pairing it with an ordinary sentence pays as a merge would.
            if self.en.null_line[i0] != self.zh.null_line[j0]:
                total += self.params.unsupported_merge_cost
        else:
            en_extra, zh_extra, count = self.unsupported_members(i0, i1, j0, j1)
            if count:
                # The merge also pays for the length mismatch its unsupported sentences hide.
                en_len = self.en.length(i0, i1) - en_extra
                zh_len = self.zh.length(j0, j1) - zh_extra
                if en_len > 0 and zh_len > 0:
                    bare = self.length_probability(en_len, zh_len)
                    total += max(0.0, math.log(probability) - math.log(max(bare, 1e-300)))
                total += self.params.unsupported_merge_cost * count
        return total

    def score(self, i0: int, i1: int, j0: int, j1: int) -> float:
        if i0 == i1 or j0 == j1:
            return self.params.null_link_score
        probability = self.length_probability(self.en.length(i0, i1), self.zh.length(j0, j1))
        overlaps = self.anchor_overlaps(i0, i1, j0, j1)
        if not overlaps:
            return round(probability, 4)
        anchor = sum(w * o for w, o in overlaps) / sum(w for w, _ in overlaps)
        mix = self.params.score_anchor_weight
        return round((1.0 - mix) * probability + mix * anchor, 4)


@lru_cache(maxsize=8)
def _null_line_regexes(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def align_sentences(
    en: list[str], zh: list[str], params: AlignParams | Mapping[str, Any] | None = None
) -> list[tuple[list[int], list[int], float]]:
    """Align two sentence lists; links of local indices ([en...], [zh...], score), in order.

    Every sentence appears in exactly one link.  The DP only visits cells within
    ``params.band`` of the grid's diagonal, so long inputs cost linear time.
    """
    if not isinstance(params, AlignParams):
        params = AlignParams.from_mapping(params)
    n, m = len(en), len(zh)
    if n == 0 or m == 0:
        return [([i], [], params.null_link_score) for i in range(n)] + [
            ([], [j], params.null_link_score) for j in range(m)
        ]
    null_lines = _null_line_regexes(params.null_line_patterns)
    model = _LinkModel(_Side(en, params, False, null_lines), _Side(zh, params, True, null_lines), params)
    types = params.link_types()
    band = max(params.band, max(max(a, b) for a, b, _ in types) + 1)

    def columns(i: int) -> range:
        centre = i * m / n
        return range(max(0, math.floor(centre - band)), min(m, math.ceil(centre + band)) + 1)

    # best[(i, j)] = (cost of aligning en[:i] with zh[:j], link type that ends there)
    best: dict[tuple[int, int], tuple[float, int, int]] = {(0, 0): (0.0, 0, 0)}
    for i in range(n + 1):
        for j in columns(i):
            if i == 0 and j == 0:
                continue
            winner: tuple[float, int, int] | None = None
            for a, b, prior_cost in types:
                previous = best.get((i - a, j - b))
                if previous is None:
                    continue
                # Past its prior, a 1-1 or merge link only adds costs >= 0, so a loser is cut
                # short (a null link's own cost may be negative: it is always computed).
                limit = winner[0] - previous[0] if winner is not None else math.inf
                if a and b and prior_cost >= limit:
                    continue
                total = previous[0] + model.cost(i - a, i, j - b, j, prior_cost, limit)
                if winner is None or total < winner[0]:
                    winner = (total, a, b)
            if winner is not None:
                best[(i, j)] = winner

    links: list[tuple[list[int], list[int], float]] = []
    i, j = n, m
    while i > 0 or j > 0:
        _, a, b = best[(i, j)]
        links.append((list(range(i - a, i)), list(range(j - b, j)), model.score(i - a, i, j - b, j)))
        i, j = i - a, j - b
    links.reverse()
    return links


def pair_sections(en: list[Section], zh: list[Section]) -> list[tuple[Section, Section]]:
    """Pair two section lists: equal keys first (order kept), then by order in the gaps."""
    n, m = len(en), len(zh)
    # Longest common subsequence of the key lists.
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if en[i].key == zh[j].key:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    anchors: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if en[i].key == zh[j].key:
            anchors.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    pairs: list[tuple[int, int]] = []
    previous = (-1, -1)
    for anchor in [*anchors, (n, m)]:
        en_gap = range(previous[0] + 1, anchor[0])
        zh_gap = range(previous[1] + 1, anchor[1])
        pairs.extend(zip(en_gap, zh_gap, strict=False))
        if anchor != (n, m):
            pairs.append(anchor)
        previous = anchor
    return [(en[a], zh[b]) for a, b in pairs]


def group_sections(
    en: list[Section],
    zh: list[Section],
    section_length: Callable[[Section], float],
    mean_ratio: float = 1.0,
    foldable_keys: Container[str] = CANONICAL_SECTIONS,
) -> list[tuple[list[Section], list[Section]]]:
    """``pair_sections``, with each section left unpaired joined to a neighbouring pair.

    A translation often folds one section into the next or the previous ("目的："
    holding the English BACKGROUND and OBJECTIVE): left unpaired, that section's
    sentences were in no link.  It joins the neighbouring pair (the one holding
    the section just before or after it on its side) whose length ratio it brings
    closest to ``mean_ratio``, and only when it brings it closer: a section with
    no counterpart (an untranslated extra) stays out.  Only sections whose key is
    in ``foldable_keys`` join: keywords are never folded into a conclusion.
    """
    groups: list[tuple[list[Section], list[Section]]] = [([a], [b]) for a, b in pair_sections(en, zh)]

    def imbalance(group: tuple[list[Section], list[Section]], extra_en: float, extra_zh: float) -> float:
        en_length = sum(section_length(s) for s in group[0]) + extra_en
        zh_length = (sum(section_length(s) for s in group[1]) + extra_zh) / mean_ratio
        return abs(math.log(max(zh_length, 1.0) / max(en_length, 1.0)))

    for side, sections in ((0, en), (1, zh)):
        for index, section in enumerate(sections):
            if section.key not in foldable_keys or any(section in group[side] for group in groups):
                continue
            neighbours = {
                id(sections[k])
                for k in (index - 1, index + 1)
                if 0 <= k < len(sections) and sections[k].key in foldable_keys
            }
            length = section_length(section)
            best: tuple[float, int] | None = None  # (improvement, group index)
            for group_index, group in enumerate(groups):
                if not any(id(s) in neighbours for s in group[side]):
                    continue
                extra = (length, 0.0) if side == 0 else (0.0, length)
                improvement = imbalance(group, 0.0, 0.0) - imbalance(group, *extra)
                if improvement > 0 and (best is None or improvement > best[0]):
                    best = (improvement, group_index)
            if best is not None:
                members = groups[best[1]][side]
                members.append(section)
                members.sort(key=lambda s: s.start)
    return groups


def _inside(sentences: list[Sentence], section: Section) -> list[int]:
    return [k for k, s in enumerate(sentences) if s.start >= section.start and s.end <= section.end]


def _language_runs(doc: Document, params: AlignParams) -> dict[str, list[list[int]]]:
    """Runs of consecutive sentences of one language (per-language indices), long ones only."""
    runs: dict[str, list[list[int]]] = {"en": [], "zh": []}
    counters = {"en": 0, "zh": 0}
    current_lang: str | None = None
    for sentence in doc.sentences:
        if sentence.lang not in runs:
            continue  # "other" sentences (a DOI line) neither join nor break a run
        if sentence.lang != current_lang:
            runs[sentence.lang].append([])
            current_lang = sentence.lang
        runs[sentence.lang][-1].append(counters[sentence.lang])
        counters[sentence.lang] += 1
    per_lang = {"en": doc.sentences_in("en"), "zh": doc.sentences_in("zh")}
    for lang, lang_runs in runs.items():
        runs[lang] = [
            run
            for run in lang_runs
            if sum(
                _length(doc.span(per_lang[lang][k].start, per_lang[lang][k].end), params.han_weight)
                for k in run
            )
            >= params.min_run_characters
        ]
    return runs


@lru_cache(maxsize=1)
def default_params() -> AlignParams:
    """The packaged alignment parameters (configs/align.yaml)."""
    path = Path(PACKAGE_CONFIG_DIR) / "align.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return AlignParams.from_mapping(rules)


@register_step("align")
class AlignStep(Step):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.params = AlignParams.from_mapping(self.load_stage_rules())

    def process(self, doc: Document) -> Document:
        en_sentences = doc.sentences_in("en")
        zh_sentences = doc.sentences_in("zh")
        en_sections = sorted(
            (s for s in doc.sections if s.lang == "en" and s.abstract == 0), key=lambda s: s.start
        )
        zh_sections = sorted(
            (s for s in doc.sections if s.lang == "zh" and s.abstract == 0), key=lambda s: s.start
        )
        alignment = Alignment()
        groups: list[tuple[list[int], list[int]]] = []
        if en_sections and zh_sections:
            weight = self.params.han_weight

            def section_length(section: Section) -> float:
                return _length(doc.span(section.start, section.end), weight)

            for en_group, zh_group in group_sections(
                en_sections, zh_sections, section_length, self.params.mean_ratio
            ):
                alignment.sections.extend((a.key, b.key) for a in en_group for b in zh_group)
                groups.append(
                    (
                        [k for section in en_group for k in _inside(en_sentences, section)],
                        [k for section in zh_group for k in _inside(zh_sentences, section)],
                    )
                )
            self.counters["section_pairs"] += len(alignment.sections)
        else:
            runs = _language_runs(doc, self.params)
            # One side labelled (an English structured abstract, its translation without
            # headers): that side's abstract is its sections' sentences, not the run around
            # them, which also holds the affiliation and citation lines before it.
            for lang, sections, sentences in (
                ("en", en_sections, en_sentences),
                ("zh", zh_sections, zh_sentences),
            ):
                abstract = sorted(
                    {
                        k
                        for section in sections
                        if section.key != "keywords"
                        for k in _inside(sentences, section)
                    }
                )
                if abstract:
                    runs[lang] = [abstract]
            if len(runs["en"]) == 1 and len(runs["zh"]) == 1:
                en_run, zh_run = runs["en"][0], runs["zh"][0]
                weight = self.params.han_weight
                en_len = sum(
                    _length(doc.span(en_sentences[k].start, en_sentences[k].end), weight) for k in en_run
                )
                zh_len = sum(
                    _length(doc.span(zh_sentences[k].start, zh_sentences[k].end), weight) for k in zh_run
                )
                ratio = (zh_len / self.params.mean_ratio) / max(en_len, 1)
                limit = self.params.max_run_length_ratio
                if 1.0 / limit <= ratio <= limit:
                    groups.append((en_run, zh_run))
                    self.counters["unlabelled_run_pairs"] += 1
        for en_indices, zh_indices in groups:
            en_texts = [doc.span(en_sentences[k].start, en_sentences[k].end) for k in en_indices]
            zh_texts = [doc.span(zh_sentences[k].start, zh_sentences[k].end) for k in zh_indices]
            for en_local, zh_local, score in align_sentences(en_texts, zh_texts, self.params):
                link = SentenceLink(
                    en=[en_indices[k] for k in en_local], zh=[zh_indices[k] for k in zh_local], score=score
                )
                alignment.sentences.append(link)
                self.counters[f"links_{len(link.en)}-{len(link.zh)}"] += 1
                if score < self.params.low_confidence:
                    doc.warn("low_confidence_link", f"{link.en} ~ {link.zh}: score {score:.2f}")
                    self.counters["low_confidence_links"] += 1
        doc.alignment = alignment
        return doc
