"""The output record: one pydantic model, from which the JSON Schema is generated.

The schema is versioned (``SCHEMA_VERSION``) and also shipped as a file
(``abstractpipe/data/record.schema.json``); a test keeps the two in step.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0.0"
SCHEMA_ID = "https://abstractpipe.invalid/schema/record-1.0.0.json"

Measure = Literal[
    "OR", "RR", "HR", "MD", "WMD", "SMD", "RD", "ARR", "RRR", "IRR", "NNT", "NNH", "AUC",
    "r", "beta", "t", "F", "chi2", "z", "U", "p", "I2", "n", "mean", "median", "percent",
]  # fmt: skip
Op = Literal["=", "<", ">", "<=", ">="]
Lang = Literal["en", "zh"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    path: str = Field(description="Path of the raw file relative to the raw root (POSIX separators)")
    url: str | None = Field(default=None, description="URL of the page, when known")
    site: str = Field(description="URL host, or the file's folder relative to the raw root")
    fetched_at: str | None = Field(default=None, description="ISO 8601 fetch time, when known")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the raw bytes")
    format: Literal["html", "text"]
    encoding: str = Field(description="Codec the page was decoded with")


class Statistic(_Strict):
    measure: Measure
    value: float
    op: Op | None = None
    ci_level: float | None = Field(
        default=None, description="Confidence level as a fraction: 0.95 for a 95% CI"
    )
    ci_low: float | None = None
    ci_high: float | None = None
    p_op: Op | None = None
    p_value: float | None = Field(default=None, description="p-value attached to this estimate")
    unit: str | None = Field(default=None, description="For n: the counted noun, singular")
    lang: Lang
    section: str | None = None
    text: str = Field(description="The exact matched span")
    start: int = Field(ge=0, description="Offset of the span in the record's text")
    end: int = Field(ge=0)


class LangText(_Strict):
    en: str | None = None
    zh: str | None = None


class AbstractSections(_Strict):
    background: str | None = None
    objective: str | None = None
    methods: str | None = None
    results: str | None = None
    conclusions: str | None = None


class Sections(_Strict):
    en: AbstractSections = Field(default_factory=AbstractSections)
    zh: AbstractSections = Field(default_factory=AbstractSections)


class Keywords(_Strict):
    en: list[str] = Field(default_factory=list)
    zh: list[str] = Field(default_factory=list)


class Metadata(_Strict):
    journal: str | None = None
    year: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = Field(default=None, description="Lower-case prefix, no URL prefix")
    pmid: str | None = None
    published: str | None = Field(default=None, description="ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD)")
    authors: list[str] = Field(default_factory=list)
    affiliations: list[str] = Field(default_factory=list)
    keywords: Keywords = Field(default_factory=Keywords)


class Sentences(_Strict):
    en: list[str] = Field(default_factory=list)
    zh: list[str] = Field(default_factory=list)


class SentenceLink(_Strict):
    en: list[int] = Field(description="Indices into sentences.en")
    zh: list[int] = Field(description="Indices into sentences.zh")
    score: float


class Alignment(_Strict):
    sections: list[tuple[str, str]] = Field(default_factory=list, description="(en_key, zh_key) pairs")
    sentences: list[SentenceLink] = Field(default_factory=list)


class Warning_(_Strict):
    model_config = ConfigDict(extra="forbid", title="Warning")
    code: str
    detail: str


class Curation(_Strict):
    field: str = Field(
        description="Dotted path of the corrected field, e.g. metadata.doi or sections.en.results"
    )
    action: Literal["set", "reject"]
    curator: str
    note: str | None = None


class Record(_Strict):
    model_config = ConfigDict(extra="forbid", title="abstractpipe record")

    id: str = Field(description="Stable id: from the URL when known, else the raw-relative path")
    schema_version: Literal["1.0.0"] = SCHEMA_VERSION
    source: Source
    languages: list[Lang] = Field(description="Languages of the main content, sorted")
    text: str = Field(description="Cleaned main content, paragraphs separated by blank lines")
    title: LangText = Field(default_factory=LangText)
    metadata: Metadata = Field(default_factory=Metadata)
    sections: Sections = Field(default_factory=Sections)
    page_sections: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Sections of plain-language summary pages, snake_case keys"
    )
    sentences: Sentences = Field(default_factory=Sentences)
    alignment: Alignment = Field(default_factory=Alignment)
    statistics: list[Statistic] = Field(default_factory=list)
    warnings: list[Warning_] = Field(default_factory=list)
    curated: list[Curation] = Field(
        default_factory=list, description="Fields set or rejected by a curator's correction"
    )


def record_json_schema() -> dict:
    schema = Record.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def record_json_schema_text() -> str:
    return json.dumps(record_json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
