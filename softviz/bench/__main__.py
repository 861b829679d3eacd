"""``python -m softviz.bench``: see ``softviz.bench.cli``."""
import sys

from .cli import main

sys.exit(main())
