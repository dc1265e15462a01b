"""Sentence-level section labeller for abstracts written without headers.

Given the sentences of one abstract, ``SectionLabeller.label`` returns one
canonical section key per sentence (background | objective | methods | results
| conclusions) with a confidence.  The model is a linear-chain CRF over
sparse features: the sentence's own words and bigrams, a few cue features,
its relative position, the (down-weighted) words of its neighbours, and where
it lies relative to anchor sentences of the abstract (the sentences reporting
statistics, the first statement of the aim, the first explicit conclusion, the
first mention of randomisation).
Decoding is Viterbi over the learned transition scores; the confidence is the
posterior marginal of the chosen label (forward-backward).

The model is a gzipped JSON file of feature weights trained by
``scripts/train_labeller.py``; at runtime numpy only sums the weights of a
sentence's features (in the same order as a Python loop, so the same floats).
Two models ship: one trained on clinical trial abstracts and a general one trained
on those and on computer-science abstracts; ``default_labeller`` gives each
abstract to the model a small naive Bayes router (``DomainRouter``) picks.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import importlib.resources
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("background", "objective", "methods", "results", "conclusions")
# The shipped models: one trained on clinical trial abstracts, one on those and on
# computer-science abstracts, and the router that picks one for an abstract (``default_labeller``).
DEFAULT_MODEL = "data/labeller/rct.json.gz"
GENERAL_MODEL = "data/labeller/general.json.gz"
ROUTER_MODEL = "data/labeller/router.json.gz"
MODEL_FORMAT = 1
ROUTER_FORMAT = 1


class _Cue:
    """A case-insensitive cue pattern; on an ASCII text, searched case-sensitively in the text
    lower-cased, which finds matches at the same places.

    Under (?i) re has no first character to scan for and tries the pattern at every position;
    the lower-case pattern lets it skip.  On ASCII text the two agree as long as the source holds
    no upper-case letter outside its escapes: under (?i) a lower-case ASCII letter matches
    itself and its upper case among ASCII characters (its other matches, "ı", "ſ", the Kelvin
    sign, are not ASCII), lower() changes nothing else in ASCII text, and \\b, \\s, \\d, \\w, ^
    read lower-cased ASCII as they read it unchanged.  A non-ASCII text is searched under (?i).
    """

    __slots__ = ("any_case", "lower_case", "needs")

    def __init__(self, source: str, needs: tuple[str, ...] = ()) -> None:
        # ``needs``: lower-case strings one of which every match holds (tests/test_labeller.py
        # checks it); a lower-cased ASCII text without any is not searched.
        if re.search(r"[A-Z]", re.sub(r"\\.", "", source)):  # escapes aside (\b, \W)
            raise ValueError(f"a cue pattern is written in lower case: {source!r}")
        self.any_case = re.compile(source, re.IGNORECASE)
        self.lower_case = re.compile(source)
        self.needs = needs

    def found(self, text: str, lowered: str | None) -> bool:
        """Whether the pattern matches ``text`` ignoring case; ``lowered`` is ``_ascii_lower(text)``."""
        if lowered is not None:
            if self.needs and not any(need in lowered for need in self.needs):
                return False
            return self.lower_case.search(lowered) is not None
        return self.any_case.search(text) is not None

    def count(self, text: str, lowered: str | None) -> int:
        """How many matches ``any_case.findall(text)`` finds; ``lowered`` as for ``found``."""
        if lowered is not None:
            if self.needs and not any(need in lowered for need in self.needs):
                return 0
            return len(self.lower_case.findall(lowered))
        return len(self.any_case.findall(text))


def _ascii_lower(text: str) -> str | None:
    """``text`` lower-cased when it is ASCII (where _Cue can search it case-sensitively), else None."""
    return text.lower() if text.isascii() else None


# Weights of the neighbouring sentences' words: context helps, but a sentence's
# own words must dominate.
NEAR_CONTEXT_WEIGHT = 0.5
FAR_CONTEXT_WEIGHT = 0.25
POSITION_BINS = 10

_TOKEN = re.compile(r"\d+(?:[.,·]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?|[%=<>≤≥±;:()\[\]/]")
_NUMBER = re.compile(r"\d")
_P_VALUE = _Cue(r"\bp\s*[<>=≤≥]", needs=("<", ">", "=", "≤", "≥"))
_CONFIDENCE_INTERVAL = _Cue(r"\b(?:9[05]\s*%\s*(?:ci|confidence)|ci\b)", needs=("ci", "confidence"))
_PERCENT = re.compile(r"\d\s*%")
_EFFECT = re.compile(r"\b(?:OR|RR|HR|aOR|aHR|IRR|MD|SMD|WMD)\b\s*[=:,]?\s*-?\d")
_WE = re.compile(r"^\s*(?:we|our)\b", re.IGNORECASE)
# A sentence reporting statistics: results come before the last of these, conclusions after.
_STATISTIC = _Cue(r"\bp\s*[<>=≤≥]|\b(?:ci|or|hr|rr)\b|%|±")
# Cue words of stated aims and of conclusions, and the tense of the sentence's verbs.
_OBJECTIVE_CUE = _Cue(
    r"\b(?:we\s+(?:aimed|aim|sought|hypothesi[sz]ed|investigated whether|examined whether)"
    r"|(?:aim|aims|objective|purpose|goal)s?\s+(?:of|was|were|is)"
    r"|this\s+(?:study|trial|paper)\s+(?:aim|examin|investigat|evaluat|assess|compar|test)"
    r"|to\s+(?:assess|evaluate|determine|investigate|compare|examine|test|explore)\b)"
)
_CONCLUSION_CUE = _Cue(
    r"\b(?:in conclusion|these (?:findings|results|data)|our (?:findings|results|data)|suggests?|support"
    r"|should|may|might|could|warrant|further (?:research|studies|trials)|implications?)\b"
)
_PRESENT_TENSE = _Cue(r"\b(?:is|are|has|have|remains?|can|may|should)\b")
_PAST_TENSE = _Cue(r"\b(?:was|were|had|did)\b")
# Anchor sentences: the first statement of the study's aim and the first explicit conclusion.
# Whether a sentence lies before, at or after them places it in the abstract's structure
# the way the statistics counts do for results.
_AIM_ANCHOR = _Cue(
    r"\b(?:(?:aim|aims|objective|objectives|purpose|goal)\s+(?:of\s+(?:this|the|our|the\s+present)"
    r"\s+(?:study|trial|analysis|work)|was|were|is)|we\s+(?:aimed|sought)|(?:study|trial)\s+aimed"
    r"|^to\s+(?:assess|evaluate|determine|investigate|compare|examine|test|explore)\b)"
)
_CONCLUSION_ANCHOR = _Cue(
    r"^(?:in\s+conclusion|in\s+summary|to\s+conclude|overall|taken\s+together)\b"
    r"|\b(?:these|our|the)\s+(?:findings|results|data)\s+(?:suggest|indicate|show|demonstrate|support)"
    r"|\bwe\s+conclude",
    needs=("conclu", "summary", "overall", "together", "findings", "results", "data"),
)
# The first sentence saying that participants were randomised: usually methods, rarely results.
_RANDOMISATION_ANCHOR = _Cue(
    r"\b(?:were|was)\s+(?:randomi[sz]ed|randomly\s+(?:assigned|allocated))"
    r"|\brandomi[sz]ed\s+(?:to|into)\b|\bwe\s+randomi[sz]ed",
    needs=("random",),
)


def tokenize(sentence: str) -> list[str]:
    """Lower-cased word tokens; every number becomes ``<num>``."""
    return ["<num>" if _NUMBER.match(token) else token for token in _TOKEN.findall(sentence.lower())]


def _bucket(value: int, bounds: Sequence[int]) -> int:
    for index, bound in enumerate(bounds):
        if value < bound:
            return index
    return len(bounds)


def _own_features(sentence: str, tokens: list[str], words: bool, lowered: str | None) -> dict[str, float]:
    features: dict[str, float] = {}
    if words:
        for token in tokens:
            features["w=" + token] = 1.0
        padded = ["<s>", *tokens, "</s>"]
        for left, right in itertools.pairwise(padded):
            features[f"b={left}_{right}"] = 1.0
    first_two = "_".join(tokens[:2]) if tokens else "<empty>"
    features["first2=" + first_two] = 1.0
    words = [token for token in tokens if token.isalpha()]
    features[f"len={_bucket(len(words), (6, 12, 20, 30, 45))}"] = 1.0
    numbers = tokens.count("<num>")
    features[f"nums={_bucket(numbers, (1, 2, 4, 8))}"] = 1.0
    if _P_VALUE.found(sentence, lowered):
        features["cue=p_value"] = 1.0
    if _CONFIDENCE_INTERVAL.found(sentence, lowered):
        features["cue=ci"] = 1.0
    if _PERCENT.search(sentence):
        features["cue=percent"] = 1.0
    if _EFFECT.search(sentence):
        features["cue=effect"] = 1.0
    if _WE.match(sentence):
        features["cue=we"] = 1.0
    if _CONCLUSION_CUE.found(sentence, lowered):
        features["cue=conclusion"] = 1.0
    present = _PRESENT_TENSE.count(sentence, lowered)
    past = _PAST_TENSE.count(sentence, lowered)
    features["tense=" + ("present" if present > past else "past" if past > present else "none")] = 1.0
    return features


def _context_words(tokens: list[str], prefix: str, weight: float, into: dict[str, float]) -> None:
    for token in tokens:
        into[prefix + token] = weight


def abstract_features(sentences: Sequence[str]) -> list[dict[str, float]]:
    """Sparse features of every sentence of one abstract (shared by training and runtime)."""
    return _abstract_features(sentences, [tokenize(sentence) for sentence in sentences], words=True)


def _abstract_features(
    sentences: Sequence[str], tokens: list[list[str]], words: bool
) -> list[dict[str, float]]:
    """``abstract_features``; without ``words``, none of the features named after a token (``w=``,
    ``b=``, ``p:``, ``n:``, ``pp:``, ``nn:`` + token), which the runtime looks up by token."""
    count = len(sentences)
    lowered = [_ascii_lower(sentence) for sentence in sentences]  # for the _Cue searches
    reports_statistics = [
        _STATISTIC.found(sentence, low) for sentence, low in zip(sentences, lowered, strict=True)
    ]
    statistics_at = [index for index, reports in enumerate(reports_statistics) if reports]
    aim_at = [k for k, sentence in enumerate(sentences) if _AIM_ANCHOR.found(sentence, lowered[k])]
    conclusion_at = [
        k for k, sentence in enumerate(sentences) if _CONCLUSION_ANCHOR.found(sentence, lowered[k])
    ]
    randomisation_at = [
        k for k, sentence in enumerate(sentences) if _RANDOMISATION_ANCHOR.found(sentence, lowered[k])
    ]
    # Prefix sums and bisection keep the "before/after" counts linear in the abstract's length.
    stats_before = list(itertools.accumulate(reports_statistics, initial=0))
    anchors = [(aim_at, set(aim_at), "aim"), (conclusion_at, set(conclusion_at), "concl")]
    anchors.append((randomisation_at, set(randomisation_at), "rand"))
    result: list[dict[str, float]] = []
    for index, sentence in enumerate(sentences):
        features = _own_features(sentence, tokens[index], words, lowered[index])
        features["bias"] = 1.0
        relative = int(POSITION_BINS * index / count)
        features[f"pos={relative}"] = 1.0
        features[f"idx={min(index, 3)}"] = 1.0
        features[f"ridx={min(count - 1 - index, 3)}"] = 1.0
        features[f"pos={relative}|len={_bucket(count, (6, 10, 15))}"] = 1.0
        if index == 0:
            features["p:<none>"] = 1.0
        elif words:
            _context_words(tokens[index - 1], "p:", NEAR_CONTEXT_WEIGHT, features)
        if index + 1 == count:
            features["n:<none>"] = 1.0
        elif words:
            _context_words(tokens[index + 1], "n:", NEAR_CONTEXT_WEIGHT, features)
        if index > 1 and words:
            _context_words(tokens[index - 2], "pp:", FAR_CONTEXT_WEIGHT, features)
        if index + 2 < count and words:
            _context_words(tokens[index + 2], "nn:", FAR_CONTEXT_WEIGHT, features)
        # How many statistics-bearing sentences lie before and after: the global cue that
        # separates results from the conclusions that follow them.
        later = _bucket(stats_before[count] - stats_before[index + 1], (1, 2, 3))
        earlier = _bucket(stats_before[index], (1, 2, 3))
        features[f"later_stats={later}"] = 1.0
        features[f"earlier_stats={earlier}"] = 1.0
        features[f"stats_here={int(reports_statistics[index])}|later={min(later, 2)}"] = 1.0
        _statistics_distance_features(index, count, statistics_at, features)
        if _OBJECTIVE_CUE.found(sentence, lowered[index]):
            features["cue=objective"] = 1.0
            features[f"cue=objective|idx={min(index, 3)}"] = 1.0
        for positions, members, prefix in anchors:
            _anchor_features(index, positions, members, prefix, features)
        result.append(features)
    return result


def _statistics_distance_features(
    index: int, count: int, statistics_at: list[int], into: dict[str, float]
) -> None:
    """Distance to the nearest statistics sentences, and near-edge positions crossed with their counts."""
    before = bisect.bisect_left(statistics_at, index)  # how many lie before (sorted positions)
    after = bisect.bisect_right(statistics_at, index)  # the first one after
    since = str(_bucket(index - statistics_at[before - 1], (2, 3, 5))) if before else "none"
    until = str(_bucket(statistics_at[after] - index, (2, 3, 5))) if after < len(statistics_at) else "none"
    into[f"since_stat={since}"] = 1.0
    into[f"until_stat={until}"] = 1.0
    into[f"ridx5={min(count - 1 - index, 6)}|later={min(len(statistics_at) - after, 2)}"] = 1.0
    into[f"idx5={min(index, 6)}|earlier={min(before, 2)}"] = 1.0


def _anchor_features(
    index: int, anchors: list[int], members: set[int], prefix: str, into: dict[str, float]
) -> None:
    """Where the sentence lies relative to the first anchor sentence (before, at, after, or none)."""
    if not anchors:
        into[prefix + "=none"] = 1.0
        return
    first = anchors[0]
    relation = "at" if index in members else "before" if index < first else "after"
    into[f"{prefix}={relation}"] = 1.0
    into[f"{prefix}={relation}|d={min(abs(index - first), 3)}"] = 1.0


def _logsumexp(values: Sequence[float]) -> float:
    peak = max(values)
    return peak + math.log(sum(math.exp(value - peak) for value in values))


# The values abstract_features gives a feature: a feature of value _VALUES[k] in row r of the
# weights is term r * len(_VALUES) + k of _Model.terms (its weights times the value).
_VALUES = (1.0, NEAR_CONTEXT_WEIGHT, FAR_CONTEXT_WEIGHT)
_KIND = {value: kind for kind, value in enumerate(_VALUES)}
# Prefixes of the features named after one token, with the kind of their value.
_WORD_PREFIXES = (("w=", 0), ("p:", 1), ("n:", 1), ("pp:", 2), ("nn:", 2))


@dataclass(frozen=True, eq=False)
class _Model:
    labels: tuple[str, ...]
    # Feature name -> its row in ``weights``; rows are in sorted name order, so sorting the
    # rows of a sentence's features sorts the names.
    rank: dict[str, int]
    weights: np.ndarray  # (features, labels) float64
    # Row r * len(_VALUES) + k: weights[r] * _VALUES[k], the product the sum adds (so the same
    # floats), in name order too.
    terms: np.ndarray
    # For each of _WORD_PREFIXES, token -> term of prefix + token; and (left, right) -> term of
    # the bigram "b=left_right": the runtime finds a sentence's token features without building
    # and hashing their names (tokens hold no "_", so a bigram name splits one way only).
    word_terms: tuple[dict[str, int], ...]
    bigram_terms: dict[tuple[str, str], int]
    transitions: tuple[tuple[float, ...], ...]  # [previous][next]
    start: tuple[float, ...]
    end: tuple[float, ...]


class SectionLabeller:
    """Labels the sentences of one header-less abstract with canonical section keys."""

    def __init__(self, model: _Model) -> None:
        self._model = model

    @classmethod
    def load(cls, path: Path | None = None) -> SectionLabeller:
        """The model at ``path``, or the shipped model (loaded once per process)."""
        if path is None:
            return _default_labeller()
        return cls(_read_model(Path(path).read_bytes()))

    @property
    def labels(self) -> tuple[str, ...]:
        return self._model.labels

    def emission_scores(self, sentences: Sequence[str]) -> list[list[float]]:
        """Per-sentence label scores before sequence decoding.

        For each sentence, the sum, in name order, of weight times value over its features of
        ``abstract_features`` that the model knows.  Most features are named after a token (its
        own words, bigrams, its neighbours' words): those are looked up by token, each distinct
        token of a sentence once, without building their names; the rest by name.
        """
        if not sentences:
            return []
        model = self._model
        tokens = [tokenize(sentence) for sentence in sentences]
        distinct = [set(row) for row in tokens]
        # by_prefix[p][i]: the terms of _WORD_PREFIXES[p] + each token of sentence i in the model
        by_prefix = [
            [[term for token in row if (term := get(token)) is not None] for row in distinct]
            for get in (table.get for table in model.word_terms)
        ]
        own, previous, following, before_previous, after_following = by_prefix
        bigram = model.bigram_terms.get
        rank = model.rank
        width = len(_VALUES)
        count = len(sentences)
        terms: list[list[int]] = []
        for index, other in enumerate(_abstract_features(sentences, tokens, words=False)):
            row = [rank[name] * width + _KIND[value] for name, value in other.items() if name in rank]
            row += own[index]
            row += {
                term
                for pair in itertools.pairwise(["<s>", *tokens[index], "</s>"])
                if (term := bigram(pair)) is not None
            }
            if index > 0:
                row += previous[index - 1]
            if index + 1 < count:
                row += following[index + 1]
            if index > 1:
                row += before_previous[index - 2]
            if index + 2 < count:
                row += after_following[index + 2]
            row.sort()  # name order: distinct names, so distinct terms
            terms.append(row)
        return _sums(model, terms)

    def label(self, sentences: list[str]) -> list[tuple[str, float]]:
        """One (label, confidence) per sentence, in order; confidence is the label's marginal probability."""
        if not sentences:
            return []
        emissions = self.emission_scores(sentences)
        path = self._viterbi(emissions)
        marginals = self._marginals(emissions)
        labels = self._model.labels
        return [(labels[k], round(marginals[t][k], 4)) for t, k in enumerate(path)]

    def _viterbi(self, emissions: list[list[float]]) -> list[int]:
        model = self._model
        width = len(model.labels)
        score = [model.start[k] + emissions[0][k] for k in range(width)]
        backpointers: list[list[int]] = []
        for row in emissions[1:]:
            pointers: list[int] = []
            nxt: list[float] = []
            for k in range(width):
                best = max(range(width), key=lambda j, k=k: score[j] + model.transitions[j][k])
                pointers.append(best)
                nxt.append(score[best] + model.transitions[best][k] + row[k])
            backpointers.append(pointers)
            score = nxt
        last = max(range(width), key=lambda k: score[k] + model.end[k])
        path = [last]
        for pointers in reversed(backpointers):
            path.append(pointers[path[-1]])
        path.reverse()
        return path

    def _marginals(self, emissions: list[list[float]]) -> list[list[float]]:
        model = self._model
        width = len(model.labels)
        length = len(emissions)
        alpha = [[model.start[k] + emissions[0][k] for k in range(width)]]
        for t in range(1, length):
            previous = alpha[-1]
            alpha.append(
                [
                    _logsumexp([previous[j] + model.transitions[j][k] for j in range(width)])
                    + emissions[t][k]
                    for k in range(width)
                ]
            )
        beta = [list(model.end)]
        for t in range(length - 1, 0, -1):
            following = beta[-1]
            beta.append(
                [
                    _logsumexp(
                        [model.transitions[j][k] + emissions[t][k] + following[k] for k in range(width)]
                    )
                    for j in range(width)
                ]
            )
        beta.reverse()
        log_partition = _logsumexp([alpha[-1][k] + model.end[k] for k in range(width)])
        return [
            [math.exp(alpha[t][k] + beta[t][k] - log_partition) for k in range(width)] for t in range(length)
        ]


def _read_model(raw: bytes) -> _Model:
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data = json.loads(raw)
    if data.get("format") != MODEL_FORMAT:
        raise ValueError(f"unsupported labeller model format: {data.get('format')!r}")
    scale = float(data["scale"])
    labels = tuple(data["labels"])
    names = data["features"]
    if len(names) != len(data["weights"]):
        raise ValueError("labeller model: features and weights differ in length")
    position = {name: index for index, name in enumerate(names)}  # a repeated name: the last wins
    ordered = sorted(position)
    stored = np.array(data["weights"], dtype=np.float64).reshape(len(names), len(labels))
    weights = stored[[position[name] for name in ordered]] / scale
    width = len(_VALUES)
    word_terms: tuple[dict[str, int], ...] = tuple({} for _ in _WORD_PREFIXES)
    bigram_terms: dict[tuple[str, str], int] = {}
    for row, name in enumerate(ordered):
        if name.startswith("b="):
            pair = name[2:].split("_")
            if len(pair) == 2:  # other names hold a "_" of a token: never asked for
                bigram_terms[pair[0], pair[1]] = row * width
            continue
        for table, (prefix, kind) in zip(word_terms, _WORD_PREFIXES, strict=True):
            if name.startswith(prefix):
                table[name[len(prefix) :]] = row * width + kind
                break
    return _Model(
        labels=labels,
        rank={name: row for row, name in enumerate(ordered)},
        weights=weights,
        terms=np.stack([weights * value for value in _VALUES], axis=1).reshape(-1, len(labels)),
        word_terms=word_terms,
        bigram_terms=bigram_terms,
        transitions=tuple(tuple(row) for row in data["transitions"]),
        start=tuple(data["start"]),
        end=tuple(data["end"]),
    )


def _sums(model: _Model, terms: list[list[int]]) -> list[list[float]]:
    """For each sentence, the sum of ``model.terms[t]`` over its terms ``t``, added in that order."""
    counts = np.array([len(row) for row in terms], np.intp)
    flat = np.fromiter(itertools.chain.from_iterable(terms), np.intp, int(counts.sum()))
    # One line per sentence, after a 0.0 (where a Python loop's sum starts) and padded with
    # 0.0 at the end; cumsum adds term after term (never pairwise), so each line's last sum
    # is the float that loop gives.
    lines = np.zeros((len(terms), int(counts.max()) + 1, len(model.labels)))
    sentence = np.repeat(np.arange(len(terms)), counts)
    lines[sentence, np.arange(len(flat)) - (np.cumsum(counts) - counts)[sentence] + 1] = model.terms[flat]
    scores: list[list[float]] = np.cumsum(lines, axis=1)[:, -1].tolist()
    return scores


def _packaged(name: str) -> bytes:
    return importlib.resources.files("abstractpipe").joinpath(name).read_bytes()


@functools.cache
def _default_labeller() -> SectionLabeller:
    return SectionLabeller(_read_model(_packaged(DEFAULT_MODEL)))


class DomainRouter:
    """Whether an abstract reads as clinical research or as something else.

    Naive Bayes over the abstract's distinct words: each word of the router's vocabulary
    adds log P(word | clinical) - log P(word | other), estimated from how many training
    abstracts of each kind hold it; with the prior's log ratio, a positive total is clinical.
    The clinical model is the better one on clinical abstracts (weighted F1 .940 against
    .926 on ei-rct) and the general one everywhere else (.65 against .31 on CSAbstruct).
    """

    def __init__(self, log_ratios: dict[str, float], prior: float) -> None:
        self.log_ratios = log_ratios
        self.prior = prior

    @classmethod
    def from_bytes(cls, raw: bytes) -> DomainRouter:
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        if data.get("format") != ROUTER_FORMAT:
            raise ValueError(f"unsupported labeller router format: {data.get('format')!r}")
        return cls({str(word): float(ratio) for word, ratio in data["words"].items()}, float(data["prior"]))

    def score(self, sentences: Sequence[str]) -> float:
        """The log odds of clinical; ``math.fsum`` so no word order changes the float."""
        words = {token for sentence in sentences for token in tokenize(sentence)}
        ratio = self.log_ratios.get
        return math.fsum([self.prior, *(value for word in words if (value := ratio(word)) is not None)])

    def is_clinical(self, sentences: Sequence[str]) -> bool:
        return self.score(sentences) > 0.0


class RoutedLabeller:
    """Labels an abstract with the model its router picks (the labeller the pipeline uses).

    ``general`` is called the first time an abstract needs the general model: a run that
    meets only clinical abstracts never loads it (0.9 MB of weights).
    """

    def __init__(
        self, clinical: SectionLabeller, general: Callable[[], SectionLabeller], router: DomainRouter
    ) -> None:
        self.clinical = clinical
        self._load_general = general
        self.router = router

    @functools.cached_property
    def general(self) -> SectionLabeller:
        return self._load_general()

    def model_for(self, sentences: Sequence[str]) -> SectionLabeller:
        return self.clinical if self.router.is_clinical(sentences) else self.general

    def label(self, sentences: list[str]) -> list[tuple[str, float]]:
        if not sentences:
            return []
        return self.model_for(sentences).label(sentences)


@functools.cache
def default_labeller() -> RoutedLabeller:
    """The shipped models and router, loaded once per process."""
    return RoutedLabeller(
        _default_labeller(),
        lambda: SectionLabeller(_read_model(_packaged(GENERAL_MODEL))),
        DomainRouter.from_bytes(_packaged(ROUTER_MODEL)),
    )


def read_labelled_abstracts(path: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """(id, labels, sentences) of each abstract in a PubMed-RCT-format file (``###ID``, ``LABEL\\tsentence``)."""
    identifier = ""
    labels: list[str] = []
    sentences: list[str] = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("###"):
                if sentences:
                    yield identifier, labels, sentences
                identifier, labels, sentences = line[3:].strip(), [], []
            elif "\t" in line:
                label, sentence = line.split("\t", 1)
                labels.append(label.strip())
                sentences.append(sentence.strip())
    if sentences:
        yield identifier, labels, sentences


def score_labels(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """Per-label F1 plus ``macro`` and support-``weighted`` F1 and ``accuracy`` over ``labels``."""
    scores: dict[str, float] = {}
    weighted = 0.0
    support_total = 0
    for label in labels:
        true_positive = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        predicted_count = sum(1 for p in predicted if p == label)
        support = sum(1 for g in gold if g == label)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = f1
        weighted += f1 * support
        support_total += support
    scores["macro"] = sum(scores[label] for label in labels) / len(labels) if labels else 0.0
    scores["weighted"] = weighted / support_total if support_total else 0.0
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    scores["accuracy"] = correct / len(gold) if gold else 0.0
    return scores
