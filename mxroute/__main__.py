"""``python -m mxroute``: the same as the ``mxroute`` command."""

import sys

from mxroute.cli import main

if __name__ == "__main__":
    sys.exit(main())
