"""Curators' corrections: a human-edited overlay applied after extraction on every run.

The overlay is a YAML file (``curate.corrections`` in the config, default
``curation/corrections.yaml``; a relative path is relative to the working
directory, like ``--raw`` and ``--out``; a missing file means no corrections)::

    corrections:
      - id: 802798f65d94869c          # record id
        field: metadata.doi           # dotted path into the record's fields
        action: set                   # set | reject (reject removes the value)
        value: 10.1000/example        # only for set
        curator: alice
        note: DOI on the page is misprinted
        sha256: 4f2c...               # of the source page when the curator looked at it

Only what extraction fills in can be corrected: ``title``, ``metadata``,
``sections``, ``page_sections`` and ``statistics`` (as a whole list).  A
correction whose source page has changed since (its sha256 differs) is not
applied: the record gets a ``stale_correction`` warning and the run summary
lists it, so the curator re-checks it instead of a stale fix being applied
silently.  A value that does not fit the record schema is not applied either
(warning ``invalid_correction``): a bad correction must not quarantine a page.
"""

from __future__ import annotations

import copy
import json
import re
import typing
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from abstractpipe.config import Config, ConfigError
from abstractpipe.document import Document
from abstractpipe.pipeline import Step, register_step
from abstractpipe.schema import Record

DEFAULT_CORRECTIONS = "curation/corrections.yaml"
CORRECTABLE_ROOTS = ("title", "metadata", "sections", "page_sections", "statistics")
ACTIONS = ("set", "reject")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE_HEADER = """\
# abstractpipe corrections: applied after extraction on every run (see README, "Curation").
# Manage with `abstractpipe curate set|reject|list|remove|import`, or edit by hand.
# A correction whose source page changed since (sha256 differs) is reported as stale, not applied.
"""


@dataclass(frozen=True)
class Correction:
    id: str
    field: str
    action: str  # "set" | "reject"
    curator: str
    sha256: str
    value: Any = None
    note: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.field)

    def to_yaml_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": self.id, "field": self.field, "action": self.action}
        if self.action == "set":
            entry["value"] = self.value
        entry["curator"] = self.curator
        if self.note:
            entry["note"] = self.note
        entry["sha256"] = self.sha256
        return entry

    def curation(self) -> dict[str, Any]:
        """The entry the record's ``curated`` list gets."""
        return {"field": self.field, "action": self.action, "curator": self.curator, "note": self.note}


def corrections_path(config: Config | None) -> Path:
    """Where the overlay lives for this config (relative paths: to the working directory)."""
    relative = DEFAULT_CORRECTIONS
    if config is not None:
        relative = str(config.section("curate").get("corrections") or DEFAULT_CORRECTIONS)
    return Path(relative)


def field_annotation(field: str) -> Any:
    """The schema type at a dotted field path; ConfigError when the path is not correctable."""
    parts = field.split(".")
    if not field or any(not p for p in parts) or parts[0] not in CORRECTABLE_ROOTS:
        raise ConfigError(
            f"cannot correct field {field!r}: the path must start with one of {', '.join(CORRECTABLE_ROOTS)}"
        )
    annotation: Any = Record
    for part in parts:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                raise ConfigError(f"cannot correct field {field!r}: no field {part!r} there")
            annotation = annotation.model_fields[part].annotation
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            raise ConfigError(f"cannot correct field {field!r}: {part!r} is inside a value, not a field")
    return annotation


def validate_value(field: str, value: Any) -> Any:
    """The value as the record will hold it; ConfigError when it does not fit the schema."""
    try:
        return TypeAdapter(field_annotation(field)).validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"value for {field}{'.' + where if where else ''} does not fit the schema: {first['msg']}"
        ) from exc


def _as_json(field: str, value: Any) -> Any:
    # Store what the record will hold (e.g. statistics with every key), JSON-compatible.
    adapter = TypeAdapter(field_annotation(field))
    return adapter.dump_python(adapter.validate_python(value), mode="json")


def parse_entry(entry: Any, where: str) -> Correction:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: a correction must be a mapping")
    missing = [k for k in ("id", "field", "action", "curator", "sha256") if not entry.get(k)]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - {"id", "field", "action", "value", "curator", "note", "sha256"})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    action = str(entry["action"])
    if action not in ACTIONS:
        raise ConfigError(f"{where}: action must be set or reject, got {action!r}")
    if action == "set" and "value" not in entry:
        raise ConfigError(f"{where}: a set correction needs a value")
    sha256 = str(entry["sha256"]).lower()
    if not _SHA256.match(sha256):
        raise ConfigError(f"{where}: sha256 must be 64 hex digits")
    field = str(entry["field"])
    field_annotation(field)  # the path itself must be correctable; a bad value only warns per record
    note = entry.get("note")
    return Correction(
        id=str(entry["id"]),
        field=field,
        action=action,
        curator=str(entry["curator"]),
        sha256=sha256,
        value=entry.get("value") if action == "set" else None,
        note=str(note) if note not in (None, "") else None,
    )


def load_corrections(path: Path) -> list[Correction]:
    """The overlay's corrections; an absent file is an empty overlay."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"corrections file {path} is not valid YAML: {exc}") from exc
    entries = data.get("corrections") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ConfigError(f"corrections file {path}: 'corrections' must be a list")
    corrections = [parse_entry(e, f"{path}: correction {i + 1}") for i, e in enumerate(entries)]
    seen: set[tuple[str, str]] = set()
    for correction in corrections:
        if correction.key in seen:
            raise ConfigError(f"{path}: two corrections for {correction.id} {correction.field}")
        seen.add(correction.key)
    return corrections


def save_corrections(path: Path, corrections: list[Correction]) -> None:
    """Write the overlay sorted by (id, field), atomically, so diffs of the file stay readable."""
    from abstractpipe.write import write_atomic

    ordered = sorted(corrections, key=lambda c: c.key)
    body = yaml.safe_dump(
        {"corrections": [c.to_yaml_entry() for c in ordered]},
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    write_atomic(path, _FILE_HEADER + body)


def upsert(corrections: list[Correction], new: Correction) -> tuple[list[Correction], bool]:
    """Replace the correction for the same (id, field), or add it; True when one was replaced."""
    kept = [c for c in corrections if c.key != new.key]
    return [*kept, new], len(kept) != len(corrections)


def make_correction(
    record_id: str,
    field: str,
    action: str,
    curator: str,
    sha256: str,
    value: Any = None,
    note: str | None = None,
) -> Correction:
    """A checked correction (path correctable, value fits the schema, sha256 well formed)."""
    if action == "set":
        value = _as_json(field, validate_value(field, value))
    entry = {"id": record_id, "field": field, "action": action, "curator": curator, "sha256": sha256}
    if action == "set":
        entry["value"] = value
    if note:
        entry["note"] = note
    return parse_entry(entry, f"correction {record_id} {field}")


def apply_correction(fields: dict[str, Any], correction: Correction) -> None:
    """Set or remove the value at the correction's path in a document's fields."""
    parts = correction.field.split(".")
    node = fields
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if correction.action == "reject":
                return  # nothing there to remove
            child = node[part] = {}
        node = child
    if correction.action == "set":
        node[parts[-1]] = copy.deepcopy(correction.value)
    else:  # the record's default (None, [] or absent) stands for "no value"
        node.pop(parts[-1], None)


@register_step("curate")
class CurateStep(Step):
    """Applies the corrections overlay to each document after extraction."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.path = corrections_path(config)
        self.by_id: dict[str, list[Correction]] = {}
        self._loaded_stamp: tuple[int, int] | None = None
        self._reload_if_changed()
        self.stale: list[tuple[str, str, str]] = []  # (record id, field, source path)
        self.invalid: list[tuple[str, str, str]] = []  # (record id, field, reason)

    def _reload_if_changed(self) -> None:
        # A runner may keep built steps between runs in one process: the overlay is re-read
        # whenever the file changes, so a correction made since is never missed.
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (-1, -1)
        if stamp == self._loaded_stamp:
            return
        by_id: dict[str, list[Correction]] = defaultdict(list)
        for correction in load_corrections(self.path):
            by_id[correction.id].append(correction)
        self.by_id, self._loaded_stamp = dict(by_id), stamp

    def input_fingerprint(self) -> str:
        return self.corrections_digest()

    def corrections_digest(self) -> str:
        """SHA-256 of the overlay file ("" when absent): a run whose shards are kept when unchanged
        must redo them when this changes, as for a config change."""
        import hashlib

        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.is_file() else ""

    def process(self, doc: Document) -> Document:
        self._reload_if_changed()
        corrections = self.by_id.get(doc.id, [])
        if not corrections:
            return doc
        curated = list(doc.fields.get("curated") or [])
        for correction in sorted(corrections, key=lambda c: c.field):
            if correction.sha256 != doc.source.sha256:
                doc.warn(
                    "stale_correction",
                    f"{correction.field} ({correction.action} by {correction.curator}) not applied: "
                    f"the source changed since the correction (sha256 {correction.sha256[:12]} "
                    f"then, {doc.source.sha256[:12]} now)",
                )
                self.stale.append((doc.id, correction.field, doc.source.path))
                self.counters["stale"] += 1
                continue
            if correction.action == "set":
                try:
                    validate_value(correction.field, correction.value)
                except ConfigError as exc:
                    doc.warn("invalid_correction", f"{correction.field} not applied: {exc}")
                    self.invalid.append((doc.id, correction.field, str(exc)))
                    self.counters["invalid"] += 1
                    continue
            apply_correction(doc.fields, correction)
            curated.append(correction.curation())
            self.counters[f"applied:{correction.action}"] += 1
        doc.fields["curated"] = curated
        return doc

    def summary_lines(self) -> list[str]:
        # One self-contained line each: a sharded run merges and sorts the lines of its workers.
        lines = [
            f"stale correction: {rid} {field} ({path}): source changed since the correction, not applied"
            for rid, field, path in self.stale
        ]
        lines.extend(f"invalid correction: {rid} {field}: {reason}" for rid, field, reason in self.invalid)
        return sorted(lines)


DECISIONS_FORMAT = "abstractpipe-decisions"


@dataclass
class ImportOutcome:
    corrections: list[Correction]
    counts: dict[str, int]
    problems: list[str]

    def lines(self) -> list[str]:
        return [
            "imported: "
            + ", ".join(f"{name} {n}" for name, n in self.counts.items())
            + f"; {len(self.problems)} skipped"
        ]


def import_decisions(
    corrections: list[Correction], decisions: Any, default_curator: str | None = None
) -> ImportOutcome:
    """Apply the report's decisions to the overlay.

    accept: nothing to store (the new value stands); keep_old: set the field to
    its old value; clear: reject the field; reconfirm: a stale correction is
    re-applied to the new source (its sha256 is updated); drop: the correction
    is removed.  Several changes inside one list field (e.g. two statistics)
    map to one correction of the whole list, so their decisions must agree.
    """
    if not isinstance(decisions, dict) or decisions.get("format") != DECISIONS_FORMAT:
        raise ValueError(f"not a decisions file from the diff report (format must be {DECISIONS_FORMAT!r})")
    entries = decisions.get("decisions")
    if not isinstance(entries, list):
        raise ValueError("decisions file: 'decisions' must be a list")
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("field"):
            problems.append(f"decision {number}: needs id and field")
            continue
        grouped[(str(entry["id"]), str(entry["field"]))].append(entry)
    counts = {name: 0 for name in ("accept", "keep_old", "clear", "reconfirm", "drop")}
    current = {c.key: c for c in corrections}
    for key, group in sorted(grouped.items()):
        kinds = {(e.get("decision"), json.dumps(e.get("value"), sort_keys=True)) for e in group}
        if len(kinds) > 1:
            problems.append(
                f"{key[0]} {key[1]}: conflicting decisions ({', '.join(sorted(str(k[0]) for k in kinds))})"
            )
            continue
        entry = group[0]
        decision = str(entry.get("decision"))
        curator = str(entry.get("curator") or default_curator or "")
        try:
            if decision == "accept":
                pass
            elif decision in ("keep_old", "clear"):
                if not curator:
                    raise ConfigError("no curator (give --curator)")
                action = "set" if decision == "keep_old" else "reject"
                current[key] = make_correction(
                    key[0],
                    key[1],
                    action,
                    curator,
                    str(entry.get("sha256", "")),
                    entry.get("value"),
                    entry.get("note"),
                )
            elif decision in ("reconfirm", "drop"):
                if key not in current:
                    raise ConfigError("no such correction in the overlay")
                if decision == "drop":
                    del current[key]
                else:
                    old = current[key]
                    current[key] = make_correction(
                        old.id, old.field, old.action, curator or old.curator, str(entry.get("sha256", "")),
                        old.value, entry.get("note") or old.note,
                    )  # fmt: skip
            else:
                raise ConfigError(f"unknown decision {decision!r}")
        except ConfigError as exc:
            problems.append(f"{key[0]} {key[1]}: {exc}")
            continue
        counts[decision] += 1
    return ImportOutcome(corrections=list(current.values()), counts=counts, problems=problems)
