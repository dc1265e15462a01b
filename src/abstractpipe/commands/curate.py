"""``abstractpipe curate set|reject|list|remove|import``: manage the corrections overlay."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from abstractpipe.commands import EXIT_OK, EXIT_PARTIAL, fail

ORDER = 45


def register(commands: argparse._SubParsersAction) -> None:
    curate = commands.add_parser(
        "curate",
        help="manage curators' corrections (applied on every run)",
        description="Manage the corrections overlay (curate.corrections in the config, default "
        "curation/corrections.yaml, relative to the working directory). Every run applies it after extraction.",
    )
    actions = curate.add_subparsers(dest="curate_action", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--config", default=None, help="run config naming the overlay (default: configs/default.yaml)"
        )
        parser.add_argument(
            "--corrections", type=Path, default=None, help="the overlay file (overrides the config)"
        )

    def record_source(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--curator", required=True, help="who makes the correction")
        parser.add_argument("--note", default=None, help="why (kept in the overlay and in the record)")
        parser.add_argument(
            "--records", type=Path, default=Path("processed"),
            help="output folder to read the record's source sha256 from (default: processed/)",
        )  # fmt: skip
        parser.add_argument(
            "--sha256", default=None, help="the source sha256, instead of reading it from --records"
        )

    set_ = actions.add_parser("set", help="set a field of a record to a value")
    set_.add_argument("id", help="record id")
    set_.add_argument("field", help="dotted field path, e.g. metadata.doi, title.en, sections.zh.results")
    set_.add_argument(
        "value",
        help="the value, read as YAML (a list: '[a, b]'); text that is not valid for the field is kept as text",
    )
    common(set_)
    record_source(set_)
    set_.set_defaults(handler=command_set)

    reject = actions.add_parser("reject", help="reject (remove) the extracted value of a field")
    reject.add_argument("id", help="record id")
    reject.add_argument("field", help="dotted field path")
    common(reject)
    record_source(reject)
    reject.set_defaults(handler=command_reject)

    list_ = actions.add_parser("list", help="list the corrections")
    list_.add_argument("--id", default=None, help="only this record")
    list_.add_argument(
        "--records", type=Path, default=None, help="output folder: also say which are stale or missing there"
    )
    common(list_)
    list_.set_defaults(handler=command_list)

    remove = actions.add_parser("remove", help="remove the correction of a record's field")
    remove.add_argument("id", help="record id")
    remove.add_argument("field", help="dotted field path")
    common(remove)
    remove.set_defaults(handler=command_remove)

    import_ = actions.add_parser(
        "import", help="turn the decisions downloaded from the diff report into corrections"
    )
    import_.add_argument("decisions", type=Path, help="decisions.json from the HTML report")
    import_.add_argument("--curator", default=None, help="curator for decisions that name none")
    common(import_)
    import_.set_defaults(handler=command_import)


def _overlay(args: argparse.Namespace) -> Path:
    if args.corrections is not None:
        return Path(args.corrections)
    from abstractpipe.config import load_config
    from abstractpipe.curate import corrections_path

    return corrections_path(load_config(args.config))


def _source_sha256(args: argparse.Namespace) -> str:
    if args.sha256:
        return str(args.sha256).lower()
    from abstractpipe.diff import load_run

    records = load_run(args.records).records
    if args.id not in records:
        raise LookupError(f"record {args.id} not found in {args.records}; give --records or --sha256")
    return str(records[args.id]["source"]["sha256"])


def _parse_value(field: str, text: str) -> Any:
    import yaml

    from abstractpipe.config import ConfigError
    from abstractpipe.curate import validate_value

    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = text
    try:
        validate_value(field, parsed)
        return parsed
    except ConfigError:
        validate_value(field, text)  # e.g. a title "Yes" or "2021": meant as text
        return text


def _store(args: argparse.Namespace, action: str, value: Any = None) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.curate import load_corrections, make_correction, save_corrections, upsert

    command = f"curate {action}"
    try:
        path = _overlay(args)
        corrections = load_corrections(path)
        if action == "set":
            value = _parse_value(args.field, args.value)
        correction = make_correction(
            args.id, args.field, action, args.curator, _source_sha256(args), value, args.note
        )
    except (ConfigError, LookupError, FileNotFoundError, ValueError) as exc:
        return fail(command, exc)
    corrections, replaced = upsert(corrections, correction)
    save_corrections(path, corrections)
    print(f"{'replaced' if replaced else 'added'}: {args.id} {args.field} ({action}) in {path}")
    return EXIT_OK


def command_set(args: argparse.Namespace) -> int:
    return _store(args, "set")


def command_reject(args: argparse.Namespace) -> int:
    return _store(args, "reject")


def command_list(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.curate import load_corrections

    try:
        path = _overlay(args)
        corrections = load_corrections(path)
        current = {}
        if args.records is not None:
            from abstractpipe.diff import load_run

            current = {rid: r["source"]["sha256"] for rid, r in load_run(args.records).records.items()}
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        return fail("curate list", exc)
    shown = [c for c in sorted(corrections, key=lambda c: c.key) if args.id is None or c.id == args.id]
    for c in shown:
        value = "" if c.action == "reject" else " = " + json.dumps(c.value, ensure_ascii=False)
        state = ""
        if args.records is not None:
            state = (
                "  [missing]"
                if c.id not in current
                else "  [stale]"
                if current[c.id] != c.sha256
                else "  [ok]"
            )
        note = f"  # {c.note}" if c.note else ""
        print(f"{c.id} {c.field} {c.action}{value}  by {c.curator}  sha256 {c.sha256[:12]}{state}{note}")
    print(f"{len(shown)} corrections in {path}", file=sys.stderr)
    return EXIT_OK


def command_remove(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.curate import load_corrections, save_corrections

    try:
        path = _overlay(args)
        corrections = load_corrections(path)
    except ConfigError as exc:
        return fail("curate remove", exc)
    kept = [c for c in corrections if c.key != (args.id, args.field)]
    if len(kept) == len(corrections):
        return fail("curate remove", f"no correction for {args.id} {args.field} in {path}")
    save_corrections(path, kept)
    print(f"removed: {args.id} {args.field} from {path}")
    return EXIT_OK


def command_import(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.curate import import_decisions, load_corrections, save_corrections

    try:
        path = _overlay(args)
        corrections = load_corrections(path)
        decisions = json.loads(args.decisions.read_text(encoding="utf-8"))
        outcome = import_decisions(corrections, decisions, default_curator=args.curator)
    except (ConfigError, OSError, ValueError) as exc:
        return fail("curate import", exc)
    save_corrections(path, outcome.corrections)
    for line in outcome.lines():
        print(line)
    for problem in outcome.problems:
        print(problem, file=sys.stderr)
    return EXIT_PARTIAL if outcome.problems else EXIT_OK
