"""The test suite, grouped as the code is; shared fixtures in conftest.py and fixtures/."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
