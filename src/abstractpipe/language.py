"""Language: tag every block en | zh | other, with a confidence in 0..1.

Script shares decide first and most: Chinese is recognised by its Han
characters even when it carries Latin abbreviations ("采用 ELISA 法检测 IL-6"),
Japanese by its kana.  Latin-script text is English when it is short (headers,
titles, captions: "Methods", "Key Findings") or when langdetect or an English
function-word check says so.  Blocks without letters once URLs and DOIs are
removed are "other".  All thresholds live in ``configs/language.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from abstractpipe.config import PACKAGE_CONFIG_DIR
from abstractpipe.document import Document
from abstractpipe.pipeline import Step, register_step

DetectorFactory.seed = 0

HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
LATIN_LETTER = re.compile(
    "[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]"
)
ANY_LETTER = re.compile(r"[^\W\d_]")
LATIN_WORD = re.compile("[A-Za-z\u00c0-\u024f]+(?:'[A-Za-z]+)?")


@lru_cache(maxsize=1)
def _langdetect_factory() -> DetectorFactory:
    # A private factory: profiles load once per process, and no other code's
    # settings of the global langdetect factory can change our results.
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


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
        self.function_words = frozenset(str(w).lower() for w in rules.get("english_function_words", []))

    def strip_identifiers(self, text: str) -> str:
        for pattern in self.identifiers:
            text = pattern.sub(" ", text)
        return text

    def detect(self, text: str) -> tuple[str, float]:
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
        english_prob = self._english_probability(text)
        if english_prob >= 0.5:
            return "en", round(english_prob, 4)
        if function_share >= self.function_word_share:
            return "en", round(min(1.0, 0.5 + function_share), 4)
        return "other", round(1.0 - english_prob, 4)

    def _english_probability(self, text: str) -> float:
        detector = _langdetect_factory().create()
        detector.seed = self.seed  # re-seeded inside every detect call: order-independent
        detector.append(text)
        try:
            candidates = detector.get_probabilities()
        except LangDetectException:
            return 0.0
        return next((c.prob for c in candidates if c.lang == "en"), 0.0)


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
        rules = config.load_rules(self.settings["rules"]) if self.settings.get("rules") else {}
        self.detector = LanguageDetector(rules or {})

    def process(self, doc: Document) -> Document:
        for block in doc.blocks:
            block.lang, block.lang_confidence = self.detector.detect(doc.block_text(block))
            self.counters[f"blocks_{block.lang}"] += 1
        return doc
