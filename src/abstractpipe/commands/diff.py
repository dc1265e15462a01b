"""``abstractpipe diff``: what changed between two runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from abstractpipe.commands import EXIT_OK, EXIT_PARTIAL, fail

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    diff = commands.add_parser(
        "diff",
        help="compare two runs record by record",
        description="Compare two output folders (or record files) joined on record id: added, removed, "
        "changed and unchanged records, changed fields as dotted paths, the config difference from run.json "
        "and stale corrections. Exit 0 when nothing differs, 1 when something does, 2 on a usage error.",
    )
    diff.add_argument("old", type=Path, help="old output folder, records/ folder or .jsonl file")
    diff.add_argument("new", type=Path, help="new output folder, records/ folder or .jsonl file")
    diff.add_argument("--html", type=Path, metavar="FILE", help="write the self-contained HTML review report")
    diff.add_argument(
        "--json", type=Path, metavar="FILE", help="write one JSON line per differing record ('-': stdout)"
    )
    diff.add_argument(
        "--fields",
        default="",
        help="only these fields (comma-separated path prefixes, e.g. metadata,title.en)",
    )
    diff.add_argument("--site", default=None, help="only records of this site")
    diff.set_defaults(handler=command_diff)


def command_diff(args: argparse.Namespace) -> int:
    import sys

    from abstractpipe.diff import diff_runs, load_run
    from abstractpipe.report import render_report
    from abstractpipe.write import write_atomic

    try:
        old, new = load_run(args.old), load_run(args.new)
    except (FileNotFoundError, ValueError) as exc:
        return fail("diff", exc)
    result = diff_runs(old, new, fields=args.fields.split(","), site=args.site)
    if args.json is not None and str(args.json) == "-":
        sys.stdout.write(result.json_lines())
    else:
        for line in result.summary_lines():
            print(line)
        if args.json is not None:
            write_atomic(args.json, result.json_lines())
            print(f"json:   {args.json}")
    if args.html is not None:
        write_atomic(args.html, render_report(result))
        if str(args.json) != "-":
            print(f"report: {args.html}")
    return EXIT_PARTIAL if result.records else EXIT_OK
