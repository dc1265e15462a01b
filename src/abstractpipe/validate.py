"""Validate record files against the shipped JSON Schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from jsonschema import Draft202012Validator

from abstractpipe.write import read_records


@dataclass
class Problem:
    path: Path
    line: int
    record_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: record {self.record_id}: field {self.field or '(record)'}: {self.message}"


@cache
def shipped_schema() -> dict:
    text = resources.files("abstractpipe").joinpath("data/record.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def record_files(path: Path) -> list[Path]:
    """A record file, or every part file of an output folder (or of its records/ folder)."""
    if path.is_file():
        return [path]
    if (path / "records").is_dir():
        path = path / "records"
    files = sorted(path.glob("*.jsonl")) + sorted(path.glob("*.jsonl.gz"))
    if not files:
        raise FileNotFoundError(f"no record files (*.jsonl) in {path}")
    return files


def validate_records(path: Path) -> tuple[int, list[Problem]]:
    validator = Draft202012Validator(shipped_schema())
    problems: list[Problem] = []
    seen: set[str] = set()
    count = 0
    for file, number, line in read_records(record_files(path)):
        count += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(file, number, "?", "", f"not JSON: {exc}"))
            continue
        record_id = str(record.get("id", "?")) if isinstance(record, dict) else "?"
        for error in sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
            field = ".".join(str(p) for p in error.absolute_path)
            problems.append(Problem(file, number, record_id, field, error.message))
        if record_id in seen:
            problems.append(Problem(file, number, record_id, "id", "duplicate id"))
        seen.add(record_id)
    return count, problems
