"""abstractpipe: a bilingual (English + Chinese) pipeline for scientific and medical abstracts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("abstractpipe")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
