"""Readers for the official dataset files, written against the file formats.

Pure format code: bytes in, numpy arrays out; no torch, no PIL, no file search, no checksums
(``nnlife.generate.data`` finds the files, checks their MD5 sums and only then hands the bytes here). Each
reader takes the file's *content* rather than its path, so the bytes that were checksummed are
exactly the bytes that are parsed.

Formats
- IDX (Fashion-MNIST): LeCun's format, http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE
  MNIST DATABASE"): two zero bytes, a type code, the number of dimensions, then each dimension as
  a big-endian uint32, then the values in C order, big-endian.
- CIFAR-100 python version: https://www.cs.toronto.edu/~kriz/cifar.html: a pickled dict with
  ``data`` (N x 3072 uint8: the 1024 red values of a 32x32 image in row-major order, then green,
  then blue), ``fine_labels`` and ``coarse_labels`` (lists of ints). The official files were
  pickled by Python 2 (str keys); copies pickled by Python 3 have bytes keys. Both are accepted.
- SVHN cropped digits: http://ufldl.stanford.edu/housenumbers/ (format 2): a MATLAB v5 file with
  ``X`` of shape 32 x 32 x 3 x N (height, width, channel, image) and ``y`` of shape N x 1, where
  label 10 stands for the digit 0.

Every reader raises ``DatasetFormatError`` (a ``ValueError``) naming the file when its content does
not follow the format.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib

import numpy as np

from ..errors import DatasetFormatError

__all__ = [
    "DatasetFormatError",
    "decompress",
    "parse_idx",
    "parse_cifar_pickle",
    "parse_svhn_mat",
]


_GZIP_MAGIC = b"\x1f\x8b"

# IDX type codes -> big-endian numpy dtypes (LeCun's format description, "the third byte codes
# the type of the data").
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def decompress(content: bytes, source: str = "<bytes>") -> bytes:
    """Return ``content`` gunzipped if it starts with the gzip magic bytes, else unchanged.

    The test is on the content, not the file name, so an IDX file works whether or not it is
    compressed and whatever it is called. Raises ``DatasetFormatError`` naming ``source`` when
    the gzip stream is damaged or cut short.
    """
    if content[:2] != _GZIP_MAGIC:
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetFormatError(f"{source}: not a valid gzip file ({exc}); fetch it again") from exc


def parse_idx(content: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse an (uncompressed) IDX file.

    Returns a new, writable array in native byte order with the file's shape, e.g.
    ``(60000, 28, 28)`` uint8 for ``train-images-idx3-ubyte`` and ``(60000,)`` uint8 for
    ``train-labels-idx1-ubyte``. Raises ``DatasetFormatError`` naming ``source`` for a bad magic
    number, an unknown type code or a size that does not match the header.
    """
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise DatasetFormatError(f"{source}: not an IDX file (it must start with two zero bytes)")
    type_code, ndim = content[2], content[3]
    if type_code not in _IDX_TYPES:
        raise DatasetFormatError(f"{source}: unknown IDX type code 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(content) < header:
        raise DatasetFormatError(f"{source}: IDX header cut short ({ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[type_code]
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(content) != expected:
        raise DatasetFormatError(
            f"{source}: IDX header says shape {shape} ({expected} bytes in all) but the file has "
            f"{len(content)} bytes; the file is cut short or damaged, fetch it again"
        )
    values = np.frombuffer(content, dtype=dtype, offset=header).reshape(shape)
    # astype copies: the result owns its memory, is writable and in native byte order.
    return values.astype(dtype.newbyteorder("="), copy=True)


try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers and numpy arrays.

    Defence in depth: nnlife unpickles only files whose MD5 matched the official one or that the
    caller trusted explicitly, and on top of that refuses every global a CIFAR pickle does not
    need, so a tampered file cannot run code through ``find_class``.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),  # written by numpy < 2 (the official files)
        ("numpy._core.multiarray", "_reconstruct"),  # written by numpy >= 2
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # protocol-2 pickles of bytes written by Python 3
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR file")
        if name == "_reconstruct":
            # numpy 2 moved numpy.core to numpy._core and warns on the old name; either name
            # means the same function.
            return _reconstruct
        return super().find_class(module, name)


def parse_cifar_pickle(content: bytes, source: str = "<bytes>") -> dict[str, np.ndarray]:
    """Parse a CIFAR-100 python-version file (``train`` or ``test``).

    Only call this on content whose MD5 was checked or that the caller trusts: it unpickles
    (through an unpickler that allows numpy arrays only).

    Returns a dict with
    - ``x``: uint8 array, N x 3 x 32 x 32 (channel order R, G, B; rows top to bottom),
    - ``fine_labels``: int64 array, N, values 0..99,
    - ``coarse_labels``: int64 array, N, values 0..19.
    Keys in the file may be str (official, Python 2) or bytes (Python 3 copies).
    Raises ``DatasetFormatError`` naming ``source`` when the content is not such a file.
    """
    try:
        raw = _NumpyOnlyUnpickler(io.BytesIO(content), encoding="latin1").load()
    except Exception as exc:  # any unpickling failure means the same thing here
        raise DatasetFormatError(f"{source}: not a CIFAR python pickle ({exc})") from exc
    if not isinstance(raw, dict):
        raise DatasetFormatError(f"{source}: a CIFAR pickle holds a dict, found {type(raw).__name__}")
    entries = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in raw.items()}
    missing = [k for k in ("data", "fine_labels", "coarse_labels") if k not in entries]
    if missing:
        raise DatasetFormatError(f"{source}: CIFAR-100 pickle lacks the key(s) {missing}")
    data = np.asarray(entries["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetFormatError(f"{source}: 'data' must be N x 3072 uint8, found {data.shape} {data.dtype}")
    n = data.shape[0]
    fine = np.asarray(entries["fine_labels"], dtype=np.int64)
    coarse = np.asarray(entries["coarse_labels"], dtype=np.int64)
    if fine.shape != (n,) or coarse.shape != (n,):
        raise DatasetFormatError(f"{source}: {n} images but {fine.shape} fine / {coarse.shape} coarse labels")
    if n and (fine.min() < 0 or fine.max() > 99 or coarse.min() < 0 or coarse.max() > 19):
        raise DatasetFormatError(f"{source}: labels out of range (fine 0..99, coarse 0..19)")
    # Each row is the R plane, then G, then B, each 32x32 row-major: a plain reshape gives NCHW.
    x = np.ascontiguousarray(data.reshape(n, 3, 32, 32))
    return {"x": x, "fine_labels": fine, "coarse_labels": coarse}


def parse_svhn_mat(content: bytes, source: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Parse an SVHN cropped-digits file (``train_32x32.mat``, ``test_32x32.mat``).

    Returns ``(x, y)``: x uint8, N x 3 x 32 x 32 (R, G, B); y int64, N, digits 0..9 (the file's
    label 10 is the digit 0). Raises ``DatasetFormatError`` naming ``source`` when the content is
    not such a file.
    """
    import scipy.io  # imported here: only SVHN needs scipy

    try:
        mat = scipy.io.loadmat(io.BytesIO(content), variable_names=("X", "y"))
    except Exception as exc:  # scipy raises several types for a bad file
        raise DatasetFormatError(f"{source}: not a MATLAB .mat file ({exc})") from exc
    if "X" not in mat or "y" not in mat:
        raise DatasetFormatError(f"{source}: an SVHN .mat file holds 'X' and 'y'")
    X, y = mat["X"], mat["y"]
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape[:3] != (32, 32, 3):
        raise DatasetFormatError(f"{source}: 'X' must be 32 x 32 x 3 x N uint8, found {X.shape} {X.dtype}")
    n = X.shape[3]
    y = np.asarray(y).reshape(-1).astype(np.int64)
    if y.shape != (n,):
        raise DatasetFormatError(f"{source}: {n} images but {y.size} labels")
    if n and (y.min() < 1 or y.max() > 10):
        raise DatasetFormatError(f"{source}: SVHN labels must be 1..10 (10 is the digit 0)")
    y[y == 10] = 0
    # (H, W, C, N) -> (N, C, H, W), as torchvision's SVHN does with np.transpose(X, (3, 2, 0, 1)).
    x = np.ascontiguousarray(X.transpose(3, 2, 0, 1))
    return x, y
