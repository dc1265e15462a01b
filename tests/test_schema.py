from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from abstractpipe.schema import SCHEMA_VERSION, Record, record_json_schema, record_json_schema_text


def test_shipped_schema_file_matches_the_model(repo: Path) -> None:
    shipped = repo / "src" / "abstractpipe" / "data" / "record.schema.json"
    assert shipped.read_text(encoding="utf-8") == record_json_schema_text(), (
        "regenerate with: abstractpipe schema > src/abstractpipe/data/record.schema.json"
    )


def test_schema_is_valid_draft_2020_12() -> None:
    schema = record_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_rejects_unknown_measure_and_extra_field() -> None:
    validator = Draft202012Validator(record_json_schema())
    record = Record.model_validate(
        {
            "id": "x",
            "source": {
                "path": "a.txt",
                "site": ".",
                "sha256": "0" * 64,
                "format": "text",
                "encoding": "utf-8",
            },
            "languages": ["en"],
            "text": "Hello.",
        }
    ).model_dump(mode="json")
    assert record["schema_version"] == SCHEMA_VERSION
    assert not list(validator.iter_errors(record))
    bad = json.loads(json.dumps(record))
    bad["statistics"] = [{"measure": "XYZ", "value": 1, "lang": "en", "text": "XYZ 1", "start": 0, "end": 5}]
    bad["surprise"] = 1
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any("XYZ" in m for m in messages)
    assert any("surprise" in m for m in messages)
