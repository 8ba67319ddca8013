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


@pytest.fixture(scope="session", autouse=True)
def _own_catalog_cache(tmp_path_factory):
    """Catalog caches of read-only folders go to a temporary folder, whatever NNLIFE_CACHE_DIR,
    XDG_CACHE_HOME or the home directory of the person running the tests say (tests never write
    ~/.cache, and a cache left there by another run is never read)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NNLIFE_CACHE_DIR", str(tmp_path_factory.mktemp("nnlife-cache")))
    yield
    mp.undo()
