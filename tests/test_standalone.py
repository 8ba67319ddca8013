"""The project stands on its own: a clone needs nothing beside it.

The real samples are vendored in tests/fixtures (sources and licences in its README); nothing in
the project may point at a ``../shared`` folder, which a person who clones the project never has.
"""

import hashlib
import re
from pathlib import Path

from conftest import FIXTURES, ROOT

# where a reference to ../shared would break a clone: the package, the tests, the notebooks, the
# benchmarks, the scripts, the Makefile and the README (what people run and read)
CHECKED = ["nnlife", "docs", "tests", "bench", "scripts", "Makefile", "README.md", "pyproject.toml"]
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".nnlife-catalog", ".pytest_cache"}
TEXT_SUFFIXES = {
    ".py",
    ".ipynb",
    ".sh",
    ".md",
    ".txt",
    ".toml",
    ".yml",
    ".yaml",
    ".cfg",
    ".tpl",
    ".j2",
    ".json",
    "",
}
# ../shared written as a path, or built from parts (parent / "shared" / "fixtures")
THIS = Path(__file__).resolve()  # spells the old paths out, to test the pattern
SHARED = re.compile(r"\.\./shared\b|shared/fixtures|[\"']shared[\"']\s*/")


def _text_files(root: Path):
    for name in CHECKED:
        top = root / name
        if top.is_file():
            yield top
            continue
        for p in sorted(top.rglob("*")):
            if (
                p.is_file()
                and not SKIPPED_DIRS & set(p.relative_to(root).parts)
                and p.suffix in TEXT_SUFFIXES
                and FIXTURES not in p.parents
                and p != THIS
            ):
                yield p


def test_nothing_refers_to_shared():
    found = []
    for p in _text_files(ROOT):
        for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
            if SHARED.search(line):
                found.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()[:120]}")
    assert found == [], "references to ../shared (use tests/fixtures):\n" + "\n".join(found)


def test_the_pattern_catches_the_old_spellings():
    assert SHARED.search('FIXTURES = ROOT.parent / "shared" / "fixtures"')
    assert SHARED.search("SAMPLES := ../shared/fixtures/original-format")
    assert not SHARED.search("nnlife generate /shared/batches/cifar-paper-seed0")  # a cluster path


def test_vendored_fixtures_are_the_published_bytes():
    """Every vendored file matches the SHA-256 sum its README records, and every file is listed."""
    readme = (FIXTURES / "README.md").read_text()
    listed = dict((path, digest) for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M))
    present = {
        p.relative_to(FIXTURES).as_posix(): p
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name != "README.md" and not SKIPPED_DIRS & set(p.parts)
    }
    assert sorted(listed) == sorted(present)
    assert len([k for k in present if k.startswith("original-format/")]) == 3
    for rel, p in present.items():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == listed[rel], rel
    for source in (
        "doi:10.7910/DVN/ZXTCGF",
        "PENGUIN",
        "Apache-2.0 with LLVM exceptions",
        "huggingface/datasets",
        "foolbox",
        "MIT",
    ):
        assert source in readme
