"""Statistics in English and Chinese abstract text.

``StatisticsExtractor(rules).find(text, lang)`` returns dicts shaped like
``schema.Statistic`` (without ``lang``/``section``): effect estimates with their
confidence interval and attached p-value, test statistics, standalone
p-values, I², counts, means/medians and result percentages.

The text is first normalised (full-width forms, unicode minus, PDF maths
markup such as ``$P{<}0.05$`` or ``$( 9 0 . 6 \\%$``) into a working string
with an offset map, so every span reported points into the text passed in.
The regex skeletons live here; every word they match comes from the rule
file (``configs/statistics.yaml``).

Matching runs in passes of decreasing specificity; each pass claims the
characters it used so later, looser passes (percent, counts, means) cannot
reread a CI bound or an attached p-value as a statistic of its own.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from typing import Any

from abstractpipe.patterns import WordStartPattern, WordStartPatterns, first_characters, grouped_alternation

FIELDS = (
    "measure",
    "value",
    "op",
    "ci_level",
    "ci_low",
    "ci_high",
    "p_op",
    "p_value",
    "unit",
    "text",
    "start",
    "end",
)

# One-to-one character folding (offsets unchanged).
_FOLD = {chr(0xFF10 + i): str(i) for i in range(10)}
_FOLD.update({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)})  # full-width Latin letters
_FOLD.update({chr(0xFF41 + i): chr(0x61 + i) for i in range(26)})
_FOLD.update(
    {
        "＝": "=",
        "＜": "<",
        "＞": ">",
        "％": "%",
        "，": ",",
        "（": "(",
        "）": ")",
        "：": ":",
        "；": ";",
        "～": "~",
        "［": "[",
        "］": "]",
        "＋": "+",
        "－": "-",
        "−": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "﹣": "-",
        "﹤": "<",
        "﹥": ">",
        "·": ".",
        "•": ".",
        "≦": "≤",
        "≧": "≥",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u3000": " ",
        "．": ".",
        "【": "[",
        "】": "]",
    }
)
_FOLD_TABLE = str.maketrans(_FOLD)
# Every character _FOLD maps is non-ASCII; most texts hold none of them, and finding that out
# is much cheaper than translating character by character.
_FOLDED_RE = re.compile("[" + "".join(re.escape(char) for char in sorted(_FOLD)) + "]")
_ANY_DIGIT = re.compile(r"\d")  # any Unicode digit: a superset of what the patterns read

# PDF-to-Markdown maths: commands that stand for a character, the rest are dropped.
_LATEX_SYMBOLS = {
    "pm": "±",
    "leq": "≤",
    "le": "≤",
    "leqslant": "≤",
    "geq": "≥",
    "ge": "≥",
    "geqslant": "≥",
    "lt": "<",
    "gt": ">",
    "sim": "~",
    "times": "×",
    "chi": "χ",
    "beta": "β",
    "mu": "μ",
    "alpha": "α",
    "cdot": ".",
    "colon": ":",
    "%": "%",
}
# Maths markup tokens: "$" or "\\$" (maths on/off), "\\command" or "\\%", and runs of the
# other characters as one token "plain", so that normalise handles them in bulk.  Outside
# maths a plain run is text that stands for itself (a run of two or more spaces is a token
# of its own: it maps back to the whole run); in maths it drops spaces and "{}^_" and reads
# "~" as a space.
_TEXT_TOKEN = re.compile(
    r"\\?\$|\\([A-Za-z]+|[%~$_&#{}]|[ ,:;!])|(?P<plain>(?:[^\s$\\]|\s(?!\s))+)|\s+|.", re.S
)
_MATH_TOKEN = re.compile(r"\\?\$|\\([A-Za-z]+|[%~$_&#{}]|[ ,:;!])|(?P<plain>[^$\\]+)|.", re.S)
_ESCAPED_TEXT = re.compile(r"\\([%~$_&#*\[\]])")

_LETTER_OR_DIGIT = "A-Za-z0-9"
# Helpers of the passes, compiled once.
_SPACES = re.compile(r"\s+")
_TAIL_LEAD = re.compile(r"\s*[\)\]]?\s*[,;]?\s*[\(\[]?\s*")  # between a value's CI and its I² / p
_ORDINAL_SUFFIX = re.compile(r"(?:st|nd|rd|th)\b")
# Spaces that group thousands in an English count ("18 345", also thin and no-break spaces),
# and what before a number makes it the end of a list or range instead.
_SPACES_IN_NUMBERS = " \u00a0\u2009\u202f"
_LIST_JOINTS = (" and ", " to ", " or ", "-", "–", " - ", " – ")
# What may stand before the minus of a signed number (not a letter or digit: "A-5%", "10-20%").
_SIGN_FOLLOWS = " \t([,:;/="
_DIGIT_GROUPING = re.compile(f"[,{_SPACES_IN_NUMBERS}]")
_NUM = r"[-+–]?(?:\d+(?:\.\d+)?|\.\d+)"
_UNSIGNED = r"(?:\d+(?:\.\d+)?|\.\d+)"
_CI_WORDS = r"confidence\s+intervals?"  # a CI label in any case


def _alternation(words: Iterable[str], *, ignore_case: bool = False) -> str:
    """Longest-first alternation of literal words (spaces match any whitespace)."""
    unique = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
    branches = [(w, re.escape(w).replace(r"\ ", r"\s+")) for w in unique]
    body = grouped_alternation(branches, ignore_case=ignore_case) if branches else r"(?!x)x"
    return f"(?i:{body})" if ignore_case else f"(?:{body})"


def _count_after(not_after: str, thousands: str, spaced: str = "") -> str:
    r"""``(?<![not_after])(?:\d{1,3}(?:[thousands]\d{3})+|\d+)``, written to start with its digit.

    The same matches, tried in the same order; but a pattern that starts with a lookbehind
    gives ``re`` no first character to scan for, and this one lets it skip to the next digit.
    ``spaced``: space characters that also group thousands ("18 345 participants"), except
    after a list or range ("weeks 4 and 12 120 patients" is 120 patients).
    """
    grouped = rf"\d{{0,2}}(?:[{thousands}]\d{{3}})+"
    if spaced:
        after_list = "".join(rf"(?<!\d{re.escape(joint)}\d)" for joint in _LIST_JOINTS)
        grouped += rf"|{after_list}\d{{0,2}}(?:[{spaced}]\d{{3}})+"
    return rf"\d(?<![{not_after}]\d)(?:{grouped}|\d*)"


def _bounded(pattern: str) -> str:
    """No Latin letter or digit glued on either side (CJK neighbours are fine)."""
    return rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z])"


def _to_float(text: str) -> float:
    cleaned = text.replace("–", "-").replace(" ", "").replace(",", ".")
    return float(cleaned)


class _Normalised:
    """Working string plus the map from its characters back to the original."""

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str, starts: list[int] | None, ends: list[int] | None) -> None:
        self.text = text
        self.starts = starts
        self.ends = ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[max(start, end - 1)]


def normalise(text: str) -> _Normalised:
    """Fold full-width forms and unpack maths markup, keeping an offset map."""
    if "$" not in text and "\\" not in text:
        return _Normalised(_fold(text), None, None)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(chars: str, start: int, end: int) -> None:
        # Every character of ``chars`` maps back to the whole token start..end.
        out.append(chars)
        starts.extend([start] * len(chars))
        ends.extend([end] * len(chars))

    in_math = False
    pos, size = 0, len(text)
    while pos < size:
        match = (_MATH_TOKEN if in_math else _TEXT_TOKEN).match(text, pos)
        assert match is not None  # "." takes any character
        start, end = match.span()
        pos = end
        if match.lastgroup == "plain":
            run = match.group(0)
            if not in_math:  # each character maps back to itself alone
                out.append(run)
                starts.extend(range(start, end))
                ends.extend(range(start + 1, end + 1))
                continue
            kept = [i for i, char in enumerate(run, start) if not (char.isspace() or char in "{}^_")]
            out.append("".join(text[i] for i in kept).replace("~", " "))
            starts.extend(kept)
            ends.extend(i + 1 for i in kept)
            continue
        token = match.group(0)
        if token in ("$", "\\$"):
            in_math = not in_math
            continue
        if not in_math:
            if token.startswith("\\") and len(token) == 2 and token[1] in "%~$_&#*[]{}":
                emit(token[1], start, end)
            else:
                emit(token, start, end)
            continue
        command = match.group(1)
        if command is not None:
            if command in _LATEX_SYMBOLS:
                emit(_LATEX_SYMBOLS[command], start, end)
            elif command in (" ", ",", ":", ";", "!"):
                emit(" ", start, end)
            continue  # \mathrm, \scriptstyle, \bar ... carry no text of their own
        emit(token, start, end)  # a "\\" that starts no command
    return _Normalised(_fold("".join(out)), starts, ends)


def may_hold_statistics(text: str, start: int = 0, end: int | None = None) -> bool:
    """False when ``find`` finds nothing in ``text[start:end]`` whatever the language: it has no digit.

    Every statistic's value is read from digits (each value group needs a \\d), so a text
    without one has none; most texts asked are such, e.g. headings.  Normalising neither adds
    digits nor drops them, so the raw text tells.
    """
    return _ANY_DIGIT.search(text, start, len(text) if end is None else end) is not None


def _fold(text: str) -> str:
    """``text.translate(_FOLD_TABLE)``, skipped when there is nothing to fold."""
    if text.isascii() or _FOLDED_RE.search(text) is None:
        return text
    return text.translate(_FOLD_TABLE)


class StatisticsExtractor:
    """Find statistics in abstract text; rules are the parsed ``statistics.yaml``."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.rules = rules or {}
        r = self.rules
        sep = _alternation(r.get("range_separators", ["to", "-", "–", "~", ","]), ignore_case=True)
        ci_labels = _alternation(r.get("ci_labels", ["CI"]), ignore_case=False)
        ci_label = rf"(?:{ci_labels}|(?i:{_CI_WORDS}))"
        self._sep = sep
        op_words = r.get("worded_ops", {"=": "=", "<": "<", ">": ">"})
        self._op_map = {re.sub(r"\s+", " ", k.lower()): v for k, v in op_words.items()}
        ops = _alternation(op_words, ignore_case=True)
        self._ops = ops
        # Patterns that open with "(?<![A-Za-z0-9])" + a word are WordStartPatterns: see there.
        p_labels = r.get("p_labels", ["p", "P"])
        p_label = _alternation(p_labels)
        p_value = rf"(?P<pv>0,\d+|\d*\.\d{{3}}(?:\s\d{{1,3}})+(?![\d.])|{_UNSIGNED})(?:\s*[×x*]\s*10\s*\^?\s*(?P<pexp>[-–]?\s*\d+))?"
        self._p_re = WordStartPattern(
            rf"{p_label}(?![A-Za-z])"
            rf"(?:\s+for\s+(?:trend|interaction|heterogeneity|difference))?"
            rf"\s*(?P<pop>{ops})\s*{p_value}(?![\d])",
            first_characters(p_labels, ignore_case=False),
            _LETTER_OR_DIGIT,
        )
        value_unit = _alternation(r.get("value_units", []))
        self._ci_re = re.compile(
            rf"(?:\s*(?:{value_unit})(?![A-Za-z]))?"
            rf"\s*%?\s*[,;:]?\s*[\(\[]?\s*"
            rf"(?:(?P<level>\d{{2}}(?:\.\d+)?)\s*%\s*)?"
            rf"{ci_label}(?:\s*[\(\[]\s*(?:CI|Cl)\s*[\)\]])?"
            rf"\s*(?:[:=,]|(?i:was|of|为))?\s*[\(\[]?\s*"
            # (a "%" after the high bound, but no space alone: a span ends on the interval)
            rf"(?P<low>{_NUM})\s*%?\s*(?:{sep})\s*(?P<high>{_NUM})(?:\s*%)?"
            rf"(?:\s*[\)\]](?=\s*[\)\]]))?"
        )
        # Finding the intervals of a text: the label first, then the lead-in before it (see
        # ``_intervals``).  The lead-in (unit, "%", punctuation, bracket, level) only uses these.
        # Only where a label starts is read.  Written as one flat alternation whose branches
        # all start with a case-sensitive literal, so that re scans for their first characters
        # in C; the (?i:...) branch gave it none, and it tried the labels at every position.
        # Under (?i) "c" matches "C" and "c" only, so the same positions match.
        self._ci_label_re = re.compile(
            rf"{ci_labels[3:-1]}|C(?i:{_CI_WORDS[1:]})|c(?i:{_CI_WORDS[1:]})"
            if ci_labels.startswith("(?:") and ci_labels.endswith(")")
            else ci_label
        )
        lead_chars = "".join(sorted(set("".join(r.get("value_units", [])))))
        self._ci_lead_char_re = re.compile(rf"[\s\d.%,;:(\[{re.escape(lead_chars)}]")
        # Joiners of coordinated values ("31.06 and 17.76 vs. 21.07"), used by several passes.
        coordinator = _alternation(r.get("coordinators", ["and", "vs", "versus"]), ignore_case=True)
        # A few words between an estimate and its labelled CI, in the same bracket or clause:
        # "mean difference, -1.4 points on a 10-point scale; 95% CI, -2.1 to -0.7".  No bracket,
        # sentence end, operator or number of its own ("10-point" is a word) in between.
        self._ci_gap_re = re.compile(
            rf"(?:(?![\(\)\[\];=<>%\n。]|(?<![\d.])\d+(?:\.\d+)?(?![\d.-])).){{1,40}}?"
            rf"(?=[;,]\s*(?:\d{{2}}(?:\.\d+)?\s*%\s*)?{ci_label})"
        )
        self._bare_value_ci_re = re.compile(
            rf"(?<![\w.])(?P<value>{_NUM})\s*[\(\[]\s*(?P<low>{_NUM})\s*(?:-|–|to|,)\s*(?P<high>{_NUM})\s*[\)\]]"
        )
        # Between an estimate and the next value of the same measure: words and a coordinator.
        self._estimate_joint_re = re.compile(
            rf"\s*[\)\]]?[^\d()\[\]]{{0,50}}"
            rf"(?<![A-Za-z])(?:{coordinator})\s*"
        )
        self._bare_ci_re = re.compile(
            rf"\s*[\(\[]\s*(?P<low>{_NUM})\s*%?\s*(?:{sep})\s*(?P<high>{_NUM})\s*%?\s*(?=[\)\];,])"
        )
        i2_labels = r.get("i2_labels", ["I2", "I²"])
        i2_label = _alternation(i2_labels)
        # Each I² match starts with a label's first character, written as is (case-sensitive
        # labels): a text holding none of them is not scanned.  () when that cannot be said.
        self._i2_firsts = (
            tuple({label[0] for label in i2_labels}) if first_characters(i2_labels, ignore_case=False) else ()
        )
        self._i2_re = WordStartPattern(
            rf"{i2_label}(?![A-Za-z0-9])\s*(?:=|:|(?i:of|was))?\s*(?P<val>{_UNSIGNED})\s*(?P<pct>%)?",
            first_characters(i2_labels, ignore_case=False),
            _LETTER_OR_DIGIT,
        )
        self._lost_i2_re = WordStartPattern(
            rf"I\s*[=:]\s*(?P<val>{_UNSIGNED})\s*%",
            first_characters(["I"], ignore_case=False),
            _LETTER_OR_DIGIT,
        )
        self._p_threshold_re = re.compile(
            rf"\s*[\)\]]?\s*(?:{_alternation(r.get('p_threshold_after', []), ignore_case=True)})"
        )
        self._het_re = re.compile(
            _alternation(r.get("heterogeneity_context", ["heterogeneity"]), ignore_case=False)
        )
        self._het_window = int(r.get("heterogeneity_window", 80))
        # Estimates: name (+ "(abbr)"), a few words, then the value.
        names: list[str] = []
        abbreviations: list[str] = []
        self._measure_of: dict[str, str] = {}
        for measure, entry in (r.get("estimates") or {}).items():
            for name in entry.get("names", []):
                names.append(name)
                self._measure_of[re.sub(r"\s+", " ", name.lower())] = measure
            for abbr in entry.get("abbreviations", []):
                abbreviations.append(abbr)
                self._measure_of[abbr] = measure
        name_alt = rf"(?:{_alternation(names, ignore_case=True)}|{_alternation(abbreviations)})"
        copulas = [*r.get("copulas", {}).get("en", []), *r.get("copulas", {}).get("zh", [])]
        copula = _alternation(copulas, ignore_case=True)
        self._estimate_re = WordStartPattern(
            rf"(?P<name>{name_alt})(?![A-Za-z])"
            rf"(?:\s*[\(\[]\s*[^\)\]\d]{{1,12}}\s*[\)\]])?"
            rf"(?P<gap>[^\d;\n()\[\]]{{0,60}}?)"
            rf"(?:\s*(?:{copula})\s*)?[=:]?\s*[\(\[]?\s*"
            # a number glued to a word is an affiliation mark or a name ("MD, PhD1"), not a value
            rf"(?<![A-Za-z])(?P<value>{_NUM})(?P<pct>\s*%)?(?!\d|\.\d)"
            rf"(?!\s*%?\s*{ci_label})",
            first_characters([*names, *abbreviations]),
            _LETTER_OR_DIGIT,
        )
        # The value an interval with no name of its own follows.
        self._value_before_re = re.compile(rf"(?<![\w.])(?P<value>{_NUM})\s*$")
        # Test statistics need a symbol and an operator: "t = 2.3", "F(2, 45) = 3.1", "χ2=4.5".
        symbols: list[str] = []
        self._symbol_measure: dict[str, str] = {}
        for measure, words in (r.get("test_statistics") or {}).items():
            for word in words:
                symbols.append(word)
                self._symbol_measure[word.lower()] = measure
        self._test_re = WordStartPattern(
            rf"{_alternation(symbols)}(?![A-Za-z0-9])"
            rf"(?:\s*[\(\[]\s*\d[\d.,\s]*[\)\]])?"
            rf"\s*(?P<op>{ops})\s*(?P<value>{_NUM})(?!\d|\.\d)",
            first_characters(symbols, ignore_case=False),
            _LETTER_OR_DIGIT,
        )
        self._symbol_re = re.compile(_alternation(symbols))
        df_labels = _alternation(r.get("df_labels", []), ignore_case=True)
        self._df_re = re.compile(rf"{df_labels}(?![A-Za-z])\s*[=:]?\s*\d+(?!\d|\.\d)")
        # Counts.
        n_labels = r.get("n_labels", ["n", "N"])
        self._n_re = WordStartPattern(
            rf"{_alternation(n_labels)}\s*=\s*(?P<value>\d{{1,3}}(?:[,{_SPACES_IN_NUMBERS}]\d{{3}})+|\d+)(?!\d|\.\d)",
            first_characters(n_labels, ignore_case=False),
            _LETTER_OR_DIGIT,
        )
        nouns_en = (r.get("counted_nouns") or {}).get("en", {})
        nouns_zh = (r.get("counted_nouns") or {}).get("zh", {})
        self._unit_of: dict[str, str] = {}
        for unit, words in nouns_en.items():
            for word in words:
                self._unit_of[word.lower()] = unit
        self._unit_of_zh: dict[str, str] = {}
        for unit, words in nouns_zh.items():
            for word in words:
                self._unit_of_zh[word] = unit
        stop = _alternation(r.get("modifier_stopwords", []), ignore_case=True)
        max_mods = int(r.get("count_modifier_max_words", 3))
        count_en = _count_after(r"A-Za-z0-9_.,\-", ",", spaced=_SPACES_IN_NUMBERS)
        self._count_en_re = re.compile(
            rf"(?P<value>{count_en})(?![\d.,]\d)"
            # "112 (9.3%) of 1,204 patients": the share may stand between the count and its total
            rf"(?:(?:\s*\([^()]{{0,25}}\))?\s+(?i:of|out\s+of)\s+(?i:the\s+)?(?P<total>\d{{1,3}}(?:,\d{{3}})+|\d+)(?!\d|\.\d))?"
            rf"(?P<tail>(?:\s*\([^()]{{0,25}}\))?"
            rf"(?:\s+(?!{stop}(?![\w-]))[A-Za-z][\w-]*){{0,{max_mods}}}?"
            rf"\s+(?P<noun>{_alternation(self._unit_of, ignore_case=True)})(?![A-Za-z]))?"
        )
        count_zh = _count_after(r"\d.", " ,")
        self._zh_nouns_cjk = bool(self._unit_of_zh) and not any(word.isascii() for word in self._unit_of_zh)
        self._count_zh_re = re.compile(
            rf"(?P<value>{count_zh})(?![\d.])\s*(?P<noun>{_alternation(self._unit_of_zh)})"
        )
        self._zh_classifiers = set(r.get("zh_classifiers", []))
        self._zh_head_nouns = dict(r.get("zh_head_nouns", {}))
        self._zh_head_re = re.compile(rf"({_alternation(self._zh_head_nouns)})\s*$")
        # Between a noun-less "68 of 120 (56.7%)" and the next count that has its noun:
        # "68 of 120 (56.7%) versus 45 of 118 (38.1%) patients" counts patients twice.
        self._count_pair_joint_re = re.compile(
            rf"\s*(?:\([^()]{{0,25}}\))?\s*"
            rf"(?:{coordinator})\s*"
        )
        # A whole number, not a share or a decimal: "... and 31 in the control group".
        self._bare_count_re = re.compile(
            r"(?<![\w.,\-])(?P<value>\d{1,3}(?:,\d{3})+|\d+)(?![\d.,]\d|\s*%|\s*[-–]\s*\d|\w)"
        )
        # Words between a count and the next one it is coordinated with, ending in the joiner.
        self._count_joint_re = re.compile(
            rf"[^\d()\[\];:.。]{{0,60}}?(?<![A-Za-z])"
            rf"(?:{_alternation(r.get('count_coordinators', ['and']), ignore_case=True)})\s+"
        )
        verbs = _alternation(r.get("count_verbs", []), ignore_case=True)
        # "186 (93%) completed the study": the count's share may stand before the verb.
        self._count_verb_re = re.compile(
            rf"(?P<value>{count_en})(?:\s*\([^()]{{0,25}}\))?\s+(?:{verbs})(?![A-Za-z])"
        )
        # What every match of the Chinese count and the verb count pattern holds: a noun of
        # the list, a verb after a space.  A text without one is not scanned number by number
        # (each number tried against the nouns or verbs); one search for them is cheaper.
        self._zh_noun_re = re.compile(_alternation(self._unit_of_zh))
        verb_first = first_characters(r.get("count_verbs", []))
        self._count_verb_need_re = re.compile(
            rf"\s{f'(?={verb_first})' if verb_first else ''}(?:{verbs})(?![A-Za-z])"
        )
        # Percentages.
        # (?<![A-Za-z0-9_.])(?P<value>{_UNSIGNED})\s*%, starting with the number's first character
        # (which re scans for) and checking the one before it after it.
        self._percent_re = re.compile(
            r"(?P<value>[\d.](?<![A-Za-z0-9_.][\d.])(?:(?<=\d)\d*(?:\.\d+)?|(?<=\.)\d+))\s*%"
        )
        pb = r.get("percent_blockers_before", {})
        self._percent_before_re = re.compile(
            rf"(?:{_alternation([*pb.get('en', []), *pb.get('zh', [])], ignore_case=True)})\s*$"
        )
        pa = r.get("percent_blockers_after", {})
        self._percent_after_re = re.compile(
            rf"\s*(?:{_alternation([*pa.get('en', []), *pa.get('zh', [])], ignore_case=True)})"
        )
        self._range_before_re = re.compile(rf"\d\s*(?:{sep})\s*$")
        # Means and medians.
        mean_words = r.get("mean_words", {"mean": ["mean"], "median": ["median"]})
        self._mean_measure: dict[str, str] = {}
        for measure, words in mean_words.items():
            for word in words:
                self._mean_measure[word.lower()] = measure
        mean_alt = _alternation(self._mean_measure, ignore_case=True)
        blockers = _alternation(r.get("mean_blockers", []), ignore_case=True)
        self._mean_re = WordStartPattern(
            rf"(?P<kw>{mean_alt})(?![A-Za-z])"
            rf"(?:\s+(?i:and|or|and\s+the)\s+(?P<kw2>{mean_alt})(?![A-Za-z]))?"
            rf"(?!\s*(?:\([^)]*\)\s*)?{blockers})",
            first_characters(self._mean_measure),
        )
        self._candidate_re = re.compile(r"(?<![A-Za-z0-9.\-])(?P<value>-?\d+(?:\.\d+)?)(?![\d])")
        bb = r.get("blocked_before", {})
        self._blocked_before_re = re.compile(
            rf"(?<![A-Za-z])(?:{_alternation([*bb.get('en', []), *bb.get('zh', [])], ignore_case=True)})"
            rf"\s*[-:.]?\s*$"
        )
        bu = r.get("blocked_units", {})
        self._blocked_unit_re = re.compile(
            rf"\s*(?:{_alternation([*bu.get('en', []), *bu.get('zh', [])])})(?![A-Za-z])"
        )
        self._time_prep_re = re.compile(
            rf"(?<![A-Za-z])(?:{_alternation(r.get('time_prepositions', []), ignore_case=True)})\s+$"
        )
        self._sd_before_re = re.compile(
            rf"(?:±|\+/-|(?<![A-Za-z])(?:{_alternation(r.get('sd_labels', ['SD']), ignore_case=True)}))[\s,:=]*$"
        )
        self._connector_re = re.compile(
            # "-1.1 (0.9)% with insulin and -0.6 (1.0)%": a unit may follow the SD in brackets
            rf"^\s*(?:(?:±|\+/-)\s*{_UNSIGNED})?\s*\)?\s*[A-Za-z\u4e00-\u9fff/°]{{0,10}}\s*(?:\([^()]{{0,30}}\)\s*%?)?"
            rf"(?:\s+[A-Za-z]+){{0,{int(r.get('coordinated_value_max_words', 3))}}}\s*"
            rf"(?:{coordinator})\s*"
            rf"(?:{r.get('coordinated_group_label') or '(?!)'})?\s*\(?\s*$"
        )
        # The estimate, test-statistic and p-value patterns share their lookbehind and are read on
        # every text: one scan finds the places where any of them starts (the same matches as
        # their own finditer; see WordStartPatterns).
        self._word_led = WordStartPatterns([self._estimate_re, self._test_re, self._p_re])
        # A full stop ends a clause unless it closes "vs.", "al.", "e.g." or sits in a number.
        self._sentence_end_re = re.compile(
            r"[。！？!?;；\n]|(?<![vV]s)(?<!\bal)(?<!\be\.g)(?<!\bi\.e)\.(?!\d)"
        )

    # ------------------------------------------------------------------ public

    def find(self, text: str, lang: str) -> list[dict[str, Any]]:
        """All statistics in ``text``, sorted by start then measure."""
        if not may_hold_statistics(text):
            return []
        norm = normalise(text)
        work = norm.text
        state = _State(work)
        estimates, tests, p_values = self._word_led.finditer_each(work)
        self._estimates(state, estimates)
        self._tests(state, tests)
        self._i2(state)
        self._p_values(state, p_values)
        self._counts(state, lang)
        self._means(state)
        self._percents(state)
        results: list[dict[str, Any]] = []
        for stat in state.found:
            start, end = norm.span(stat.pop("_start"), stat.pop("_end"))
            stat["start"], stat["end"], stat["text"] = start, end, text[start:end]
            # Record conventions: a CI level is a fraction (0.95), and an estimate's op is
            # only kept when it says more than "=" (p-values always keep theirs).
            if stat.get("ci_level") is not None and stat["ci_level"] > 1:
                stat["ci_level"] = round(stat["ci_level"] / 100, 6)
            if stat["measure"] != "p" and stat.get("op") == "=":
                stat["op"] = None
            results.append({key: stat.get(key) for key in FIELDS})
        results.sort(key=lambda s: (s["start"], s["measure"], s["end"], s["value"]))
        return results

    # ------------------------------------------------------------------ passes

    def _attach_tail(
        self, state: _State, stat: dict[str, Any], pos: int, *, with_ci: bool, bare_ci: bool
    ) -> int:
        """Read a CI then I² / p-value after ``pos``; fill ``stat``; return the new end."""
        work = state.text
        if with_ci:
            match = self._ci_re.match(work, pos)
            if match is None and bare_ci:
                match = self._bare_ci_re.match(work, pos)
            if match is None and bare_ci and (gap := self._ci_gap_re.match(work, pos)) is not None:
                match = self._ci_re.match(work, gap.end())
            if match is not None:
                if match.groupdict().get("level"):
                    stat["ci_level"] = float(match.group("level"))
                stat["ci_low"] = _to_float(match.group("low"))
                stat["ci_high"] = _to_float(match.group("high"))
                pos = match.end()
        for _ in range(3):
            lead = _TAIL_LEAD.match(work, pos)
            at = lead.end() if lead else pos
            # "χ2 = 1.2, df = 2, P = 0.55": the degrees of freedom stand between a test and its p
            freedom = self._df_re.match(work, at)
            if freedom is not None:
                lead = _TAIL_LEAD.match(work, freedom.end())
                at = lead.end() if lead else freedom.end()
            i2 = self._i2_re.match(work, at) or self._lost_i2_re.match(work, at)
            if i2 is not None:
                state.add("I2", _to_float(i2.group("val")), i2.start(), i2.end(), op="=")
                pos = i2.end()
                continue
            p = self._p_re.match(work, at)
            if p is not None:
                stat["p_op"] = self._op(p.group("pop"))
                stat["p_value"] = self._p_number(p)
                pos = p.end()
            break
        return pos

    def _estimates(self, state: _State, matches: Iterable[re.Match[str]]) -> None:
        """``matches``: those of ``_estimate_re.finditer(state.text)``."""
        work = state.text
        for match in matches:
            if state.claimed(match.start("name"), match.end("value")):
                continue
            if self._sentence_break(work, match.end("name"), match.start("value")):
                continue
            name = match.group("name")
            measure = self._measure_of.get(name) or self._measure_of.get(_SPACES.sub(" ", name.lower()))
            if measure is None:
                continue
            stat: dict[str, Any] = {"measure": measure, "value": _to_float(match.group("value"))}
            end = self._attach_tail(state, stat, match.end(), with_ci=True, bare_ci=True)
            state.add_stat(stat, match.start("name"), end)
        # An interval with no name of its own continues the last estimate of the sentence:
        # "IRR was 0.38 [95% CI ...] for A and 0.07 (95% CI ...) for B".
        for match in self._intervals(work):
            ci_start = match.start()
            if state.claimed(ci_start, match.end()):
                continue
            value = self._value_before_re.search(work[max(0, ci_start - 20) : ci_start])
            if value is None:
                continue
            value_start = ci_start - (len(work[max(0, ci_start - 20) : ci_start]) - value.start("value"))
            previous = state.last_estimate_before(value_start, self._sentence_start(work, value_start))
            if previous is None:
                continue
            stat = {"measure": previous, "value": _to_float(value.group("value"))}
            end = self._attach_tail(state, stat, ci_start, with_ci=True, bare_ci=False)
            state.add_stat(stat, value_start, end)

        # ... and so does a bare interval right after the estimate's clause, nothing but words
        # between: "HRs were 1.21 (1.05-1.39) for current smokers and 1.08 (0.95-1.23) for ...".
        for match in self._bare_value_ci_re.finditer(work) if "(" in work or "[" in work else ():
            value_start = match.start("value")
            if state.claimed(value_start, match.end()):
                continue
            previous = state.last_estimate_span_before(value_start, self._sentence_start(work, value_start))
            if previous is None or not self._estimate_joint_re.fullmatch(work, previous[1], value_start):
                continue
            value, low, high = (_to_float(match.group(name)) for name in ("value", "low", "high"))
            if not low <= value <= high:
                continue
            state.add_stat(
                {"measure": previous[0], "value": value, "ci_low": low, "ci_high": high},
                value_start,
                match.end("high"),
            )

    def _intervals(self, work: str) -> Iterator[re.Match[str]]:
        """The matches of ``_ci_re.finditer(work)``, without trying the pattern everywhere.

        ``_ci_re`` starts with an optional lead-in, so a scan tries it at every position of
        the text: that scan was most of the statistics stage.  Every match holds a CI label,
        and the characters before the label all belong to the lead-in, so the next match
        starts inside the run of lead-in characters that ends at some label.  Trying those
        positions left to right, label by label, yields the same matches in the same order.
        """
        pos = 0  # the next match starts here or later
        label = self._ci_label_re.search(work)
        while label is not None:
            start = label.start()
            while start > pos and self._ci_lead_char_re.match(work, start - 1):
                start -= 1
            match = next(
                (m for p in range(start, label.start() + 1) if (m := self._ci_re.match(work, p))), None
            )
            if match is not None:
                yield match
                pos = match.end()
            label = self._ci_label_re.search(work, max(pos, label.start() + 1))

    def _tests(self, state: _State, matches: Iterable[re.Match[str]]) -> None:
        """``matches``: those of ``_test_re.finditer(state.text)``."""
        work = state.text
        for match in matches:
            if state.claimed(match.start(), match.end()):
                continue
            symbol = self._symbol_re.match(work, match.start())
            if symbol is None:
                continue
            measure = self._symbol_measure.get(symbol.group(0).lower())
            if measure is None:
                continue
            stat: dict[str, Any] = {
                "measure": measure,
                "value": _to_float(match.group("value")),
                "op": self._op(match.group("op")),
            }
            end = self._attach_tail(state, stat, match.end(), with_ci=True, bare_ci=False)
            state.add_stat(stat, match.start(), end)

    def _i2(self, state: _State) -> None:
        work = state.text
        scan = not self._i2_firsts or any(char in work for char in self._i2_firsts)
        for match in self._i2_re.finditer(work) if scan else ():
            if not state.claimed(match.start(), match.end()):
                state.add("I2", _to_float(match.group("val")), match.start(), match.end(), op="=")
        # The skeletons' own literals: a text without "%" holds no lost I² and no percentage,
        # one without "=" no "n = …"; testing for them is cheaper than a scan that finds nothing.
        for match in self._lost_i2_re.finditer(work) if "%" in work else ():
            if state.claimed(match.start(), match.end()):
                continue
            window = work[max(0, match.start() - self._het_window) : match.end() + self._het_window]
            if self._het_re.search(window):
                state.add("I2", _to_float(match.group("val")), match.start(), match.end(), op="=")

    def _p_values(self, state: _State, matches: Iterable[re.Match[str]]) -> None:
        """``matches``: those of ``_p_re.finditer(state.text)``."""
        for match in matches:
            if state.claimed(match.start(), match.end()):
                continue
            if self._p_threshold_re.match(state.text, match.end()):
                continue  # "P < 0.05 was considered significant" states the threshold
            state.add("p", self._p_number(match), match.start(), match.end(), op=self._op(match.group("pop")))

    def _counts(self, state: _State, lang: str) -> None:
        work = state.text
        for match in self._n_re.finditer(work) if "=" in work else ():
            if not state.claimed(match.start("value"), match.end("value")):
                state.add(
                    "n", float(_DIGIT_GROUPING.sub("", match.group("value"))), match.start(), match.end()
                )
        last_unit: str | None = None
        waiting: re.Match[str] | None = None  # a noun-less "x of y" before any noun
        for match in self._count_en_re.finditer(work):
            noun = match.group("noun")
            total = match.group("total")
            if noun is None and total is None:
                continue
            if state.claimed(match.start("value"), match.end("total") if total else match.end("value")):
                continue
            if self._blocked_before(work, match.start()):
                continue
            if noun is None and last_unit is None:
                waiting = match
                continue
            unit = self._unit_of.get(noun.lower()) if noun else last_unit
            if noun is not None:
                last_unit = unit
                if waiting is not None and self._count_pair_joint_re.fullmatch(
                    work, waiting.end("total"), match.start()
                ):
                    self._add_count_pair(state, waiting, unit, waiting.end("total"))
            waiting = None
            self._add_count_pair(state, match, unit, match.end() if noun else match.end("total"))
        verb_counts = self._count_verb_re.finditer(work) if self._count_verb_need_re.search(work) else ()
        for match in verb_counts:
            if state.claimed(match.start("value"), match.end("value")) or self._blocked_before(
                work, match.start()
            ):
                continue
            state.add_stat(
                {
                    "measure": "n",
                    "value": float(_DIGIT_GROUPING.sub("", match.group("value"))),
                    "unit": last_unit,
                },
                match.start("value"),
                match.end("value"),
            )
        self._coordinated_counts(state)
        # A Chinese count ends with a noun of its case-sensitive list, all non-ASCII words.
        zh_counts = (
            self._count_zh_re.finditer(work)
            if not (self._zh_nouns_cjk and work.isascii()) and self._zh_noun_re.search(work)
            else ()
        )
        for match in zh_counts:
            if state.claimed(match.start("value"), match.end("value")):
                continue
            if self._blocked_before(work, match.start()):
                continue
            noun = match.group("noun")
            unit = self._unit_of_zh.get(noun)
            if noun in self._zh_classifiers:
                # "护士312名": a bare classifier takes the head noun written before the number.
                head = self._zh_head_re.search(work[max(0, match.start() - 8) : match.start()])
                if head is not None:
                    unit = self._zh_head_nouns[head.group(1)]
            value = float(_DIGIT_GROUPING.sub("", match.group("value")))
            state.add("n", value, match.start(), match.end(), unit=unit)

    def _coordinated_counts(self, state: _State) -> None:
        """A bare number coordinated with the English count before it counts the same noun:
        "23 deaths in the intervention group and 31 in the control group"."""
        work = state.text
        counts = sorted(
            (stat["_end"], stat.get("unit") or "") for stat in state.found if stat["measure"] == "n"
        )
        if not counts:
            return
        ends = [end for end, _ in counts]
        for match in self._bare_count_re.finditer(work):
            start, end = match.span("value")
            index = bisect.bisect_right(ends, start)
            if index == 0 or state.claimed(start, end) or self._blocked_unit_re.match(work, end):
                continue
            previous_end, unit = counts[index - 1]
            if not unit or not self._count_joint_re.fullmatch(work, previous_end, start):
                continue
            value = float(_DIGIT_GROUPING.sub("", match.group("value")))
            state.add_stat({"measure": "n", "value": value, "unit": unit}, start, end)

    @staticmethod
    def _add_count_pair(state: _State, match: re.Match[str], unit: str | None, end: int) -> None:
        """The count of a ``_count_en_re`` match and its "of" total, if any, ending at ``end``."""
        state.add_stat(
            {"measure": "n", "value": float(_DIGIT_GROUPING.sub("", match.group("value"))), "unit": unit},
            match.start(),
            end,
            claim=match.span("value"),
        )
        total = match.group("total")
        if total:
            state.add_stat(
                {"measure": "n", "value": _to_float(total.replace(",", "")), "unit": unit},
                match.start("total"),
                end,
                claim=match.span("total"),
            )

    def _means(self, state: _State) -> None:
        work = state.text
        for match in self._mean_re.finditer(work):
            if state.claimed(match.start(), match.end()):
                continue
            measures = [self._mean_measure[_SPACES.sub(" ", match.group("kw").lower())]]
            if match.group("kw2"):
                measures.append(self._mean_measure[_SPACES.sub(" ", match.group("kw2").lower())])
            clause_end = self._clause_end(work, match.end())
            taken = 0
            previous_end = -1
            for candidate in self._candidate_re.finditer(work, match.end(), clause_end):
                start, end = candidate.span("value")
                if not self._mean_candidate(state, work, start, end):
                    continue
                between = work[previous_end:start] if taken else ""
                if between.count("(") > between.count(")"):
                    continue  # "(IQR 3–7)" after a value
                if taken and not self._connector_re.search(between) and not self._ci_re.match(work, end):
                    break
                if not taken and start - match.end() > 80:
                    break
                stat: dict[str, Any] = {
                    "measure": measures[taken % len(measures)],
                    "value": _to_float(candidate.group("value")),
                }
                span_end = self._attach_tail_ci_only(state, stat, end)
                state.add_stat(stat, start, span_end)
                taken += 1
                previous_end = span_end
                if taken >= 4:
                    break

    def _percents(self, state: _State) -> None:
        work = state.text
        for match in self._percent_re.finditer(work) if "%" in work else ():
            start, end = match.span("value")
            if state.claimed(start, end):
                continue
            before = work[max(0, start - 25) : start]
            if self._percent_before_re.search(before) or self._range_before_re.search(before):
                continue
            if self._percent_after_re.match(work, match.end()):
                continue
            value = _to_float(match.group("value"))
            if work.startswith("-", start - 1) and (start == 1 or work[start - 2] in _SIGN_FOLLOWS):
                start, value = start - 1, -value  # "mean change, -14.9% vs. -2.4%": a signed result
            stat: dict[str, Any] = {"measure": "percent", "value": value}
            span_end = self._attach_tail_ci_only(state, stat, match.end())
            bare = self._bare_ci_re.match(work, match.end()) if span_end == match.end() else None
            if bare is not None and _to_float(bare.group("low")) <= value <= _to_float(bare.group("high")):
                # "78% (72% to 83%)": an unlabelled interval around the value is its CI
                stat["ci_low"], stat["ci_high"] = _to_float(bare.group("low")), _to_float(bare.group("high"))
                span_end = bare.end("high") + (1 if work.startswith("%", bare.end("high")) else 0)
            state.add_stat(stat, start, span_end)

    # ------------------------------------------------------------------ helpers

    def _attach_tail_ci_only(self, state: _State, stat: dict[str, Any], pos: int) -> int:
        match = self._ci_re.match(state.text, pos)
        if match is None:
            return pos
        if match.group("level"):
            stat["ci_level"] = float(match.group("level"))
        stat["ci_low"] = _to_float(match.group("low"))
        stat["ci_high"] = _to_float(match.group("high"))
        return match.end()

    def _mean_candidate(self, state: _State, work: str, start: int, end: int) -> bool:
        if state.claimed(start, end):
            return False
        if work.startswith("-", start) and start > 0 and (work[start - 1].isalnum()):
            return False  # "STAI-3"
        after = work[end : end + 3]
        if after[:1] == "%" or _ORDINAL_SUFFIX.match(after):
            return False
        before = work[max(0, start - 30) : start]
        if self._sd_before_re.search(before) or self._blocked_before_re.search(before):
            return False
        return not (self._time_prep_re.search(before) and self._blocked_unit_re.match(work, end))

    def _blocked_before(self, work: str, start: int) -> bool:
        return bool(self._blocked_before_re.search(work[max(0, start - 30) : start]))

    def _clause_end(self, work: str, pos: int) -> int:
        match = self._sentence_end_re.search(work, pos)
        return match.start() if match else len(work)

    def _sentence_break(self, work: str, start: int, end: int) -> bool:
        return self._sentence_end_re.search(work, start, end) is not None

    def _sentence_start(self, work: str, pos: int) -> int:
        cut = max(0, pos - 400)
        last = -1
        for match in self._sentence_end_re.finditer(work, cut, pos):
            if match.group(0) != ";":
                last = match.end()
        return last if last >= 0 else cut

    def _op(self, text: str) -> str:
        return self._op_map.get(_SPACES.sub(" ", text.lower()), text)

    @staticmethod
    def _p_number(match: re.Match[str]) -> float:
        value = _to_float(match.group("pv"))
        if match.group("pexp"):
            value *= 10.0 ** int(match.group("pexp").replace("–", "-").replace(" ", ""))
        return value


class _State:
    """Statistics found so far and the characters they claimed."""

    __slots__ = ("_claims", "_estimates", "found", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: list[dict[str, Any]] = []
        self._claims = bytearray(len(text) + 1)
        self._estimates: list[tuple[int, str, int]] = []  # start, measure, end

    def claimed(self, start: int, end: int) -> bool:
        return any(self._claims[start:end])

    def add(self, measure: str, value: float, start: int, end: int, **fields: Any) -> None:
        self.add_stat({"measure": measure, "value": value, **fields}, start, end)

    def add_stat(
        self, stat: dict[str, Any], start: int, end: int, claim: tuple[int, int] | None = None
    ) -> None:
        claim_start, claim_end = claim or (start, end)
        self._claims[claim_start:claim_end] = b"\x01" * (claim_end - claim_start)
        stat["_start"], stat["_end"] = start, end
        self.found.append(stat)
        if stat["measure"] not in ("p", "n", "I2", "percent", "mean", "median"):
            bisect.insort(self._estimates, (start, stat["measure"], end))

    def last_estimate_before(self, pos: int, floor: int) -> str | None:
        found = self.last_estimate_span_before(pos, floor)
        return found[0] if found else None

    def last_estimate_span_before(self, pos: int, floor: int) -> tuple[str, int] | None:
        """The measure and end of the last estimate starting in ``floor..pos``."""
        index = bisect.bisect_left(self._estimates, (pos, ""))
        if index == 0:
            return None
        start, measure, end = self._estimates[index - 1]
        return (measure, end) if start >= floor else None
