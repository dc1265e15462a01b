"""Cross-language check: statistics that disagree between aligned English and Chinese sentences.

For every aligned sentence link (pooled: a 1-2 or 2-1 link compares the two
sentences of one side with the one of the other), the statistics found in the
English sentences are compared with those found in the Chinese ones.  A
disagreement becomes a ``statistic_mismatch`` warning naming both spans, with
their offsets into ``Document.text``: a curator's first place to look.

False alarms cost a curator's time, so the check is lenient where translations
legitimately differ:

- numbers agree up to rounding: 0.028 and 0.03 agree (the more precise one,
  rounded to the other's decimals, is the other);
- a number counts as present on the other side if any statistic there carries
  it (value, CI bound or p, whatever the measure: translations re-phrase
  measures), or if it is written anywhere in the other side's sentences;
- links scoring below ``min_link_score`` are not checked, nor are 1-0/0-1 links;
- links that share a statistic (one spanning a sentence break) are pooled into
  one group, so a split statistic is compared with the whole other side.

Settings (``crosscheck:`` in ``configs/extract.yaml``): ``enabled``,
``min_link_score``, ``max_quote_chars``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from abstractpipe.document import Document, Sentence
from abstractpipe.extract.statistics import normalise

WARNING_CODE = "statistic_mismatch"
NUMBER_FIELDS = ("value", "ci_low", "ci_high", "p_value")
FIELD_NAMES = {"value": "value", "ci_low": "CI low", "ci_high": "CI high", "p_value": "p"}
# Digits with an optional decimal part (point, middle dot or comma between digits).
_NUMBER = re.compile(r"\d*[.·]?\d+")
# PDF maths markup around numbers ("$5 4 . 6 \\%$", "P { < } 0 . 0 5"), dropped before reading them.
_MARKUP = re.compile(r"\\[A-Za-z]+|[{}^_$\\]")
# A spaced-out number ("5 4 . 6": single characters), closed up for a second reading.
_SPACED_NUMBER = re.compile(r"(?<![\d.·])(?:[\d.·] +)+[\d.·](?![\d.·])")


@dataclass(frozen=True)
class CrosscheckSettings:
    enabled: bool = True
    min_link_score: float = 0.35  # the aligner's own low-confidence line
    max_quote_chars: int = 160  # sentence quotes in a warning are cut to this length
    # Standalone "P<0.05" (or ">") at these thresholds is added and dropped freely in translation.
    loose_p_thresholds: tuple[float, ...] = (0.05, 0.01, 0.001)

    @classmethod
    def from_mapping(cls, rules: Mapping[str, Any] | None) -> CrosscheckSettings:
        rules = rules or {}
        return cls(
            enabled=bool(rules.get("enabled", cls.enabled)),
            min_link_score=float(rules.get("min_link_score", cls.min_link_score)),
            max_quote_chars=int(rules.get("max_quote_chars", cls.max_quote_chars)),
            loose_p_thresholds=tuple(
                float(p) for p in rules.get("loose_p_thresholds", cls.loose_p_thresholds) or ()
            ),
        )


def decimals(number: float) -> int:
    """Decimal places a parsed number was written with (trailing zeros aside)."""
    text = repr(float(number))
    if "e" in text or "E" in text:
        return 6
    fraction = text.split(".", 1)[1] if "." in text else ""
    return 0 if fraction == "0" else len(fraction)


_WIDEST_TOLERANCE = 0.5 * 10.0**-0 + 1e-9  # numbers_agree's tolerance at 0 decimal places


def numbers_agree(a: float, b: float) -> bool:
    """Equal up to rounding: the more precise number, rounded to the other's decimals, is the other.

    Zero and sign are kept apart: 0 does not stand for -0.28, nor 0.3 for -0.3.
    """
    a, b = float(a), float(b)
    if (a == 0) != (b == 0) or (a < 0) != (b < 0):
        return False
    # The tolerance below is largest at 0 places (0.5 + 1e-9): numbers further apart than that
    # disagree whatever their decimals, which need not be read (most pairs compared).
    if abs(a - b) > _WIDEST_TOLERANCE:
        return False
    places = min(decimals(a), decimals(b))
    return abs(float(a) - float(b)) <= 0.5 * 10.0**-places + 1e-9


@dataclass
class _Side:
    """One language's half of a link group: its sentences, statistics and written numbers."""

    lang: str
    sentences: list[Sentence]
    stats: list[dict[str, Any]]
    # The text the written numbers are read from (None: no sentence and no statistic); read
    # on the first ``has_number`` only, since most groups hold no statistic to compare.
    text: str | None
    _written: list[float] | None = None

    @property
    def written(self) -> list[float]:
        """Magnitudes of every number written in the sentences, ascending."""
        if self._written is None:
            self._written = _written_numbers(self.text) if self.text is not None else []
        return self._written

    def has_number(self, number: float) -> bool:
        for stat in self.stats:
            for name in NUMBER_FIELDS:
                value = stat.get(name)
                if value is not None and numbers_agree(float(value), number):
                    return True
        # Written numbers lose their sign ("1.3-3.4", "降低0.28"): compare magnitudes.
        return any(numbers_agree(written, abs(number)) for written in self.written)


def _written_numbers(text: str) -> list[float]:
    """Every number written in ``text`` (magnitudes, ascending, each once)."""
    written: set[float] = set()
    # Read twice, as written and with spaced-out digits closed up: the pool may only grow,
    # since a number missing from it is what raises a warning.
    plain = _MARKUP.sub(" ", normalise(text).text)
    closed = _SPACED_NUMBER.sub(lambda m: m.group(0).replace(" ", ""), plain)
    # Most texts have no spaced-out digits: closing them up changes nothing to read again.
    for reading in (plain, closed) if closed != plain else (plain,):
        for match in _NUMBER.finditer(reading.replace(",", ".")):
            number = match.group(0).replace("·", ".")
            written.add(float(number))
            if number.startswith("."):  # "5%.10%" from OCR: the dot may be a lost comma
                written.add(float(number[1:]))
    return sorted(written)


class CrossLanguageChecker:
    """Compare the statistics of aligned English and Chinese sentences; warn on disagreements."""

    def __init__(self, rules: Mapping[str, Any] | None = None) -> None:
        self.settings = CrosscheckSettings.from_mapping(rules)

    def check(self, doc: Document) -> list[str]:
        """Add a ``statistic_mismatch`` warning to ``doc`` per disagreement; return the details."""
        if not self.settings.enabled:
            return []
        stats = doc.fields.get("statistics") or []
        sentences = {lang: doc.sentences_in(lang) for lang in ("en", "zh")}
        overlapped, touching = _overlapped(stats, sentences)
        details: list[str] = []
        for group in self._groups(doc, overlapped):
            en, zh = (
                self._side(doc, lang, indices, stats, sentences[lang], touching[lang])
                for lang, indices in group
            )
            for detail in self._compare(doc, en, zh):
                if detail not in details:
                    details.append(detail)
        for detail in details:
            doc.warn(WARNING_CODE, detail)
        return details

    # -- grouping ------------------------------------------------------------------------------

    def _groups(
        self, doc: Document, overlapped: list[tuple[str, Sequence[int]] | None]
    ) -> list[tuple[tuple[str, list[int]], tuple[str, list[int]]]]:
        """Checked link groups as (("en", indices), ("zh", indices)), in English order."""
        links = [link for link in doc.alignment.sentences if link.en and link.zh]
        # Union-find over links: two links join when one statistic overlaps sentences of both.
        parent = list(range(len(links)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[tuple[str, int], int] = {}
        for index, link in enumerate(links):
            for lang, indices in (("en", link.en), ("zh", link.zh)):
                for i in indices:
                    owner[(lang, i)] = index
        for entry in overlapped:  # each statistic's language and the sentences it overlaps
            if entry is None:
                continue
            lang, indices = entry
            touched = sorted({owner[(lang, i)] for i in indices if (lang, i) in owner})
            for other in touched[1:]:
                parent[root(other)] = root(touched[0])

        members: dict[int, list[int]] = {}
        for index in range(len(links)):
            members.setdefault(root(index), []).append(index)
        groups = []
        for indices in sorted(members.values()):
            if min(links[i].score for i in indices) < self.settings.min_link_score:
                continue
            en = sorted({i for k in indices for i in links[k].en})
            zh = sorted({i for k in indices for i in links[k].zh})
            groups.append((("en", en), ("zh", zh)))
        return groups

    def _side(
        self,
        doc: Document,
        lang: str,
        indices: list[int],
        stats: list[dict[str, Any]],
        sentences: list[Sentence],
        touching: dict[int, list[int]],
    ) -> _Side:
        chosen = [sentences[i] for i in indices if 0 <= i < len(sentences)]
        # The statistics of ``lang`` overlapping a chosen sentence, in the order of ``stats``.
        own = _own(stats, touching, [i for i in indices if 0 <= i < len(sentences)])
        # The written numbers cover the sentences and any statistic running past their ends.
        starts = [s.start for s in chosen] + [int(s["start"]) for s in own]
        ends = [s.end for s in chosen] + [int(s["end"]) for s in own]
        text = doc.text[min(starts) : max(ends)] if starts else None
        return _Side(lang, chosen, own, text)

    # -- comparison ----------------------------------------------------------------------------

    def _compare(self, doc: Document, en: _Side, zh: _Side) -> Iterable[str]:
        pairs, en_alone, zh_alone = _pair(en.stats, zh.stats)
        for en_stat, zh_stat in pairs:
            differences = []
            for name in NUMBER_FIELDS:
                a, b = en_stat.get(name), zh_stat.get(name)
                if a is not None and b is not None:
                    # A number the other side carries elsewhere points to a mis-pairing, not a
                    # mistranslation: only numbers absent from each other's side differ.
                    if (
                        not numbers_agree(float(a), float(b))
                        and not zh.has_number(float(a))
                        and not en.has_number(float(b))
                    ):
                        differences.append(f"{FIELD_NAMES[name]} {_fmt(a)} vs {_fmt(b)}")
                elif a is not None and not zh.has_number(float(a)):
                    differences.append(f"{FIELD_NAMES[name]} {_fmt(a)} vs none")
                elif b is not None and not en.has_number(float(b)):
                    differences.append(f"{FIELD_NAMES[name]} none vs {_fmt(b)}")
            if differences:
                yield (
                    f"{_label(en_stat)}: {'; '.join(differences)} | "
                    f"{self._quote_stat(en_stat)} | {self._quote_stat(zh_stat)}"
                )
        alone = [(s, zh) for s in en_alone] + [(s, en) for s in zh_alone]
        for stat, other in [(s, side) for s, side in alone if not self._loose_p(s)]:
            missing = [
                f"{FIELD_NAMES[name]} {_fmt(stat[name])}"
                for name in NUMBER_FIELDS
                if stat.get(name) is not None and not other.has_number(float(stat[name]))
            ]
            if missing:
                quotes = [self._quote_stat(stat), self._quote_sentences(doc, other)]
                if stat.get("lang") == "zh":
                    quotes.reverse()
                yield (
                    f"{_label(stat)}: {'; '.join(missing)} only in {stat.get('lang')} | "
                    f"{quotes[0]} | {quotes[1]}"
                )

    def _loose_p(self, stat: dict[str, Any]) -> bool:
        return (
            stat.get("measure") == "p"
            and stat.get("op") in ("<", "<=", "≤", ">", ">=", "≥")
            and any(numbers_agree(float(stat["value"]), p) for p in self.settings.loose_p_thresholds)
        )

    def _quote_stat(self, stat: dict[str, Any]) -> str:
        return f"{stat.get('lang')} {stat['start']}-{stat['end']} {self._cut(str(stat.get('text', '')))!r}"

    def _quote_sentences(self, doc: Document, side: _Side) -> str:
        start = min(s.start for s in side.sentences)
        end = max(s.end for s in side.sentences)
        return f"{side.lang} {start}-{end} {self._cut(doc.text[start:end])!r}"

    def _cut(self, text: str) -> str:
        text = " ".join(text.split())
        limit = self.settings.max_quote_chars
        return text if len(text) <= limit else text[: limit - 1] + "…"


def _pair(
    en: list[dict[str, Any]], zh: list[dict[str, Any]]
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Pair statistics across languages, in text order: first same measure and value, then same
    value (translations re-phrase measures), then same measure.  Returns the pairs and the
    unpaired of each side."""
    used_zh: set[int] = set()
    pairs: dict[int, int] = {}
    tests = (
        lambda a, b: a.get("measure") == b.get("measure") and numbers_agree(a["value"], b["value"]),
        lambda a, b: numbers_agree(a["value"], b["value"]),
        lambda a, b: a.get("measure") == b.get("measure"),
    )
    for same in tests:
        for i, a in enumerate(en):
            if i in pairs:
                continue
            for j, b in enumerate(zh):
                if j not in used_zh and same(a, b):
                    pairs[i] = j
                    used_zh.add(j)
                    break
    paired = [(en[i], zh[j]) for i, j in sorted(pairs.items())]
    en_alone = [a for i, a in enumerate(en) if i not in pairs]
    zh_alone = [b for j, b in enumerate(zh) if j not in used_zh]
    return paired, en_alone, zh_alone


def _overlapped(
    stats: list[dict[str, Any]], sentences: dict[str, list[Sentence]]
) -> tuple[list[tuple[str, Sequence[int]] | None], dict[str, dict[int, list[int]]]]:
    """The sentences each statistic overlaps (its language and their indices; None for a language
    not in ``sentences``), and inverted, per language: sentence index -> positions in ``stats``.

    Found once per statistic, they serve both the grouping and each side's own statistics
    (``_own``), which were a scan of every statistic per link group.
    """
    spans = {lang: _Spans(lang_sentences) for lang, lang_sentences in sentences.items()}
    overlapped: list[tuple[str, Sequence[int]] | None] = []
    touching: dict[str, dict[int, list[int]]] = {lang: {} for lang in sentences}
    for position, stat in enumerate(stats):
        lang = stat.get("lang")
        if lang not in sentences:
            overlapped.append(None)
            continue
        indices = spans[lang].overlapping(stat)
        overlapped.append((lang, indices))
        for i in indices:
            touching[lang].setdefault(i, []).append(position)
    return overlapped, touching


def _own(
    stats: list[dict[str, Any]], touching: dict[int, list[int]], indices: list[int]
) -> list[dict[str, Any]]:
    """The statistics (of the language ``touching`` was built for) overlapping any sentence of
    ``indices``, in the order of ``stats``: what testing every statistic against them gives."""
    return [stats[p] for p in sorted({p for i in indices for p in touching.get(i, ())})]


def _overlaps(stat: dict[str, Any], sentence: Sentence) -> bool:
    return int(stat["start"]) < sentence.end and sentence.start < int(stat["end"])


class _Spans:
    """Sentences, asked which of them a statistic overlaps (``_overlaps``).

    Sentences in text order (starts and ends both non-decreasing) are found by bisection: those
    ending after the statistic's start are a tail of the list, and of these the ones starting
    before its end are a head.  Otherwise every sentence is tested, as ``_overlaps`` does.
    """

    def __init__(self, sentences: Sequence[Sentence]) -> None:
        self.sentences = sentences
        self.starts = [sentence.start for sentence in sentences]
        self.ends = [sentence.end for sentence in sentences]
        self.ordered = all(
            self.starts[k] <= self.starts[k + 1] and self.ends[k] <= self.ends[k + 1]
            for k in range(len(sentences) - 1)
        )

    def overlapping(self, stat: dict[str, Any]) -> range | list[int]:
        """Indices of the sentences ``stat`` overlaps, ascending."""
        start, end = int(stat["start"]), int(stat["end"])
        if not self.ordered:
            return [k for k, sentence in enumerate(self.sentences) if _overlaps(stat, sentence)]
        first = bisect.bisect_right(self.ends, start)
        return range(first, max(first, bisect.bisect_left(self.starts, end)))

    def overlaps(self, stat: dict[str, Any]) -> bool:
        return len(self.overlapping(stat)) > 0


def _label(stat: dict[str, Any]) -> str:
    unit = f" {stat['unit']}" if stat.get("unit") else ""
    return f"{stat.get('measure')}{unit}"


def _fmt(number: Any) -> str:
    value = float(number)
    return str(int(value)) if value.is_integer() else repr(value)
