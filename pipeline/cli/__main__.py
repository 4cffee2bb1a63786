"""``python -m pipeline.cli``: the ``nazar`` command."""
import sys

from . import main

sys.exit(main())
