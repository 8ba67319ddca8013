"""`nnlife fetch published` on the command line, and the catalog of what it fetched."""

from __future__ import annotations

import pytest

import nnlife
from dataverse_server import DataverseServer, ServedFile
from deposit import standard_deposit, zip_bytes
from nnlife.cli import main

DOI = "doi:10.7910/DVN/TESTCLI"


@pytest.fixture
def server(sample_paths):
    files, expected = standard_deposit(sample_paths)
    s = DataverseServer(DOI, {"1.0": files}).start()
    s.expected = expected
    yield s
    s.stop()


def test_cli_dry_run_then_fetch(tmp_path, server, capsys):
    out = tmp_path / "published"
    args = ["fetch", "published", "--out", str(out), "--server", server.url, "--doi", DOI]
    assert main(args + ["--dry-run"]) == 0
    text = capsys.readouterr().out
    assert f"{DOI} version 1.0 on {server.url}: 7 file(s)" in text
    assert "missing" in text and "archives/SVHN.tar.gz" in text and "40.0 KiB" in text
    assert not out.exists()
    assert main(args + ["--workers", "2"]) == 0
    text = capsys.readouterr().out
    assert "7 file(s) downloaded" in text
    for dataset, n in (("CIFAR100", 3), ("FashionMNIST", 6), ("SVHN", 6)):
        assert f"{out / dataset}: {n} tables" in text
    assert main(args) == 0
    assert "0 file(s) downloaded (0 B), 7 already in place and verified" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, server, capsys):
    rc = main(
        [
            "fetch",
            "published",
            "--out",
            str(tmp_path / "o"),
            "--server",
            server.url,
            "--doi",
            "doi:10.7910/DVN/NOPE",
            "--retries",
            "0",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("nnlife fetch: doi:10.7910/DVN/NOPE") and err.count("\n") == 1


def test_the_catalog_reads_a_fetch(tmp_path, server):
    out = tmp_path / "published"
    nnlife.fetch_published(out, doi=DOI, server=server.url, progress=False)
    cat = nnlife.catalog(out)
    assert len(cat) == 15 and not cat.attrs["broken"]
    assert cat.groupby("dataset").size().to_dict() == {"CIFAR100": 3, "FashionMNIST": 6, "SVHN": 6}
    assert set(cat["id"]) == {
        p.stem for ds in server.expected.values() for p in map(__import__("pathlib").Path, ds)
    }


def test_same_names_different_tables_keep_both_and_broken_tables_are_set_aside(tmp_path, sample_paths):
    files, expected = standard_deposit(sample_paths)
    name, data = next(iter(expected["SVHN"].items()))
    lines = data.decode().splitlines(keepends=True)
    other = "".join(lines[:2] + [lines[2].replace(lines[2].split(" ")[1], "1.25", 1)] + lines[3:]).encode()
    cut = data[: len(b"".join(data.splitlines(True)[:5])) + 7]  # ends in the middle of line 6
    assert other != data
    extra = [ServedFile(50, "again.zip", zip_bytes({f"x/{name}": other, "x/cut.txt": cut}))]
    s = DataverseServer(DOI, {"1.0": files + extra}).start()
    try:
        result = nnlife.fetch_published(tmp_path / "o", doi=DOI, server=s.url, progress=False)
    finally:
        s.stop()
    stem = name[:-4]
    assert (tmp_path / "o/SVHN" / name).read_bytes() == data
    assert (tmp_path / "o/SVHN" / f"{stem}.dup1.txt").read_bytes() == other
    assert result.tables["SVHN"] == 7
    assert [p for p, _ in result.broken] == ["broken/cut.txt"]
    assert "truncated last line" in result.broken[0][1] and "again.zip:x/cut.txt" in result.broken[0][1]
