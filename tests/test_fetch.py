"""nnlife.fetch against a local Dataverse-like server (tests/dataverse_server.py), no internet."""

from __future__ import annotations

import json

import pytest

from dataverse_server import DataverseServer, ServedFile
from deposit import standard_deposit, tar_bytes, zip_bytes, zip_with_symlink
from nnlife.fetch import ArchiveError, DownloadChecksumError, FetchError, fetch_published

DOI = "doi:10.7910/DVN/TESTXX"


@pytest.fixture
def deposit(sample_paths):
    return standard_deposit(sample_paths)


@pytest.fixture
def serve():
    servers = []

    def start(files, versions=None, **options) -> DataverseServer:
        server = DataverseServer(DOI, versions or {"1.0": files}, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def fetch(server, out, **options):
    return fetch_published(out, doi=DOI, server=server.url, progress=False, backoff_s=0.0, **options)


def tables_under(out, dataset):
    return {p.name: p.read_bytes() for p in (out / dataset).glob("*.txt")}


def assert_all_tables(out, expected):
    for dataset, tables in expected.items():
        assert tables_under(out, dataset) == tables, dataset


@pytest.mark.parametrize("checksum_type", ["MD5", "SHA-1", "SHA-256", "SHA-512"])
def test_clean_fetch_equals_the_served_tables_byte_for_byte(tmp_path, deposit, serve, checksum_type):
    files, expected = deposit
    server = serve(files, checksum_type=checksum_type)
    out = tmp_path / "published"
    result = fetch(server, out)
    assert_all_tables(out, expected)
    assert result.tables == {"CIFAR100": 3, "FashionMNIST": 6, "SVHN": 6}
    assert (result.downloaded, result.verified) == (len(files), 0)
    assert result.transferred_bytes == sum(len(f.content) for f in files)
    # non-tables kept and listed; the ingested CSV arrives as the depositor's bytes, not the .tab
    assert (out / "other/README.md").read_bytes() == files[0].content
    assert (out / "other/summary.csv").read_bytes() == files[1].content
    assert (out / "other/archives/SVHN.tar.gz/SVHN/notes/README.md").read_bytes() == b"SVHN notes\n"
    manifest = json.loads((out / "fetch-manifest.json").read_text())
    assert (manifest["server"], manifest["doi"], manifest["version"]) == (server.url, DOI, "1.0")
    assert manifest["tables"] == result.tables
    assert sorted(manifest["other"]) == sorted(result.other) and len(result.other) == 3
    by_path = {e["path"]: e for e in manifest["files"]}
    assert by_path["CIFAR100/loose/2021_02_15_13_55_26_539263.txt"]["checksum_type"] == checksum_type
    assert all(
        len(e["checksum"]) == {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}[checksum_type]
        for e in manifest["files"]
    )
    assert by_path["summary.csv"]["url"].endswith("?format=original")
    # nothing written outside OUT, no temporary or staging leftovers
    assert list(tmp_path.iterdir()) == [out]
    assert not [p for p in out.rglob("*") if p.name.endswith((".part", ".tmp")) or "staging" in p.name]


def test_a_rerun_transfers_nothing(tmp_path, deposit, serve):
    files, expected = deposit
    server = serve(files)
    out = tmp_path / "out"
    fetch(server, out)
    before = len(server.file_requests())
    again = fetch(server, out)
    assert len(server.file_requests()) == before == len(files)
    assert (again.downloaded, again.verified, again.transferred_bytes) == (0, len(files), 0)
    assert again.tables == {"CIFAR100": 3, "FashionMNIST": 6, "SVHN": 6}
    assert_all_tables(out, expected)
    # a table deleted by hand is put back from the verified download, still without a transfer
    victim = next((out / "SVHN").glob("*.txt"))
    victim.unlink()
    fetch(server, out)
    assert victim.exists() and len(server.file_requests()) == before


@pytest.mark.parametrize("range_support", [True, False])
def test_a_connection_dropped_mid_file_resumes_and_verifies(tmp_path, deposit, serve, range_support):
    files, expected = deposit
    server = serve(files, range_support=range_support, faults={5: ["drop"], 3: ["drop"]})
    out = tmp_path / "out"
    result = fetch(server, out)
    assert_all_tables(out, expected)
    tar_requests = [r for r in server.file_requests() if r.path.endswith("/5")]
    assert len(tar_requests) == 2 and tar_requests[0].sent == len(files[4].content) // 2
    if range_support:  # the second request continues where the first stopped
        assert tar_requests[1].range == f"bytes={tar_requests[0].sent}-"
        assert (tar_requests[1].status, tar_requests[1].sent) == (
            206,
            len(files[4].content) - tar_requests[0].sent,
        )
    else:  # a server without Range support sends everything again, and it still completes
        assert (tar_requests[1].status, tar_requests[1].sent) == (200, len(files[4].content))
    assert result.transferred_bytes == sum(r.sent for r in server.file_requests())


def test_redirects_to_storage_are_followed_and_resumed_through(tmp_path, deposit, serve):
    files, expected = deposit
    server = serve(files, redirect=True, faults={5: ["drop"]})
    fetch(server, tmp_path / "out")
    assert_all_tables(tmp_path / "out", expected)
    tar = [r for r in server.requests if r.path.endswith("/5")]
    assert [(r.path, r.status) for r in tar] == [
        ("/api/access/datafile/5", 303),
        ("/storage/5", 200),
        ("/api/access/datafile/5", 303),
        ("/storage/5", 206),
    ]
    assert tar[3].range == f"bytes={tar[1].sent}-"
    ingested = [r for r in server.requests if r.path == "/storage/2"]
    assert ingested[0].query == {"format": "original"}


def test_a_503_then_success_is_retried(tmp_path, deposit, serve):
    files, expected = deposit
    server = serve(files, faults={4: ["503", "503"]})
    fetch(server, tmp_path / "out")
    assert [r.status for r in server.file_requests() if r.path.endswith("/4")] == [503, 503, 200]
    assert_all_tables(tmp_path / "out", expected)


def test_persistent_503s_end_in_one_error_naming_the_file(tmp_path, deposit, serve):
    files, _ = deposit
    server = serve(files, faults={4: ["503"] * 10})
    with pytest.raises(FetchError, match=r"cifar100-models\.zip: HTTP 503.*after 3 attempts"):
        fetch(server, tmp_path / "out", retries=2)


def test_a_wrong_checksum_raises_and_keeps_the_bad_file_aside(tmp_path, deposit, serve):
    files, _ = deposit
    files[2].listed_checksum = "0" * 32
    server = serve(files)
    out = tmp_path / "out"
    with pytest.raises(DownloadChecksumError) as err:
        fetch(server, out)
    message = str(err.value)
    real = __import__("hashlib").md5(files[2].content).hexdigest()
    assert "CIFAR100/loose/2021_02_15_13_55_26_539263.txt" in message
    assert real in message and "0" * 32 in message and "run the command again" in message
    bad = out / ".downloads/CIFAR100/loose/2021_02_15_13_55_26_539263.txt.checksum-mismatch"
    assert bad.read_bytes() == files[2].content
    assert not (out / ".downloads/CIFAR100/loose/2021_02_15_13_55_26_539263.txt").exists()
    assert isinstance(err.value, __import__("nnlife").ChecksumError)


def _with_archive(files, name, content):
    return files + [ServedFile(99, name, content, directory="bad")]


def _assert_refused_cleanly(tmp_path, out, name):
    assert not (out / ".fetch-staging").exists() or not any((out / ".fetch-staging").iterdir())
    assert list(tmp_path.iterdir()) == [out]
    assert not [p for p in tmp_path.rglob("*escaped*")]
    assert not (out / "fetch-manifest.json").exists()


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar"])
def test_a_truncated_archive_is_refused(tmp_path, deposit, serve, kind):
    files, expected = deposit
    members = {f"t/{n}": b for n, b in expected["SVHN"].items()}
    whole = {"zip": zip_bytes, "tar.gz": lambda m: tar_bytes(m, "gz"), "tar": tar_bytes}[kind](members)
    cut = whole[: len(whole) // 2] if kind != "tar" else whole[: 512 * 9]  # tar: at a block boundary
    server = serve(_with_archive(files, f"cut.{kind}", cut))
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"cut\..*truncated"):
        fetch(server, out)
    _assert_refused_cleanly(tmp_path, out, f"cut.{kind}")


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_an_archive_with_dotdot_members_is_refused(tmp_path, deposit, serve, kind):
    files, expected = deposit
    members = {"ok/a.txt": b"fine\n", "../../../../escaped.txt": b"outside\n"}
    content = zip_bytes(members) if kind == "zip" else tar_bytes(members, "gz")
    server = serve(_with_archive(files, f"evil.{'zip' if kind == 'zip' else 'tar.gz'}", content))
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"evil\..*'\.\./\.\./\.\./\.\./escaped\.txt'.*outside"):
        fetch(server, out)
    _assert_refused_cleanly(tmp_path, out, "evil")


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_an_archive_with_a_symlink_member_is_refused(tmp_path, deposit, serve, kind):
    files, _ = deposit
    content = (
        zip_with_symlink("escaped-link", "../../../../etc/passwd")
        if kind == "zip"
        else tar_bytes({"ok.txt": b"x\n", "escaped-link": None})
    )
    server = serve(_with_archive(files, f"links.{kind}", content))
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"links\..*'escaped-link' is a symbolic link"):
        fetch(server, out)
    _assert_refused_cleanly(tmp_path, out, "links")


def test_an_archive_bomb_is_refused_by_the_size_limit(tmp_path, deposit, serve):
    files, _ = deposit
    server = serve(_with_archive(files, "bomb.zip", zip_bytes({"zeros.bin": bytes(4_000_000)})))
    out = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"bomb\.zip: extracting it would write more than 1000000 bytes"):
        fetch(server, out, max_extract_bytes=1_000_000)
    _assert_refused_cleanly(tmp_path, out, "bomb")


def test_dry_run_lists_the_files_and_downloads_nothing(tmp_path, deposit, serve):
    files, _ = deposit
    server = serve(files)
    out = tmp_path / "out"
    result = fetch(server, out, dry_run=True)
    assert [(p.file.path, p.file.size, p.state) for p in result.planned] == [
        (f"{f.directory}/{f.name}" if f.directory else f.name, len(f.content), "missing") for f in files
    ]
    assert server.file_requests() == [] and not out.exists()
    fetch(server, out)
    assert {p.state for p in fetch(server, out, dry_run=True).planned} == {"present"}


def test_version_picks_a_published_version(tmp_path, deposit, serve):
    files, expected = deposit
    server = serve(None, versions={"1.0": files[:3], "2.0": files})
    old = fetch(server, tmp_path / "v1", version="1.0")
    assert (old.version, old.tables) == ("1.0", {"CIFAR100": 1})
    assert fetch(server, tmp_path / "v1p", version="1").version == "1.0"
    latest = fetch(server, tmp_path / "latest")
    assert (latest.version, latest.tables["SVHN"]) == ("2.0", 6)
    assert fetch(server, tmp_path / "lp", version=":latest-published", dry_run=True).version == "2.0"
    with pytest.raises(FetchError, match=r"HTTP 404.*Dataset version 3\.0 .*not found.*--version"):
        fetch(server, tmp_path / "v3", version="3.0")


def test_an_unknown_doi_or_an_unreachable_server_is_one_clear_error(tmp_path, deposit, serve):
    files, _ = deposit
    server = serve(files)
    with pytest.raises(FetchError, match=r"doi:10\.7910/DVN/NOPE.*HTTP 404.*not found.*check the DOI"):
        fetch_published(tmp_path / "x", doi="10.7910/DVN/NOPE", server=server.url, progress=False)
    url = server.url
    server.stop()
    server.start = None
    with pytest.raises(FetchError, match=r"after 2 attempts.*unreachable"):
        fetch_published(tmp_path / "x", doi=DOI, server=url, progress=False, retries=1, backoff_s=0)
    assert not (tmp_path / "x").exists()
