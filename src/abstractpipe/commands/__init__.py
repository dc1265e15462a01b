"""Subcommands of the ``abstractpipe`` command line, one module per command group.

Each module defines ``ORDER`` (its place in ``--help``) and
``register(subparsers)``, which adds its parsers and sets ``handler`` on each:
a function ``(args) -> exit code``.  ``cli.py`` finds the modules here, so a new
command is a new module and touches no shared file.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def fail(command: str, message: object) -> int:
    """Report a usage or config error the way every command does, and return exit 2."""
    print(f"abstractpipe {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
