"""The diff as one self-contained HTML file a curator opens in a browser.

No server, no network, no external assets: the styles, the script and the data
are inline.  Page text never becomes markup: the data travels as JSON in a
``<script type="application/json">`` block (with ``<``, ``>`` and ``&``
escaped, so a page's ``</script>`` cannot end it) and the script builds the
page with ``textContent`` only.  A Content-Security-Policy that allows only
this file's own script and style (by hash) and no network is the second line
of defence: even markup that slipped through could not run or fetch anything.

The curator accepts or rejects each change; "download decisions" saves a JSON
file that ``abstractpipe curate import`` turns into corrections.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any

from abstractpipe.config import ConfigError
from abstractpipe.curate import field_annotation
from abstractpipe.diff import DiffResult, RecordDiff, display_text, highlight

DECISIONS_FORMAT = "abstractpipe-decisions"


def correctable_field(path: str) -> str | None:
    """The field a correction would set for a change at ``path`` (lists as a whole), if any."""
    field = path.split("[", 1)[0]
    try:
        field_annotation(field)
    except ConfigError:
        return None
    return field


def value_at(record: dict[str, Any] | None, field: str) -> Any:
    node: Any = record
    for part in field.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _record_title(record: dict[str, Any] | None) -> str:
    title = (record or {}).get("title") or {}
    return " / ".join(t for t in (title.get("en"), title.get("zh")) if t)


def _record_data(entry: RecordDiff) -> dict[str, Any]:
    shown = entry.new if entry.new is not None else entry.old
    changes = []
    for change in entry.changes:
        left, right = highlight(display_text(change.old), display_text(change.new))
        field = correctable_field(change.path)
        changes.append(
            {
                "path": change.path,
                "field": change.field,
                "kind": change.kind,
                "old": left,
                "new": right,
                "correct": field,
                "field_old": value_at(entry.old, field) if field else None,
            }
        )
    return {
        "id": entry.id,
        "kind": entry.kind,
        "site": entry.site,
        "path": entry.source_path,
        "url": entry.url,
        "title": _record_title(shown),
        "sha256": ((shown or {}).get("source") or {}).get("sha256", ""),
        "warnings": [{"code": str(w.get("code")), "detail": str(w.get("detail"))} for w in entry.warnings],
        "stale": [{"field": d.split(" ", 1)[0], "detail": d} for d in entry.stale],
        "changes": changes,
    }


def report_data(result: DiffResult) -> dict[str, Any]:
    return {
        "format": DECISIONS_FORMAT,
        "old": result.old.label,
        "new": result.new.label,
        "counts": result.counts(),
        "records": [_record_data(r) for r in result.records],
    }


def _script_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for raw, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def _table(headers: list[str], rows: list[list[Any]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_report(result: DiffResult) -> str:
    """The whole report as one HTML string (deterministic for the same diff)."""
    assets = resources.files("abstractpipe") / "data" / "report"
    style = assets.joinpath("report.css").read_text(encoding="utf-8")
    script = assets.joinpath("report.js").read_text(encoding="utf-8")
    counts = result.counts()
    count_cells = "".join(
        f'<td><span class="count" id="count-{kind}">{n}</span> {kind}</td>' for kind, n in counts.items()
    )
    site_rows = [
        [site, *(kinds.get(k, 0) for k in ("added", "removed", "changed"))]
        for site, kinds in result.site_counts().items()
    ]
    config = [line.strip() for line in result.config_lines()]
    csp = (
        "default-src 'none'; img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'; "
        f"script-src {_csp_hash(script)}; style-src {_csp_hash(style)}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp, quote=False)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>abstractpipe diff</title>",
        f"<style>{style}</style></head><body>",
        "<header><h1>abstractpipe diff</h1>",
        f'<p class="runs"><span class="old-label">old: {html.escape(result.old.label)}</span>'
        f'<span class="new-label">new: {html.escape(result.new.label)}</span></p></header>',
        '<section id="summary"><h2>Summary</h2>',
        f'<table id="counts"><tbody><tr>{count_cells}</tr></tbody></table>',
        "<h3>Changed records per field</h3>",
        _table(["field", "records"], [[k, v] for k, v in result.field_counts().items()], "field-counts"),
        "<h3>Per site</h3>",
        _table(["site", "added", "removed", "changed"], site_rows, "site-counts"),
        '<h3>Config</h3><ul id="config">',
        "".join(f"<li>{html.escape(line)}</li>" for line in config),
        "</ul>",
        f'<p id="stale-summary">stale corrections: <span id="count-stale">{len(result.stale())}</span></p>',
        "</section>",
        '<section id="controls"><h2>Review</h2>',
        '<label>curator <input id="curator" autocomplete="off"></label> ',
        '<label>field <select id="filter-field"><option value="">all</option></select></label> ',
        '<label>site <select id="filter-site"><option value="">all</option></select></label> ',
        '<label>change <select id="filter-kind"><option value="">all</option>'
        '<option value="added">added</option><option value="removed">removed</option>'
        '<option value="changed">changed</option><option value="stale">stale corrections</option>'
        "</select></label> ",
        '<span id="shown-line"><span id="shown">0</span> records shown</span> ',
        '<button id="download" type="button">download decisions</button> ',
        '<span id="decided-line"><span id="decided">0</span> decisions</span>',
        "</section>",
        '<main id="records"><noscript>Open this file in a browser with JavaScript to review the changes; '
        "the summary above does not need it.</noscript></main>",
        f'<script type="application/json" id="diff-data">{_script_json(report_data(result))}</script>',
        f"<script>{script}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
