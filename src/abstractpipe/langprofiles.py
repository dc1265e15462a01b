"""langdetect's language profiles as one compact n-gram table.

langdetect's ``DetectorFactory`` keeps a Python list of 55 floats for each of its
87,598 n-grams: ~60 MB per process and ~0.3 s to build, and a numpy row cached per
n-gram met on top of that.  Only 184,129 of those floats are not zero, so the table
here keeps just those (CSR layout: for n-gram ``i``, languages ``columns[starts[i]:
starts[i + 1]]`` with ``values`` at the same places), ~3 MB besides the n-gram index,
and builds the dense rows a text needs when it needs them.

The numbers are langdetect's own, computed the same way from the same files in the
same order (``DetectorFactory.load_profile`` then ``add_profile``): language ``j`` is
the ``j``-th profile in ``os.listdir`` order, a row has one slot per file in the
folder, and an n-gram's probability is ``1.0 * count / n_words[len - 1]``.
``tests/test_language.py`` compares every row with langdetect's table.
"""

from __future__ import annotations

import json
import os
from array import array
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NgramTable:
    languages: list[str]  # profile names, langdetect's ``langlist``
    width: int  # slots in a row: the number of files in the profile folder (langdetect's langsize)
    index: dict[str, int]  # n-gram -> its row
    starts: np.ndarray  # row i's entries are starts[i]:starts[i + 1]
    columns: np.ndarray  # language of each entry
    values: np.ndarray  # probability of each entry

    def rows(self, ngrams: list[str]) -> np.ndarray:
        """The dense rows of ``ngrams`` (each must be in ``index``), stacked in that order."""
        table = np.zeros((len(ngrams), self.width))
        if not ngrams:
            return table
        rows = np.fromiter((self.index[g] for g in ngrams), dtype=np.int64, count=len(ngrams))
        firsts = self.starts[rows]
        counts = self.starts[rows + 1] - firsts
        # entry k of the gather belongs to output row repeat(arange, counts)[k] and sits at
        # firsts[row] + (k - offset of that row)
        owners = np.repeat(np.arange(len(ngrams)), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        entries = np.repeat(firsts, counts) + offsets
        table[owners, self.columns[entries]] = self.values[entries]
        return table


def load_ngram_table(directory: str) -> NgramTable:
    """Read langdetect's profile folder (``langdetect.detector_factory.PROFILES_DIRECTORY``)."""
    names = os.listdir(directory)
    languages: list[str] = []
    index: dict[str, int] = {}
    rows = array("q")
    columns = array("h")
    values = array("d")
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as file:
            profile = json.load(file)
        language = len(languages)
        languages.append(profile["name"])
        n_words = profile["n_words"]
        add = index.setdefault
        for ngram, count in profile["freq"].items():
            row = add(ngram, len(index))  # every n-gram gets a row, as in add_profile
            if 1 <= len(ngram) <= 3:
                rows.append(row)
                columns.append(language)
                values.append(1.0 * count / n_words[len(ngram) - 1])
    by_row = np.frombuffer(rows, dtype=np.int64)
    order = np.argsort(by_row, kind="stable")
    return NgramTable(
        languages=languages,
        width=len(names),
        index=index,
        starts=np.searchsorted(by_row[order], np.arange(len(index) + 1)),
        columns=np.frombuffer(columns, dtype=np.int16)[order],
        values=np.frombuffer(values, dtype=np.float64)[order],
    )
