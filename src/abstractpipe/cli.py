"""Command line: a thin layer over runner, schema and validate.

Exit codes: 0 all good; 1 some pages quarantined (run) or invalid records
(validate); 2 usage or config error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from abstractpipe import __version__

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; say which command failed
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="abstractpipe",
        description="Bilingual (English + Chinese) pipeline for scientific and medical abstracts: "
        "raw page dumps in, validated JSON Lines records out.",
    )
    parser.add_argument("--version", action="version", version=f"abstractpipe {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="run the pipeline over a folder of raw pages",
        description="Run every stage over the raw pages and write records, quarantine and stats. "
        "Exit 0 when every page became a record, 1 when some were quarantined, 2 on a usage or config error.",
    )
    run.add_argument("config", nargs="?", default=None, help="YAML config (default: configs/default.yaml)")
    run.add_argument("--raw", default="raw", type=Path, help="folder of raw pages (default: raw/)")
    run.add_argument("--out", default="processed", type=Path, help="output folder (default: processed/)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value (YAML syntax), e.g. --set write.records_per_part=500; repeatable",
    )

    commands.add_parser("schema", help="print the record JSON Schema (draft 2020-12)")

    validate = commands.add_parser(
        "validate",
        help="validate record files against the schema",
        description="Validate a record file, a records/ folder or an output folder. "
        "Exit 1 with each offending record and field on failure.",
    )
    validate.add_argument("path", type=Path, help="record file (.jsonl) or output folder")

    align = commands.add_parser(
        "align",
        help="align English and Chinese sentences given as JSON Lines",
        description="Each input line is {id, en: [sentences], zh: [sentences]} or {id, en_text, zh_text}; "
        "each output line {id, en, zh, links, scores}, in input order. Exit 1 when some lines were "
        "skipped (reported on stderr), 2 on a usage or config error.",
    )
    align.add_argument("--input", required=True, help="input JSON Lines file ('-' for stdin)")
    align.add_argument("--output", required=True, help="output JSON Lines file ('-' for stdout)")
    align.add_argument(
        "--config", default=None, help="run config or align rule file (default: configs/default.yaml)"
    )

    extract_stats = commands.add_parser(
        "extract-stats",
        help="extract statistics from texts given as JSON Lines",
        description="Each input line is {id, text, lang?} (lang en or zh, detected when absent); "
        "each output line {id, stats}. Exit 1 when some lines were skipped, 2 on a usage error.",
    )
    extract_stats.add_argument("--input", required=True, help="input JSON Lines file ('-' for stdin)")
    extract_stats.add_argument("--output", required=True, help="output JSON Lines file ('-' for stdout)")
    extract_stats.add_argument("--config", default=None, help="run config (default: configs/default.yaml)")
    return parser


def command_run(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError, load_config
    from abstractpipe.runner import run_pipeline

    try:
        config = load_config(args.config, args.overrides)
        summary = run_pipeline(config, args.raw, args.out)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"abstractpipe run: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in summary.lines():
        print(line)
    if summary.quarantined:
        print(f"see {args.out / 'quarantine.jsonl'} for the reasons", file=sys.stderr)
    return summary.exit_code


def command_schema(_: argparse.Namespace) -> int:
    from abstractpipe.schema import record_json_schema_text

    sys.stdout.write(record_json_schema_text())
    return EXIT_OK


def command_validate(args: argparse.Namespace) -> int:
    from abstractpipe.validate import validate_records

    try:
        count, problems = validate_records(args.path)
    except FileNotFoundError as exc:
        print(f"abstractpipe validate: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{count} records, {len(problems)} problems", file=sys.stderr)
        return EXIT_PARTIAL
    print(f"{count} records valid")
    return EXIT_OK


def command_align(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.tools import align_transform, load_align_params, run_tool

    try:
        params = load_align_params(args.config)
    except ConfigError as exc:
        print(f"abstractpipe align: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_tool("align", args.input, args.output, align_transform(params))


def command_extract_stats(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.tools import extract_stats_transform, load_statistics_rules, run_tool

    try:
        rules = load_statistics_rules(args.config)
    except ConfigError as exc:
        print(f"abstractpipe extract-stats: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_tool("extract-stats", args.input, args.output, extract_stats_transform(rules))


COMMANDS = {
    "run": command_run,
    "schema": command_schema,
    "validate": command_validate,
    "align": command_align,
    "extract-stats": command_extract_stats,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
