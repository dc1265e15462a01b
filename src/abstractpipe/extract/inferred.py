"""Sections of header-less abstracts, labelled sentence by sentence.

The sections stage marks the body of an abstract that has no section headers
as key ``other``.  English sentences there are labelled by the shipped
section labeller (``abstractpipe.labeller``); a Chinese sentence takes the
label of the English sentence it is aligned with, so the two languages agree.
A Chinese abstract with no English counterpart is labelled by cue words and
position (``CueLabeller``, cues in ``configs/extract.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from abstractpipe.document import CANONICAL_SECTIONS, Document

Labeller = Callable[[list[str]], list[tuple[str, float]]]
JOINERS = {"en": " ", "zh": ""}


class CueLabeller:
    """Labels sentences by cue patterns and relative position, in canonical order.

    Each sentence scores every section: the weights of the cues it matches plus a
    position prior that peaks where that section usually sits.  Decoding keeps
    the labels in background -> conclusions order (a monotone path), which is
    how abstracts are written.
    """

    def __init__(self, rules: Mapping[str, Any]) -> None:
        self.cues = {
            key: [(re.compile(str(item["pattern"])), float(item.get("weight", 1.0))) for item in items]
            for key, items in (rules.get("cues") or {}).items()
            if key in CANONICAL_SECTIONS
        }
        self.centres = {key: float(v) for key, v in (rules.get("position_centres") or {}).items()}
        self.position_weight = float(rules.get("position_weight", 1.0))

    def scores(self, sentences: list[str]) -> list[list[float]]:
        last = max(len(sentences) - 1, 1)
        table = []
        for index, sentence in enumerate(sentences):
            where = index / last
            row = []
            for key in CANONICAL_SECTIONS:
                cue = sum(weight for pattern, weight in self.cues.get(key, []) if pattern.search(sentence))
                prior = -self.position_weight * abs(where - self.centres.get(key, 0.5))
                row.append(cue + prior)
            table.append(row)
        return table

    def label(self, sentences: list[str]) -> list[tuple[str, float]]:
        if not sentences:
            return []
        table = self.scores(sentences)
        width = len(CANONICAL_SECTIONS)
        best = [table[0][:]]
        back: list[list[int]] = [[k for k in range(width)]]
        for row in table[1:]:
            previous = best[-1]
            scores, pointers = [], []
            for k in range(width):
                origin = max(range(k + 1), key=lambda j: (previous[j], -j))  # non-decreasing labels
                scores.append(previous[origin] + row[k])
                pointers.append(origin)
            best.append(scores)
            back.append(pointers)
        k = max(range(width), key=lambda j: (best[-1][j], -j))
        path = [k]
        for pointers in reversed(back[1:]):
            k = pointers[k]
            path.append(k)
        path.reverse()
        return [(CANONICAL_SECTIONS[k], 1.0) for k in path]


def infer_sections(
    doc: Document, label: Labeller | None, zh_cues: Labeller | None, min_sentences: int
) -> dict[str, dict[str, str]]:
    """{lang: {key: text}} for header-less abstracts (section key ``other``)."""
    english = [(i, s) for i, s in enumerate(doc.sentences_in("en")) if s.section == "other"]
    en_label: dict[int, str] = {}
    if label is not None and len(english) >= min_sentences:
        labels = label([doc.span(s.start, s.end) for _, s in english])
        en_label = {index: key for (index, _), (key, _) in zip(english, labels, strict=True)}
    chinese = doc.sentences_in("zh")
    zh_label: dict[int, str] = {}
    for link in doc.alignment.sentences:
        keys = [en_label[i] for i in link.en if i in en_label]
        for j in link.zh:
            if keys and chinese[j].section == "other":
                zh_label[j] = keys[0]
    unlabelled = [(j, s) for j, s in enumerate(chinese) if s.section == "other"]
    if not zh_label and zh_cues is not None and len(unlabelled) >= min_sentences:
        cue_labels = zh_cues([doc.span(s.start, s.end) for _, s in unlabelled])
        zh_label = {index: key for (index, _), (key, _) in zip(unlabelled, cue_labels, strict=True)}
    result: dict[str, dict[str, str]] = {}
    for lang, by_index, sentences in (
        ("en", en_label, doc.sentences_in("en")),
        ("zh", zh_label, chinese),
    ):
        grouped: dict[str, list[str]] = {}
        for index in sorted(by_index):
            sentence = sentences[index]
            grouped.setdefault(by_index[index], []).append(doc.span(sentence.start, sentence.end))
        if grouped:
            result[lang] = {
                key: JOINERS[lang].join(grouped[key]) for key in CANONICAL_SECTIONS if key in grouped
            }
    return result
