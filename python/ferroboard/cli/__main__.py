"""``python -m ferroboard.cli``: the ``ferroboard`` command."""

import sys

from . import main

sys.exit(main())
