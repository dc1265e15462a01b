import sys

from abstractpipe.cli import main

sys.exit(main())
