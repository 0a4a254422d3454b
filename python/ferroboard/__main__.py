"""``python -m ferroboard``: the ``ferroboard`` command, as ``python -m ferroboard.cli``."""

import sys

from .cli import main

sys.exit(main())
