"""Shared test paths. Real data: ../shared/fixtures (relative to the project root)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
SAMPLES = sorted((FIXTURES / "original-format").glob("*.txt"))


@pytest.fixture(scope="session")
def sample_paths():
    assert len(SAMPLES) == 3, f"expected the three published sample tables in {FIXTURES}"
    return SAMPLES
