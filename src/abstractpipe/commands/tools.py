"""``abstractpipe align`` and ``abstractpipe extract-stats``: single stages over JSON Lines."""

from __future__ import annotations

import argparse

from abstractpipe.commands import fail

ORDER = 30


def register(commands: argparse._SubParsersAction) -> None:
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
    align.set_defaults(handler=command_align)

    extract_stats = commands.add_parser(
        "extract-stats",
        help="extract statistics from texts given as JSON Lines",
        description="Each input line is {id, text, lang?} (lang en or zh, detected when absent); "
        "each output line {id, stats}. Exit 1 when some lines were skipped, 2 on a usage error.",
    )
    extract_stats.add_argument("--input", required=True, help="input JSON Lines file ('-' for stdin)")
    extract_stats.add_argument("--output", required=True, help="output JSON Lines file ('-' for stdout)")
    extract_stats.add_argument("--config", default=None, help="run config (default: configs/default.yaml)")
    extract_stats.set_defaults(handler=command_extract_stats)


def command_align(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.tools import align_transform, load_align_params, run_tool

    try:
        params = load_align_params(args.config)
    except ConfigError as exc:
        return fail("align", exc)
    return run_tool("align", args.input, args.output, align_transform(params))


def command_extract_stats(args: argparse.Namespace) -> int:
    from abstractpipe.config import ConfigError
    from abstractpipe.tools import extract_stats_transform, load_statistics_rules, run_tool

    try:
        rules = load_statistics_rules(args.config)
    except ConfigError as exc:
        return fail("extract-stats", exc)
    return run_tool("extract-stats", args.input, args.output, extract_stats_transform(rules))
