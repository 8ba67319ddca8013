"""Shared test paths. Real data: tests/fixtures (vendored; sources and licences in its README)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = sorted((FIXTURES / "original-format").glob("*.txt"))


@pytest.fixture(scope="session")
def sample_paths():
    assert len(SAMPLES) == 3, f"expected the three published sample tables in {FIXTURES}"
    return SAMPLES
