"""Sections of header-less abstracts, labelled sentence by sentence.

The sections stage marks the body of an abstract that has no section headers
as key ``other``.  English sentences there are labelled by the shipped
section labeller (``abstractpipe.labeller``); a Chinese sentence takes the
label of the English sentence it is aligned with, so the two languages agree.
"""

from __future__ import annotations

from collections.abc import Callable

from abstractpipe.document import CANONICAL_SECTIONS, Document

Labeller = Callable[[list[str]], list[tuple[str, float]]]
JOINERS = {"en": " ", "zh": ""}


def infer_sections(doc: Document, label: Labeller, min_sentences: int) -> dict[str, dict[str, str]]:
    """{lang: {key: text}} for languages whose first abstract has no labelled sections."""
    english = [(i, s) for i, s in enumerate(doc.sentences_in("en")) if s.section == "other"]
    if len(english) < min_sentences:
        return {}
    labels = label([doc.span(s.start, s.end) for _, s in english])
    en_label = {index: key for (index, _), (key, _) in zip(english, labels, strict=True)}
    chinese = doc.sentences_in("zh")
    zh_label: dict[int, str] = {}
    for link in doc.alignment.sentences:
        keys = [en_label[i] for i in link.en if i in en_label]
        for j in link.zh:
            if keys and chinese[j].section == "other":
                zh_label[j] = keys[0]
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
