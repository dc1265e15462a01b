"""Title and bibliographic metadata on small pages written for these tests."""

from __future__ import annotations

import pytest

from abstractpipe.config import load_config
from abstractpipe.extract import ExtractStep
from abstractpipe.extract.metadata import normalise_doi
from tests.conftest import REPO
from tests.test_extract import make_doc


@pytest.fixture(scope="module")
def step() -> ExtractStep:
    return ExtractStep(load_config(REPO / "configs" / "default.yaml"))


def test_meta_tags_one_keyword_each_a_labelled_pmid_and_citation_pages(step: ExtractStep) -> None:
    doc = make_doc(
        [("heading", "Lung ultrasound for pneumonia in children"), ("paragraph", "Some text.")],
        {
            "citation_keywords": ["lung ultrasound", "pneumonia", "children"],
            "citation_pmid": ["PMID: 31776789"],
            "citation_pages": ["1780 – 1788"],
        },
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert meta["keywords"]["en"] == ["lung ultrasound", "pneumonia", "children"]
    assert meta["pmid"] == "31776789"
    assert meta["pages"] == "1780-1788"


def test_prism_pages(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")], {"prism.startingpage": ["245"], "prism.endingpage": ["251"]}
    )
    step.process(doc)
    assert doc.fields["metadata"]["pages"] == "245-251"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("doi:10.1016/S0140-6736(19)30418-6.", "10.1016/s0140-6736(19)30418-6"),
        ("10.1002/1097-0142(19900101)", "10.1002/1097-0142(19900101)"),
        ("10.1002/ab.123).", "10.1002/ab.123"),
    ],
)
def test_doi_keeps_a_closing_parenthesis_it_opened(raw: str, expected: str) -> None:
    assert normalise_doi(raw) == expected


def test_repeated_keyword_list_tags_are_not_joined(step: ExtractStep) -> None:
    doc = make_doc(
        [("paragraph", "Some text.")], {"keywords": ["stroke, rehabilitation", "stroke,rehabilitation"]}
    )
    step.process(doc)
    assert doc.fields["metadata"]["keywords"]["en"] == ["stroke", "rehabilitation"]
