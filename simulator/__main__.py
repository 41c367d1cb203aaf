"""`python -m simulator` entry point."""

import sys

from simulator.cli import main

sys.exit(main())
