"""nnlife.fetch.archives: safe extraction, member by member."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from deposit import tar_bytes, zip_bytes
from nnlife.fetch.archives import ArchiveError, Limits, archive_suffix, extract, stem


def write(path, data):
    path.write_bytes(data)
    return path


def test_nested_archives_are_extracted_into_folders_named_after_them(tmp_path):
    inner_tgz = tar_bytes({"deep/t.txt": b"deep\n"}, "gz")
    inner = zip_bytes({"b/c.txt": b"c\n", "b/inner.tgz": inner_tgz, "b/one.txt.gz": gzip.compress(b"one\n")})
    outer = write(tmp_path / "outer.tar", tar_bytes({"a/x.txt": b"x\n", "a/nested.zip": inner}))
    got = extract(outer, tmp_path / "t")
    assert [p.as_posix() for p in got] == [
        "a/nested/b/c.txt",
        "a/nested/b/inner/deep/t.txt",
        "a/nested/b/one.txt",
        "a/x.txt",
    ]
    assert (tmp_path / "t/a/nested/b/inner/deep/t.txt").read_bytes() == b"deep\n"
    assert (tmp_path / "t/a/nested/b/one.txt").read_bytes() == b"one\n"


def test_nesting_deeper_than_the_limit_is_refused(tmp_path):
    data = zip_bytes({"t.txt": b"t\n"})
    for i in range(3):
        data = zip_bytes({f"level{i}.zip": data})
    with pytest.raises(ArchiveError, match="nested more than 2 deep"):
        extract(write(tmp_path / "deep.zip", data), tmp_path / "t", Limits(max_depth=2))
    assert not (tmp_path / "t").exists()


def test_an_unsafe_member_inside_a_nested_archive_removes_everything(tmp_path):
    inner = tar_bytes({"../../../escaped.txt": b"bad\n"})
    outer = write(tmp_path / "o.zip", zip_bytes({"ok.txt": b"ok\n", "in/inner.tar": inner}))
    with pytest.raises(ArchiveError, match=r"inner\.tar: member '\.\./\.\./\.\./escaped\.txt'"):
        extract(outer, tmp_path / "t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.zip"]


@pytest.mark.parametrize("name", ["/etc/evil", "C:/evil", "a/../../evil"])
def test_absolute_drive_and_dotdot_names_are_refused(tmp_path, name):
    with pytest.raises(ArchiveError, match="refused"):
        extract(write(tmp_path / "a.zip", zip_bytes({name: b"x"})), tmp_path / "t")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("kind", [tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_hard_links_devices_and_fifos_are_refused(tmp_path, kind):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 3
        tf.addfile(ok, io.BytesIO(b"ok\n"))
        bad = tarfile.TarInfo("special")
        bad.type, bad.linkname = kind, "ok.txt"
        tf.addfile(bad)
    with pytest.raises(ArchiveError, match="'special' is a (hard link|device, FIFO)"):
        extract(write(tmp_path / "s.tar", buf.getvalue()), tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_a_member_that_understates_its_size_is_stopped_by_the_byte_count(tmp_path):
    # a gzip bomb: 3 MB of zeros that compress to a few kB, in a single-file .gz
    bomb = write(tmp_path / "zeros.bin.gz", gzip.compress(bytes(3_000_000)))
    with pytest.raises(ArchiveError, match="more than 1000000 bytes"):
        extract(bomb, tmp_path / "t", Limits(max_bytes=1_000_000))
    assert not (tmp_path / "t").exists()


def test_suffixes():
    assert [archive_suffix(n) for n in ("a.ZIP", "b.tar.gz", "c.tgz", "d.txt", "e.txt.gz")] == [
        ".zip",
        ".tar.gz",
        ".tgz",
        None,
        ".gz",
    ]
    assert stem("SVHN.tar.gz") == "SVHN" and stem("x.txt") == "x.txt"
