"""Language: tag every block en | zh | other, with a confidence in 0..1.

Script shares decide first and most: Chinese is recognised by its Han
characters even when it carries Latin abbreviations ("采用 ELISA 法检测 IL-6"),
Japanese by its kana.  Latin-script text is English when it is short (headers,
titles, captions: "Methods", "Key Findings") or when enough of its words are
English function words; only the rest goes to langdetect, through
``FastLangdetect`` (its exact scores, computed with numpy).  Results are cached
per block text.  Blocks without letters once URLs and DOIs are removed are
"other".  All thresholds live in ``configs/language.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
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
from abstractpipe.pipeline import Step, register_step

HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
LATIN_LETTER = re.compile(
    "[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]"
)
# langdetect's own text preparation (Detector.append, Detector.cleaning_text).
MAX_TEXT_LENGTH = 10000
RUN_OF_SPACES = re.compile(" +")
LANGDETECT_LATIN = re.compile("[A-z]")  # its test is 'A' <= ch <= 'z'
LANGDETECT_NON_LATIN = re.compile("[\u0300-\u1dff\u1f00-\U0010ffff]")  # from U+0300, not U+1Exx
TRIALS = 7  # Detector.n_trial
BULK_WORDS = 1024  # 32-bit random words drawn at a time (a quarter at first)
LEADER_SHARE = 0.4  # see FastLangdetect._probabilities
CACHE_SIZE = 50_000  # block texts remembered per detector (then it starts again)
CACHE_CHARS = 2_000_000  # ... or once they hold this many characters (a few MB)
ANY_LETTER = re.compile(r"[^\W\d_]")
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
    checks is one numpy product, over the same random draws (a
    ``random.Random`` seeded and called exactly as langdetect does) and the
    same floating-point operations in the same order, so results equal
    ``Detector.get_probabilities()`` exactly (``tests/test_language.py``).
    """

    def __init__(self, table: NgramTable) -> None:
        # The profiles as a sparse table (``langprofiles``): ~10 MB instead of langdetect's
        # ~60 MB of lists, and each text's rows built when it needs them.
        self.table = table
        self.word_probs = table.index  # the n-grams langdetect knows
        self.english = table.languages.index("en")
        self.languages = table.width
        self.normalized: dict[str, str] = {}

    def english_probability(self, text: str, seed: int) -> float:
        """Probability of "en" as langdetect reports it (0.0 when at or below its 0.1 cut-off)."""
        ngrams = self._ngrams(self._prepare(text))
        if not ngrams:
            return 0.0  # langdetect raises "No features in text"
        english = float(self._probabilities(ngrams, seed)[self.english])
        return english if english > Detector.PROB_THRESHOLD else 0.0

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
        """``Detector._extract_ngrams`` with each character normalised once per process."""
        normalized = self.normalized
        known = self.word_probs
        result: list[str] = []
        grams = " "
        capital = False
        for original in text:
            char = normalized.get(original)
            if char is None:
                char = normalized[original] = NGram.normalize(original)
            last = grams[-1]
            if last == " ":
                grams = " "
                capital = False
                if char == " ":
                    continue
            elif len(grams) >= 3:
                grams = grams[1:]
            grams += char
            if char.isupper():
                if last.isupper():
                    capital = True
            else:
                capital = False
            if capital:
                continue
            for size in (1, 2, 3):
                if len(grams) < size:
                    break
                gram = grams[-size:]
                if gram != " " and gram in known:
                    result.append(gram)
        return result

    def _probabilities(self, ngrams: list[str], seed: int) -> np.ndarray:
        index: dict[str, int] = {}
        positions = np.array([index.setdefault(w, len(index)) for w in ngrams])
        table = self.table.rows(list(index))
        random = Random(seed)
        count = len(ngrams)
        shift = 32 - count.bit_length()
        total = np.zeros(self.languages)
        for _ in range(TRIALS):
            alpha = Detector.ALPHA_DEFAULT + random.gauss(0.0, 1.0) * Detector.ALPHA_WIDTH
            factors = (alpha / Detector.BASE_FREQ) + table
            # random.choice(ngrams) is ngrams[getrandbits(k)], redrawn while >= count:
            # draw the 32-bit words in bulk, keep the accepted ones, and rewind the
            # generator to just after the last word used.
            state = random.getstate()
            words = np.empty(0, dtype=np.uint32)
            accepted = np.empty(0, dtype=np.int64)
            # rows[1 + j] is the factor row of draw j; the current probabilities sit
            # in rows[used], the slot of a draw already applied (rows[0] at first),
            # so each run of updates is one product over consecutive rows.
            rows = np.full((1, self.languages), 1.0 / self.languages)
            used = 0  # updates applied so far
            available = 0  # accepted draws so far
            last = 0  # index of the last update applied, langdetect's ``i``
            updates = 1  # one update and a check at i = 0, then a check every 5
            leader = 0  # index of the largest probability at the last full check
            while True:
                if used + updates > available:
                    bulk = BULK_WORDS if len(words) else BULK_WORDS // 4
                    fresh = random.getrandbits(32 * bulk).to_bytes(4 * bulk, "little")
                    words = np.concatenate([words, np.frombuffer(fresh, dtype="<u4")])
                    draws = words >> shift
                    accepted = np.flatnonzero(draws < count)
                    available = len(accepted)
                    grown = np.empty((len(accepted) + 1, self.languages))
                    grown[1:] = factors[positions[draws[accepted]]]
                    grown[used] = rows[used]
                    rows = grown
                    continue
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
            consumed = int(accepted[used - 1]) + 1
            random.setstate(state)
            random.getrandbits(32 * consumed)
            total += rows[used] / TRIALS
        return total


@dataclass(frozen=True)
class ScriptCounts:
    han: int
    kana: int
    latin: int
    letters: int  # letters of every script, Han and kana included


def count_scripts(text: str) -> ScriptCounts:
    return ScriptCounts(
        han=len(HAN.findall(text)),
        kana=len(KANA.findall(text)),
        latin=len(LATIN_LETTER.findall(text)),
        letters=len(ANY_LETTER.findall(text)),
    )


class LanguageDetector:
    """Decides the language of one piece of text from the language rules."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.identifiers = [re.compile(p) for p in rules.get("identifier_patterns", [])]
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
        self.langdetect = FastLangdetect(_ngram_table())
        self.cache: dict[str, tuple[str, float]] = {}
        self.cached_chars = 0

    def strip_identifiers(self, text: str) -> str:
        for pattern in self.identifiers:
            text = pattern.sub(" ", text)
        return text

    def detect(self, text: str) -> tuple[str, float]:
        # Page furniture and repeated headers recur across a site's pages: a
        # pure function of the text, so a cache cannot change any result.
        # Bounded in characters as well as entries: 50,000 abstracts would be ~100 MB.
        result = self.cache.get(text)
        if result is None:
            if len(self.cache) >= CACHE_SIZE or self.cached_chars + len(text) > CACHE_CHARS:
                self.cache.clear()
                self.cached_chars = 0
            result = self.cache[text] = self._detect(text)
            self.cached_chars += len(text)
        return result

    def _detect(self, text: str) -> tuple[str, float]:
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
        return self._detect_latin(text, counts.latin)

    def _detect_latin(self, text: str, latin_letters: int) -> tuple[str, float]:
        if latin_letters < self.short_min_letters:
            return "other", 0.6
        if latin_letters < self.short_max_letters:
            return "en", self.short_confidence
        words = [w.lower() for w in LATIN_WORD.findall(text)]
        function_share = sum(w in self.function_words for w in words) / max(len(words), 1)
        if function_share >= self.function_word_share:
            # English whatever langdetect says, so it is not asked (it is most of
            # the stage's cost); the confidence grows with the share instead.
            share = min(1.0, function_share / self.typical_function_word_share)
            return "en", round(0.5 + 0.5 * share, 4)
        english_prob = self._english_probability(text)
        if english_prob >= 0.5:
            return "en", round(english_prob, 4)
        return "other", round(1.0 - english_prob, 4)

    def _english_probability(self, text: str) -> float:
        return self.langdetect.english_probability(text, self.seed)


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
        for block in doc.blocks:
            block.lang, block.lang_confidence = self.detector.detect(doc.block_text(block))
            self.counters[f"blocks_{block.lang}"] += 1
        return doc
