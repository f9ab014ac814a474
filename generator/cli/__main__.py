"""`python -m generator.cli`: the same as the `pipectl` console script."""

import sys

from generator.cli import main

sys.exit(main())
