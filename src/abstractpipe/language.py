"""Language: tag every block en | zh | other, with a confidence in 0..1.

Script shares decide first and most: Chinese is recognised by its Han
characters even when it carries Latin abbreviations ("采用 ELISA 法检测 IL-6"),
Japanese by its kana.  Latin-script text is English when it is short (headers,
titles, captions: "Methods", "Key Findings") or when enough of its words are
English function words; only the rest goes to langdetect, through
``FastLangdetect`` (its exact scores, computed with numpy; a page's blocks together).  Results are cached
per block text.  Blocks without letters once URLs and DOIs are removed are
"other".  All thresholds live in ``configs/language.yaml``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
import yaml
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.utils.ngram import NGram

from abstractpipe.config import PACKAGE_CONFIG_DIR
from abstractpipe.document import Document
from abstractpipe.langprofiles import NgramTable, load_ngram_table
from abstractpipe.patterns import PatternRule, case_blind
from abstractpipe.pipeline import Step, register_step

HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
NON_ASCII_LATIN = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a"
LATIN_LETTER = re.compile(f"[A-Za-z{NON_ASCII_LATIN}]")
# langdetect's own text preparation (Detector.append, Detector.cleaning_text).
MAX_TEXT_LENGTH = 10000
RUN_OF_SPACES = re.compile(" +")
LANGDETECT_LATIN = re.compile("[A-z]")  # its test is 'A' <= ch <= 'z'
LANGDETECT_NON_LATIN = re.compile("[\u0300-\u1dff\u1f00-\U0010ffff]")  # from U+0300, not U+1Exx
TRIALS = 7  # Detector.n_trial
BULK_WORDS = 1024  # 32-bit random words drawn at a time (a text's 7 trials take ~1,000)
DRAWS_AHEAD = 200  # factor rows made at a time by _alone (a trial takes ~150 draws)
LEADER_SHARE = 0.4  # see FastLangdetect._alone
# Texts langdetect judges together go side by side when there are this many
# (a shared check costs ~2.5 times a check alone).  The lockstep sums with
# numpy's left-to-right accumulate, which is Python's float sum() before 3.12
# only (3.12 compensates rounding): later Pythons check each text alone.
LOCKSTEP_MIN_TEXTS = 5
LOCKSTEP = sys.version_info < (3, 12)
CACHE_SIZE = 50_000  # block texts remembered per detector (then it starts again)
WORD_CACHE_SIZE = 20_000  # words whose n-grams FastLangdetect remembers (~400 bytes each, 8 MB)
CACHE_CHARS = 2_000_000  # ... or once they hold this many characters (a few MB)
ANY_LETTER = re.compile(r"[^\W\d_]")
# count_scripts counts LATIN_LETTER as ASCII_LETTERS + NON_ASCII_LATIN_LETTER, and
# ANY_LETTER as ASCII_LETTERS + NON_ASCII_LETTER.
ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
NON_ASCII_LATIN_LETTER = re.compile(f"[{NON_ASCII_LATIN}]")
NON_ASCII_LETTER = re.compile(r"[^\W\d_\x00-\x7f]")
LATIN_WORD = re.compile("[A-Za-z\u00c0-\u024f]+(?:'[A-Za-z]+)?")


@lru_cache(maxsize=1)
def _langdetect_factory() -> DetectorFactory:
    """langdetect's own detector factory: the reference the tests compare with."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


@lru_cache(maxsize=1)
def _ngram_table() -> NgramTable:
    # Loaded once per process (before workers fork); no other code's settings of the
    # global langdetect factory can change our results.
    return load_ngram_table(PROFILES_DIRECTORY)


class FastLangdetect:
    """langdetect's probabilities, computed with numpy: the same numbers, bit for bit.

    ``Detector._detect_block`` multiplies 55 language probabilities one n-gram at
    a time in a Python loop; here each run of updates between two convergence
    checks is one numpy product, over the same random draws (``_DrawStream``)
    and the same floating-point operations in the same order, so results equal
    ``Detector.get_probabilities()`` exactly (``tests/test_language.py``).
    Several texts given together (a page's blocks) are worked side by side,
    each check of all of them in the same numpy calls (``_lockstep``).
    """

    def __init__(self, table: NgramTable) -> None:
        # The profiles as a sparse table (``langprofiles``): ~10 MB instead of langdetect's
        # ~60 MB of lists, and each text's rows built when it needs them.
        self.table = table
        self.word_probs = table.index  # the n-grams langdetect knows
        self.english = table.languages.index("en")
        self.languages = table.width
        self.translation: dict[int, str] = {}  # code point -> NGram.normalize(character), for str.translate
        self.word_grams: dict[str, tuple[str, ...]] = {}  # normalised word (+ " ") -> its n-grams

    def english_probability(self, text: str, seed: int) -> float:
        """Probability of "en" as langdetect reports it (0.0 when at or below its 0.1 cut-off)."""
        return self.english_probabilities([text], seed)[0]

    def english_probabilities(self, texts: list[str], seed: int) -> list[float]:
        """``english_probability`` of each text, each judged on its own (faster together)."""
        grams = [self._ngrams(self._prepare(text)) for text in texts]
        # langdetect raises "No features in text" on a text without n-grams: 0.0.
        found = iter(self._probabilities_many([g for g in grams if g], seed))
        results: list[float] = []
        for ngrams in grams:
            english = float(next(found)[self.english]) if ngrams else 0.0
            results.append(english if english > Detector.PROB_THRESHOLD else 0.0)
        return results

    @staticmethod
    def _prepare(text: str) -> str:
        """``Detector.append`` then ``Detector.cleaning_text``, with regexes instead of char loops."""
        text = Detector.URL_RE.sub(" ", text)
        text = Detector.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        text = RUN_OF_SPACES.sub(" ", text[:MAX_TEXT_LENGTH])
        if 2 * len(LANGDETECT_LATIN.findall(text)) < len(LANGDETECT_NON_LATIN.findall(text)):
            text = LANGDETECT_LATIN.sub("", text)
        return text

    def _ngrams(self, text: str) -> list[str]:
        """``Detector._extract_ngrams``, one space-separated word at a time.

        langdetect's n-gram state starts afresh after every space (after the
        first, a run of spaces adds nothing), so a text's n-grams are those of
        each word, with the space that follows it when one does: a word's are
        made once per process and remembered.
        """
        for code in set(map(ord, text)).difference(self.translation):
            self.translation[code] = NGram.normalize(chr(code))
        words = text.translate(self.translation).split(" ")
        known = self.word_grams
        if len(known) >= WORD_CACHE_SIZE:
            known.clear()
        result: list[str] = []
        last = len(words) - 1
        for index, word in enumerate(words):
            if word:
                key = word + " " if index < last else word
                grams = known.get(key)
                if grams is None:
                    grams = known[key] = self._word_ngrams(key)
                result.extend(grams)
        return result

    def _word_ngrams(self, word: str) -> tuple[str, ...]:
        """langdetect's n-grams of one normalised word, from a fresh state (as after a space).

        langdetect keeps the last three characters (a space first) and after each
        character takes the 1-, 2- and 3-grams ending there, but none after an
        upper-case character that follows another (its ``capital_word``, which
        holds exactly then), and never the 1-gram " ".  A word holds no space but
        perhaps a trailing one, so its windows are slices of " " + word.
        """
        known = self.word_probs
        intern = sys.intern  # one string per n-gram, not per word
        result: list[str] = []
        append = result.append
        text = " " + word
        previous_upper = False
        for end in range(2, len(text) + 1):
            char = text[end - 1]
            upper = char.isupper()
            if upper and previous_upper:
                continue
            previous_upper = upper
            if char in known and char != " ":
                append(intern(char))
            gram = text[end - 2 : end]
            if gram in known:
                append(intern(gram))
            if end > 2:
                gram = text[end - 3 : end]
                if gram in known:
                    append(intern(gram))
        return tuple(result)

    def _probabilities_many(self, texts: list[list[str]], seed: int) -> list[np.ndarray]:
        """langdetect's 55 probabilities for each text's n-grams (none empty)."""
        index: dict[str, int] = {}
        streams = [
            _DrawStream(np.array([index.setdefault(w, len(index)) for w in ngrams]), seed) for ngrams in texts
        ]
        if not streams:
            return []
        table = self.table.rows(list(index))  # the texts' n-grams' rows
        if LOCKSTEP and len(streams) >= LOCKSTEP_MIN_TEXTS:
            return self._lockstep(streams, table)
        return [self._alone(stream, table) for stream in streams]

    def _alone(self, stream: _DrawStream, table: np.ndarray) -> np.ndarray:
        """One text's trials: one numpy product per run of updates."""
        total = np.zeros(self.languages)
        for _ in range(TRIALS):
            weight = stream.start_trial()
            # rows[1 + j] is the factor row of the trial's draw j; the current
            # probabilities sit in rows[used], the slot of a draw already applied
            # (rows[0] at first), so each run of updates is one product over
            # consecutive rows.
            rows = np.full((1, self.languages), 1.0 / self.languages)
            used = 0  # updates applied so far
            last = 0  # index of the last update applied, langdetect's ``i``
            updates = 1  # one update and a check at i = 0, then a check every 5
            leader = 0  # index of the largest probability at the last full check
            while True:
                if used + updates >= len(rows):
                    drawn = table[stream.draws(used + DRAWS_AHEAD)]
                    grown = np.empty((len(drawn) + 1, self.languages))
                    np.add(weight, drawn, out=grown[1:])  # langdetect's factor: weight + p
                    grown[used] = rows[used]
                    rows = grown
                # Rows multiply in order, ((prob * f1) * f2) ..., as langdetect's loop.
                product = np.multiply.reduce(rows[used : used + updates + 1], axis=0)
                values = product.tolist()
                norm = sum(values)  # Python's sum: langdetect's order
                used += updates
                np.divide(product, norm, out=rows[used])
                # langdetect stops when max(p / s) > threshold; division by a positive
                # number keeps the order, so that is max(p) / s.  While one language
                # holds at least 0.4 of the sum no other can pass the threshold, and
                # max() over the 55 values is needed only when it does not.
                if values[leader] / norm > Detector.CONV_THRESHOLD:
                    break
                if values[leader] < LEADER_SHARE * norm:
                    highest = max(values)
                    if highest / norm > Detector.CONV_THRESHOLD:
                        break
                    leader = values.index(highest)
                if last >= Detector.ITERATION_LIMIT:
                    break
                last += 5
                updates = 5
            stream.end_trial(used)
            total += rows[used] / TRIALS
        return total

    def _lockstep(self, streams: list[_DrawStream], table: np.ndarray) -> list[np.ndarray]:
        """Several texts' trials side by side, each check of all of them in the same numpy calls.

        One text's ~200 checks cost mostly numpy's per-call overhead on 55
        numbers.  The texts are independent, so at every tick each unfinished
        one makes its next check, one row each, with the operations of
        ``_alone`` in the same order: the product of the probabilities and the
        next five factors (a trial's first check has one factor, after four
        factors of exactly 1.0: x * 1.0 == x), the left-to-right sum,
        the division, and max(p / s) > threshold as "some p / s > threshold".
        """
        languages = self.languages
        checks = -(-Detector.ITERATION_LIMIT // 5)  # a trial's last check is i = 5 * checks
        width = 4 + 1 + 5 * checks  # four padding columns, then the most draws a trial uses
        totals = [np.zeros(languages) for _ in streams]
        active = list(range(len(streams)))  # text of each row
        count = len(active)
        # probs[k, 0]: row k's probabilities; probs[k, 1:]: the factors of its next check.
        probs = np.empty((count, 6, languages))
        rows = np.zeros((count, width), dtype=np.intp)  # table row of each draw, after the padding
        weights = np.empty(count)
        begun = [0] * count  # tick of the current trial's first check
        starting: list[int] = []  # rows whose trial's first check is the next one
        tick = 0

        def start(k: int) -> bool:
            """Row k's text starts its next trial at ``tick`` (False: it has had them all)."""
            stream = streams[active[k]]
            if stream.trial == TRIALS:
                return False
            weights[k] = stream.start_trial()
            rows[k, 4:] = stream.draws(width - 4)
            probs[k, 0] = 1.0 / languages
            begun[k] = tick
            starting.append(k)
            return True

        for k in range(count):
            start(k)
        keep = list(range(count))
        while keep:
            if len(keep) < count:
                active = [active[k] for k in keep]
                begun = [begun[k] for k in keep]
                starting = [keep.index(k) for k in starting]
                probs, rows, weights = probs[keep], rows[keep], weights[keep]
                count = len(keep)
            # rows.flat[base + 5 * tick]: the columns of every row's check at ``tick``.
            base = (np.arange(count) * width - 5 * np.array(begun))[:, None] + np.arange(5)
            horizon = min(begun) + checks  # the first tick at which a trial makes its last check
            factors, current = probs[:, 1:], probs[:, 0]
            scale = weights[:, None, None]
            product = np.empty((count, languages))
            sums = np.empty((count, languages))
            flat = rows.ravel()
            while True:
                np.add(table[flat.take(base + 5 * tick)], scale, out=factors)  # weight + p
                if starting:
                    factors[starting, :4] = 1.0
                    starting = []
                np.multiply.reduce(probs, axis=1, out=product)
                np.add.accumulate(product, axis=1, out=sums)
                np.divide(product, sums[:, -1:], out=current)
                if np.maximum.reduce(current, axis=None) > Detector.CONV_THRESHOLD or tick == horizon:
                    break
                tick += 1
            ended = np.maximum.reduce(current, axis=1) > Detector.CONV_THRESHOLD
            tick += 1  # the next trials start at the next tick
            keep = []
            for k in range(count):
                if ended[k] or tick - 1 == begun[k] + checks:
                    stream = streams[active[k]]
                    stream.end_trial(1 + 5 * (tick - 1 - begun[k]))
                    totals[active[k]] += current[k] / TRIALS
                    if not start(k):
                        continue
                keep.append(k)
        return totals


class _CountingRandom(Random):
    """A ``random.Random`` that counts its ``random()`` calls (``gauss`` draws through them)."""

    calls = 0

    def random(self) -> float:
        self.calls += 1
        return super().random()


class _DrawStream:
    """langdetect's random numbers for one text: per trial a ``gauss``, then the draws.

    langdetect seeds one generator, then per trial calls ``gauss`` once and
    ``random.choice(ngrams)`` (``ngrams[getrandbits(k)]``, redrawn while >=
    count) until the trial ends.  Each ``getrandbits(k)`` (k <= 32) takes one
    32-bit word of the generator's stream and each ``random()`` two.  The
    draws are read from a second generator with the same seed, drawn ahead in
    bulk (a trial's length is not known in advance); langdetect's own generator
    makes the ``gauss`` calls and skips the words the trial's draws used, so
    neither is ever rewound.
    """

    def __init__(self, positions: np.ndarray, seed: int) -> None:
        self.positions = positions  # n-gram index -> row of the n-gram table
        self.count = len(positions)
        self.shift = 32 - self.count.bit_length()
        self.random = _CountingRandom(seed)  # langdetect's generator, for gauss
        self.ahead = Random(seed)  # the same words, drawn in bulk
        self.words = np.empty(0, dtype=np.uint32)
        self.accepted = np.empty(0, dtype=np.intp)  # stream positions of accepted draws
        self.rows = np.empty(0, dtype=np.intp)  # table row of each accepted draw
        self.offset = 0  # stream position of the current trial's first draw
        self.first = 0  # index in ``accepted`` of the current trial's first draw
        self.trial = 0  # trials ended

    def start_trial(self) -> float:
        """langdetect's gauss starting a trial, as its weight: alpha / BASE_FREQ."""
        calls = self.random.calls
        alpha = Detector.ALPHA_DEFAULT + self.random.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH
        self.offset += 2 * (self.random.calls - calls)
        self._extend(self.offset + 1)
        self.first = int(np.searchsorted(self.accepted, self.offset))
        return alpha / Detector.BASE_FREQ

    def draws(self, needed: int) -> np.ndarray:
        """Table rows of the trial's first ``needed`` draws."""
        while len(self.accepted) - self.first < needed:
            self._extend(len(self.words) + 1)
        return self.rows[self.first : self.first + needed]

    def end_trial(self, used: int) -> None:
        """The trial used its first ``used`` draws: langdetect's generator skips their words."""
        end = int(self.accepted[self.first + used - 1]) + 1
        self.random.getrandbits(32 * (end - self.offset))
        self.offset = end
        self.trial += 1

    def _extend(self, length: int) -> None:
        """Draw words in bulk until the stream holds at least ``length``."""
        if len(self.words) >= length:
            return
        while len(self.words) < length:
            fresh = self.ahead.getrandbits(32 * BULK_WORDS).to_bytes(4 * BULK_WORDS, "little")
            self.words = np.concatenate([self.words, np.frombuffer(fresh, dtype="<u4")])
        draws = self.words >> self.shift
        self.accepted = np.flatnonzero(draws < self.count)
        self.rows = self.positions[draws[self.accepted]]


@dataclass(frozen=True)
class ScriptCounts:
    han: int
    kana: int
    latin: int
    letters: int  # letters of every script, Han and kana included


# The regexes count_scripts counts non-ASCII characters with, one bit each in _bmp_scripts.
SCRIPT_PATTERNS = (HAN, KANA, NON_ASCII_LATIN_LETTER, NON_ASCII_LETTER)
# Row f: which of SCRIPT_PATTERNS a character with bits f matches (counts @ this: the four sums).
SCRIPT_BITS = np.array([[(f >> bit) & 1 for bit in range(len(SCRIPT_PATTERNS))] for f in range(16)])


@lru_cache(maxsize=1)
def _bmp_scripts() -> np.ndarray:
    """For every BMP code point, bit i set when SCRIPT_PATTERNS[i] matches it (~5 ms, once).

    Made by the regexes themselves: each matches single characters, so a sub
    that blanks its matches to U+0000 marks them in place.
    """
    # Every BMP character in order, lone surrogates included.
    every = np.arange(0x10000, dtype="<u2").tobytes().decode("utf-16-le", "surrogatepass")
    table = np.zeros(0x10000, dtype=np.uint8)
    for bit, pattern in enumerate(SCRIPT_PATTERNS):
        marked = np.frombuffer(pattern.sub("\0", every).encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        hits = marked == 0
        hits[0] = pattern.match("\0") is not None  # U+0000 itself
        table[hits] |= 1 << bit
    return table


def count_scripts(text: str) -> ScriptCounts:
    # ASCII letters are counted on the UTF-8 bytes (a non-ASCII character never
    # encodes to an ASCII byte); most blocks are plain ASCII and need nothing
    # more.  The rest are counted by code point from a table of what each
    # pattern matches (one numpy pass instead of four regex scans), or by the
    # regexes when a character lies beyond the BMP.
    encoded = text.encode("utf-8", "surrogatepass")
    ascii_letters = len(encoded) - len(encoded.translate(None, ASCII_LETTERS))
    if len(encoded) == len(text):  # all ASCII: no Han, no kana, every letter Latin
        return ScriptCounts(han=0, kana=0, latin=ascii_letters, letters=ascii_letters)
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) == 2 * len(text):  # one UTF-16 unit per character: all in the BMP
        flags = _bmp_scripts()[np.frombuffer(units, dtype=np.uint16)]
        han, kana, latin, letters = (np.bincount(flags, minlength=16) @ SCRIPT_BITS).tolist()
    else:
        han, kana, latin, letters = (pattern.subn("", text)[1] for pattern in SCRIPT_PATTERNS)
    return ScriptCounts(han=han, kana=kana, latin=ascii_letters + latin, letters=ascii_letters + letters)


class LanguageDetector:
    """Decides the language of one piece of text from the language rules."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.identifiers = [PatternRule.from_entry(entry) for entry in rules.get("identifier_patterns", [])]
        self.letters_per_han = float(rules.get("latin_letters_per_han", 3.0))
        self.zh_min_share = float(rules.get("zh_min_share", 0.5))
        self.kana_min_share = float(rules.get("kana_min_share", 0.05))
        self.kana_min_count = int(rules.get("kana_min_count", 2))
        self.foreign_min_share = float(rules.get("foreign_script_min_share", 0.5))
        self.short_max_letters = int(rules.get("short_max_letters", 30))
        self.short_min_letters = int(rules.get("short_min_letters", 2))
        self.short_confidence = float(rules.get("short_confidence", 0.7))
        self.seed = int(rules.get("langdetect_seed", 0))
        self.function_word_share = float(rules.get("english_function_word_share", 0.12))
        self.typical_function_word_share = float(rules.get("english_typical_function_word_share", 0.3))
        self.function_words = frozenset(str(w).lower() for w in rules.get("english_function_words", []))
        self.cache: dict[str, tuple[str, float]] = {}
        self.cached_chars = 0

    @cached_property
    def langdetect(self) -> FastLangdetect:
        # Loaded at first use, not when the step is built: a parallel run's first workers
        # (the observation pass) start without it, while the driver loads it.
        return FastLangdetect(_ngram_table())

    def strip_identifiers(self, text: str) -> str:
        folded = None  # case_blind(text), made once while text is unchanged
        for rule in self.identifiers:
            # Most blocks hold no e-mail address, DOI or URL: a substring test skips the
            # pattern (the e-mail one alone cost ~0.3 ms a page, trying a match at every word).
            if rule.needs_any_case and folded is None:
                folded = case_blind(text)
            if not rule.may_match(text, folded):
                continue
            stripped = rule.pattern.sub(" ", text)
            if stripped != text:
                text, folded = stripped, None
        return text

    def detect(self, text: str) -> tuple[str, float]:
        return self.detect_many([text])[0]

    def detect_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """``detect`` of each text; those only langdetect can judge go to it together (faster)."""
        # Page furniture and repeated headers recur across a site's pages: a
        # pure function of the text, so a cache cannot change any result.
        results: dict[str, tuple[str, float]] = {}
        undecided: dict[str, str] = {}  # text -> its identifier-free form, for langdetect
        for text in texts:
            if text in results or text in undecided:
                continue
            decided = self.cache.get(text) or self._decide(text)
            if isinstance(decided, str):
                undecided[text] = decided
            else:
                results[text] = decided
        if undecided:
            probabilities = self.langdetect.english_probabilities(list(undecided.values()), self.seed)
            for text, english_prob in zip(undecided, probabilities, strict=True):
                results[text] = _from_english_probability(english_prob)
        for text, result in results.items():
            self._remember(text, result)
        return [results[text] for text in texts]

    def _remember(self, text: str, result: tuple[str, float]) -> None:
        # Bounded in characters as well as entries: 50,000 abstracts would be ~100 MB.
        if text in self.cache:
            return
        if len(self.cache) >= CACHE_SIZE or self.cached_chars + len(text) > CACHE_CHARS:
            self.cache.clear()
            self.cached_chars = 0
        self.cache[text] = result
        self.cached_chars += len(text)

    def _decide(self, text: str) -> tuple[str, float] | str:
        """The result, or (when only langdetect can tell) the identifier-free text it must judge."""
        text = self.strip_identifiers(text)
        counts = count_scripts(text)
        if counts.letters == 0:
            return "other", 1.0
        if counts.kana >= self.kana_min_count and counts.kana / (counts.han + counts.kana) >= (
            self.kana_min_share
        ):
            return "other", round(min(1.0, 0.6 + counts.kana / (counts.han + counts.kana)), 4)
        foreign = counts.letters - counts.han - counts.kana - counts.latin
        if foreign / counts.letters >= self.foreign_min_share:
            return "other", round(foreign / counts.letters, 4)
        if counts.han:
            weighted_latin = counts.latin / self.letters_per_han
            han_share = counts.han / (counts.han + weighted_latin)
            if han_share >= self.zh_min_share:
                # One or two Han characters ("图", "背景") are Chinese, but less surely so.
                certainty = min(1.0, 0.6 + 0.1 * counts.han)
                return "zh", round(han_share * certainty, 4)
            if counts.latin < self.short_max_letters:
                return "en", round(self.short_confidence * (1.0 - han_share), 4)
        return self._decide_latin(text, counts.latin)

    def _decide_latin(self, text: str, latin_letters: int) -> tuple[str, float] | str:
        if latin_letters < self.short_min_letters:
            return "other", 0.6
        if latin_letters < self.short_max_letters:
            return "en", self.short_confidence
        if text.isascii():  # lower-casing ASCII keeps every character in or out of LATIN_WORD
            words = LATIN_WORD.findall(text.lower())
        else:
            words = [w.lower() for w in LATIN_WORD.findall(text)]
        function_share = sum(map(self.function_words.__contains__, words)) / max(len(words), 1)
        if function_share >= self.function_word_share:
            # English whatever langdetect says, so it is not asked (it is most of
            # the stage's cost); the confidence grows with the share instead.
            share = min(1.0, function_share / self.typical_function_word_share)
            return "en", round(0.5 + 0.5 * share, 4)
        return text


def _from_english_probability(english_prob: float) -> tuple[str, float]:
    if english_prob >= 0.5:
        return "en", round(english_prob, 4)
    return "other", round(1.0 - english_prob, 4)


@lru_cache(maxsize=1)
def _default_detector() -> LanguageDetector:
    path = Path(PACKAGE_CONFIG_DIR) / "language.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return LanguageDetector(rules or {})


def detect_language(text: str) -> tuple[str, float]:
    """(en | zh | other, confidence in 0..1) for a piece of text, with the packaged rules."""
    return _default_detector().detect(text)


@register_step("language")
class LanguageStep(Step):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.detector = LanguageDetector(self.load_stage_rules())

    def process(self, doc: Document) -> Document:
        results = self.detector.detect_many([doc.block_text(block) for block in doc.blocks])
        for block, (lang, confidence) in zip(doc.blocks, results, strict=True):
            block.lang, block.lang_confidence = lang, confidence
            self.counters[f"blocks_{block.lang}"] += 1
        return doc
