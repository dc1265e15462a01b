"""Command line: a thin layer that finds the subcommands in ``abstractpipe.commands``.

Exit codes: 0 all good; 1 partial (pages quarantined, invalid records, skipped
input lines); 2 usage or config error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from abstractpipe import __version__, commands
from abstractpipe.commands import EXIT_USAGE


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
    ]
    for module in sorted(modules, key=lambda m: (m.ORDER, m.__name__)):
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
