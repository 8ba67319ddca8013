"""Format-true deposits for the fetch tests: tables in the published layout, loose and archived.

The three real published tables (CIFAR-100) are served as they are; FashionMNIST and SVHN tables
are written here with nnlife.table's writer in the published 28-column layout, from networks
sampled for those datasets (10-class output layer, the right input size) and a real curve.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

import nnlife
from nnlife.table import Lifespan, format_table


def written_table(dataset: str, n: int, template: Lifespan, space="paper") -> tuple[str, bytes]:
    """(file name, bytes) of one published-layout table for ``dataset``, network seed ``n``."""
    net, train = nnlife.sample(space, dataset=dataset, seed=1000 + n, device="cuda")
    table_id = f"2021_03_{1 + n % 28:02d}_12_{n % 60:02d}_{n % 60:02d}_{100000 + n:06d}"
    life = Lifespan(id=table_id, net=net, train=train, curve=template.curve, layout="original")
    return f"{table_id}.txt", format_table(life, "original").encode()


def zip_bytes(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_bytes(members: dict, compression: str = "") -> bytes:
    """A tar ("" ), tar.gz ("gz") of regular files; a value None makes a symlink to "x"."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}" if compression else "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1635860000
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, "../../etc/passwd"
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_with_symlink(name: str, target: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(name)
        info.external_attr = 0o120777 << 16
        zf.writestr(info, target)
    return buf.getvalue()


def standard_deposit(sample_paths):
    """(files, expected): ServedFile list in every plausible layout, and the tables each dataset
    folder must end up with ({dataset: {name: bytes}}).

    Layout: a loose README and an ingested CSV (non-tables); one real table loose in a folder;
    the other two real tables in a zip, nested in folders; FashionMNIST tables in a tar with a
    zip inside it (which also holds an SVHN table: its own column decides, not the archive's
    name); SVHN tables in a tar.gz with a non-table member, and more in a .tgz in a folder.
    """
    from dataverse_server import ServedFile

    samples = {p.name: p.read_bytes() for p in sample_paths}
    template = nnlife.read_lifespan(sample_paths[0])
    fm = dict(written_table("FashionMNIST", i, template) for i in range(6))
    sv = dict(written_table("SVHN", 100 + i, template) for i in range(6))
    names = sorted(samples)
    fm_names, sv_names = sorted(fm), sorted(sv)
    inner_zip = zip_bytes(
        {f"more/{n}": fm[n] for n in fm_names[4:]} | {f"more/{sv_names[5]}": sv[sv_names[5]]}
    )
    files = [
        ServedFile(1, "README.md", b"# Test deposit\nTables of random CNNs.\n"),
        ServedFile(2, "summary.csv", b"id,dataset\n1,CIFAR100\n", ingested=True),
        ServedFile(3, names[0], samples[names[0]], directory="CIFAR100/loose"),
        ServedFile(
            4, "cifar100-models.zip", zip_bytes({f"data-CIFAR100/models/{n}": samples[n] for n in names[1:]})
        ),
        ServedFile(
            5,
            "FashionMNIST.tar",
            tar_bytes(
                {f"FashionMNIST/tables/{n}": fm[n] for n in fm_names[:4]}
                | {"FashionMNIST/extra.zip": inner_zip}
            ),
        ),
        ServedFile(
            6,
            "SVHN.tar.gz",
            tar_bytes(
                {f"SVHN/{n}": sv[n] for n in sv_names[:3]} | {"SVHN/notes/README.md": b"SVHN notes\n"}, "gz"
            ),
            directory="archives",
        ),
        ServedFile(
            7, "SVHN-more.tgz", tar_bytes({n: sv[n] for n in sv_names[3:5]}, "gz"), directory="archives/part2"
        ),
    ]
    expected = {"CIFAR100": samples, "FashionMNIST": fm, "SVHN": sv}
    return files, expected
