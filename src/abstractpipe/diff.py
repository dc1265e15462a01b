"""What changed between two runs: records joined on id, changed fields as dotted paths.

Lists are matched by what their items are, not by position only, so one
inserted sentence or statistic reads as one change and not as a shift of
every later item:

- ``statistics`` items by (measure, value, lang): ``statistics[OR 1.5 en]``
  (a second item with the same key gets ``#2``); a matched item's changed keys
  follow, e.g. ``statistics[OR 1.5 en].ci_low``;
- ``curated`` by field: ``curated[metadata.doi]``; ``warnings`` by (code, detail);
- every other list (sentences, authors, key findings, alignment links) by
  content in order (difflib): unchanged items anchor, and an item replaced in
  place is one ``changed`` item ``sentences.en[3]`` (the index in the new list;
  in the old list for removed items).

Each change has a ``field`` too: the path with list selectors dropped
(``statistics.ci_low``, ``sentences.en``), the unit the summary counts.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SELECTOR = re.compile(r"\[[^\]]*\]")


@dataclass
class Change:
    path: str
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None

    @property
    def field(self) -> str:
        return field_of(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "field": self.field, "kind": self.kind, "old": self.old, "new": self.new}


@dataclass
class RecordDiff:
    id: str
    kind: str  # added | removed | changed
    site: str
    source_path: str
    url: str | None
    changes: list[Change] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)  # of the new record (old if removed)
    stale: list[str] = field(default_factory=list)  # details of stale_correction warnings
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "site": self.site,
            "source": {"path": self.source_path, "url": self.url},
            "changes": [c.to_json() for c in self.changes],
            "warnings": self.warnings,
            "stale_corrections": self.stale,
        }


@dataclass
class Run:
    label: str
    records: dict[str, dict[str, Any]]
    run_info: dict[str, Any] | None  # run.json, when the folder has one


@dataclass
class DiffResult:
    old: Run
    new: Run
    records: list[RecordDiff]  # added, removed and changed records, by id
    unchanged: int
    config_changes: list[Change]
    fields: list[str] | None = None
    site: str | None = None

    def of_kind(self, kind: str) -> list[RecordDiff]:
        return [r for r in self.records if r.kind == kind]

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.of_kind("added")),
            "removed": len(self.of_kind("removed")),
            "changed": len(self.of_kind("changed")),
            "unchanged": self.unchanged,
        }

    def field_counts(self) -> dict[str, int]:
        """Changed records per field (a record counts once per field)."""
        counts: Counter[str] = Counter()
        for record in self.of_kind("changed"):
            counts.update({c.field for c in record.changes})
        return dict(sorted(counts.items()))

    def site_counts(self) -> dict[str, dict[str, int]]:
        sites: dict[str, Counter[str]] = {}
        for record in self.records:
            sites.setdefault(record.site, Counter())[record.kind] += 1
        return {site: dict(sorted(c.items())) for site, c in sorted(sites.items())}

    def stale(self) -> list[tuple[str, str]]:
        return [(r.id, detail) for r in self.records for detail in r.stale] + self.unchanged_stale

    unchanged_stale: list[tuple[str, str]] = field(default_factory=list)

    def json_lines(self) -> str:
        return "".join(
            json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
            for r in self.records
        )

    def summary_lines(self) -> list[str]:
        counts = self.counts()
        lines = [
            f"old: {self.old.label} ({len(self.old.records)} records)",
            f"new: {self.new.label} ({len(self.new.records)} records)",
        ]
        if self.fields or self.site:
            scope = [
                f"fields {', '.join(self.fields)}" if self.fields else "",
                f"site {self.site}" if self.site else "",
            ]
            lines.append("only: " + "; ".join(s for s in scope if s))
        lines.append(
            f"added {counts['added']}, removed {counts['removed']}, "
            f"changed {counts['changed']}, unchanged {counts['unchanged']}"
        )
        field_counts = self.field_counts()
        if field_counts:
            lines.append("changed records per field:")
            width = max(len(f) for f in field_counts)
            lines.extend(f"  {name:<{width}}  {n}" for name, n in field_counts.items())
        site_counts = self.site_counts()
        if site_counts:
            lines.append("per site:")
            width = max(len(s) for s in site_counts)
            for site, kinds in site_counts.items():
                lines.append(f"  {site:<{width}}  " + ", ".join(f"{k} {n}" for k, n in kinds.items()))
        lines.extend(self.config_lines())
        stale = self.stale()
        if stale:
            lines.append(f"stale corrections in the new run: {len(stale)}")
            lines.extend(f"  {rid} {detail}" for rid, detail in stale)
        return lines

    def config_lines(self) -> list[str]:
        old_info, new_info = self.old.run_info, self.new.run_info
        if old_info is None or new_info is None:
            return ["config: run.json missing on one side, not compared"]
        lines = []
        for key in ("package_version", "schema_version"):
            if old_info.get(key) != new_info.get(key):
                lines.append(f"  {key}: {old_info.get(key)} -> {new_info.get(key)}")
        for change in self.config_changes:
            lines.append(f"  {change.path}: {_short(change.old)} -> {_short(change.new)}")
        if not self.config_changes and old_info.get("config_sha256") != new_info.get("config_sha256"):
            lines.append("  rule file contents changed (config_sha256 differs)")
        if old_info.get("code_sha256") != new_info.get("code_sha256"):
            lines.append("  code changed (code_sha256 differs: the package's files)")
        if not lines:
            return ["config: same (config_sha256 equal)"]
        return ["config changes (run.json):", *lines]


def _short(value: Any, limit: int = 80) -> str:
    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_of(path: str) -> str:
    return _SELECTOR.sub("", path)


# ---------------------------------------------------------------- loading


def record_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such output folder or record file: {path}")
    folder = path / "records" if (path / "records").is_dir() else path
    files = sorted(folder.rglob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no record files (*.jsonl) in {folder}")
    return files


def load_run(path: Path) -> Run:
    records: dict[str, dict[str, Any]] = {}
    for file in record_files(path):
        with file.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{file}:{number}: not JSON: {exc.msg}") from exc
                if not isinstance(record, dict) or "id" not in record:
                    raise ValueError(f"{file}:{number}: not a record (no id)")
                records[str(record["id"])] = record
    run_info = None
    folder = path if path.is_dir() else path.parent
    for candidate in (folder / "run.json", folder.parent / "run.json"):
        if candidate.is_file():
            run_info = json.loads(candidate.read_text(encoding="utf-8"))
            break
    return Run(label=str(path), records=records, run_info=run_info)


# ---------------------------------------------------------------- comparing


def _number(value: Any) -> str:
    return repr(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))


def _statistic_key(item: Any) -> str:
    if isinstance(item, dict):
        return f"{item.get('measure')} {_number(item.get('value'))} {item.get('lang')}"
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _curated_key(item: Any) -> str:
    return str(item.get("field")) if isinstance(item, dict) else json.dumps(item, sort_keys=True)


def _warning_key(item: Any) -> str:
    if isinstance(item, dict):
        return f"{item.get('code')}: {item.get('detail')}"
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


KEYED_LISTS: dict[str, Callable[[Any], str]] = {
    "statistics": _statistic_key,
    "curated": _curated_key,
    "warnings": _warning_key,
}


def diff_values(old: Any, new: Any, path: str = "") -> list[Change]:
    """Changes from ``old`` to ``new``; ``None`` and a missing key count as the same."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in sorted(set(old) | set(new)):
            changes.extend(diff_values(old.get(key), new.get(key), f"{path}.{key}" if path else str(key)))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        keyed = KEYED_LISTS.get(field_of(path))
        if keyed is not None:
            return _diff_keyed(old, new, path, keyed)
        return _diff_sequence(old, new, path)
    if old is None:
        return [Change(path, "added", None, new)]
    if new is None:
        return [Change(path, "removed", old, None)]
    return [Change(path, "changed", old, new)]


def _with_occurrence(items: list[Any], key: Callable[[Any], str]) -> dict[str, Any]:
    seen: Counter[str] = Counter()
    keyed: dict[str, Any] = {}
    for item in items:
        base = key(item)
        seen[base] += 1
        keyed[base if seen[base] == 1 else f"{base} #{seen[base]}"] = item
    return keyed


def _diff_keyed(old: list[Any], new: list[Any], path: str, key: Callable[[Any], str]) -> list[Change]:
    old_items, new_items = _with_occurrence(old, key), _with_occurrence(new, key)
    changes: list[Change] = []
    # New order first, then what was removed, so the report reads like the new record.
    for name in [*new_items, *(k for k in old_items if k not in new_items)]:
        item_path = f"{path}[{name}]"
        if name not in old_items:
            changes.append(Change(item_path, "added", None, new_items[name]))
        elif name not in new_items:
            changes.append(Change(item_path, "removed", old_items[name], None))
        else:
            changes.extend(diff_values(old_items[name], new_items[name], item_path))
    return changes


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _diff_sequence(old: list[Any], new: list[Any], path: str) -> list[Change]:
    matcher = difflib.SequenceMatcher(
        None, [_canonical(i) for i in old], [_canonical(i) for i in new], autojunk=False
    )
    changes: list[Change] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for offset in range(paired):
            old_item, new_item = old[i1 + offset], new[j1 + offset]
            item_path = f"{path}[{j1 + offset}]"
            if isinstance(old_item, dict) and isinstance(new_item, dict):
                changes.extend(diff_values(old_item, new_item, item_path))
            else:
                changes.append(Change(item_path, "changed", old_item, new_item))
        for index in range(i1 + paired, i2):
            changes.append(Change(f"{path}[{index}]", "removed", old[index], None))
        for index in range(j1 + paired, j2):
            changes.append(Change(f"{path}[{index}]", "added", None, new[index]))
    return changes


def _matches_fields(change: Change, prefixes: list[str]) -> bool:
    for prefix in prefixes:
        if change.path == prefix or change.field == prefix:
            return True
        if change.path.startswith((prefix + ".", prefix + "[")) or change.field.startswith(prefix + "."):
            return True
    return False


def _site(record: dict[str, Any]) -> str:
    return str((record.get("source") or {}).get("site", ""))


def _stale_details(record: dict[str, Any]) -> list[str]:
    return [str(w.get("detail")) for w in record.get("warnings") or [] if w.get("code") == "stale_correction"]


def diff_runs(old: Run, new: Run, fields: Iterable[str] | None = None, site: str | None = None) -> DiffResult:
    prefixes = [f.strip() for f in fields or [] if f.strip()]
    records: list[RecordDiff] = []
    unchanged = 0
    unchanged_stale: list[tuple[str, str]] = []
    for record_id in sorted(set(old.records) | set(new.records)):
        before, after = old.records.get(record_id), new.records.get(record_id)
        shown = after if after is not None else before
        assert shown is not None
        if site is not None and site not in {_site(r) for r in (before, after) if r is not None}:
            continue
        source = shown.get("source") or {}
        entry = RecordDiff(
            id=record_id,
            kind="changed",
            site=_site(shown),
            source_path=str(source.get("path", "")),
            url=source.get("url"),
            warnings=list(shown.get("warnings") or []),
            stale=_stale_details(after) if after is not None else [],
            old=before,
            new=after,
        )
        if before is None:
            entry.kind = "added"
        elif after is None:
            entry.kind = "removed"
        else:
            entry.changes = diff_values(before, after)
            if prefixes:
                entry.changes = [c for c in entry.changes if _matches_fields(c, prefixes)]
            if not entry.changes:
                unchanged += 1
                unchanged_stale.extend((record_id, d) for d in entry.stale)
                continue
        records.append(entry)
    config_changes: list[Change] = []
    if old.run_info is not None and new.run_info is not None:
        config_changes = diff_values(old.run_info.get("config"), new.run_info.get("config"))
    return DiffResult(
        old=old,
        new=new,
        records=records,
        unchanged=unchanged,
        config_changes=config_changes,
        fields=prefixes or None,
        site=site,
        unchanged_stale=unchanged_stale,
    )


# ---------------------------------------------------------------- highlighting

# One token per CJK character (Chinese has no spaces: words are not visible),
# words and numbers whole, every other character alone.
_TOKEN = re.compile(
    r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\W_]+|\s+|.", re.UNICODE
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def tokens(text: str) -> list[str]:
    """Words for English, single characters for Chinese: the units the highlighting marks."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if len(token) > 1 and _CJK.search(token):  # a \w+ run with CJK inside: split per character
            out.extend(_split_cjk(token))
        else:
            out.append(token)
    return out


def _split_cjk(token: str) -> list[str]:
    return [part for part in re.split(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])", token) if part]


Segment = tuple[str, str]  # ("=", text) unchanged, ("-", text) only old, ("+", text) only new


def highlight(old: str, new: str, context: int = 160) -> tuple[list[Segment], list[Segment]]:
    """Old and new side by side as segments; long unchanged runs keep ``context`` characters each side."""
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            text = "".join(a[i1:i2])
            _append(left, "=", text)
            _append(right, "=", text)
            continue
        if i2 > i1:
            _append(left, "-", "".join(a[i1:i2]))
        if j2 > j1:
            _append(right, "+", "".join(b[j1:j2]))
    return _elide(left, context), _elide(right, context)


def _append(segments: list[Segment], op: str, text: str) -> None:
    if segments and segments[-1][0] == op:
        segments[-1] = (op, segments[-1][1] + text)
    else:
        segments.append((op, text))


def _elide(segments: list[Segment], context: int) -> list[Segment]:
    out: list[Segment] = []
    last = len(segments) - 1
    for index, (op, text) in enumerate(segments):
        if op != "=" or len(text) <= 2 * context + 20:
            out.append((op, text))
            continue
        head = text[:context] if index > 0 else ""
        tail = text[-context:] if index < last else ""
        out.append((op, head + " … " + tail if head or tail else text[:context] + " …"))
    return out


def display_text(value: Any) -> str:
    """How a value reads in the report: strings as they are, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
