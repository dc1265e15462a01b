"""``abstractpipe schema`` and ``abstractpipe validate``: the record format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abstractpipe.commands import EXIT_OK, EXIT_PARTIAL, fail

ORDER = 20


def register(commands: argparse._SubParsersAction) -> None:
    schema = commands.add_parser("schema", help="print the record JSON Schema (draft 2020-12)")
    schema.set_defaults(handler=command_schema)
    validate = commands.add_parser(
        "validate",
        help="validate record files against the schema",
        description="Validate a record file, a records/ folder or an output folder. "
        "Exit 1 with each offending record and field on failure.",
    )
    validate.add_argument("path", type=Path, help="record file (.jsonl) or output folder")
    validate.set_defaults(handler=command_validate)


def command_schema(_: argparse.Namespace) -> int:
    from abstractpipe.schema import record_json_schema_text

    sys.stdout.write(record_json_schema_text())
    return EXIT_OK


def command_validate(args: argparse.Namespace) -> int:
    from abstractpipe.validate import validate_records

    try:
        count, problems = validate_records(args.path)
    except FileNotFoundError as exc:
        return fail("validate", exc)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{count} records, {len(problems)} problems", file=sys.stderr)
        return EXIT_PARTIAL
    print(f"{count} records valid")
    return EXIT_OK
