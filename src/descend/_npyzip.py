"""NumPy ``.npy`` arrays, alone or inside a zip archive (an ``.npz`` data
file, a descend model file), read without pickle and with memory bounded by
the bytes actually stored.

``numpy.load`` trusts an array's header: it allocates ``prod(shape) *
itemsize`` bytes before reading any data, so a 100-byte file whose header
claims a (10**6, 10**6) array asks for 8 TB, and an ``.npz`` member can be
a zip bomb. Here the header is parsed first (by ``numpy.lib.format``, which
reads it with ``ast.literal_eval``: no code runs), the size it implies must
equal the bytes stored, and only then is memory allocated, once. Arrays of
Python objects (which would need pickle) and dtypes outside an allow-list
are refused. A zip archive's members may together expand to at most
:data:`MAX_EXPANSION` times the archive's size (or :data:`MIN_EXPANDED`
bytes, for small files), checked from its directory before any member is
read; zipfile then stops each member at its declared size and checks its
CRC-32.

Every problem raises ``ValueError`` whose message starts with ``where`` (the
file, and the member).
"""
from __future__ import annotations

import lzma
import math
import tokenize
import warnings
import zipfile
import zlib

import numpy as np

#: A compressed file or archive may expand to this many times its size ...
MAX_EXPANSION = 100
#: ... or to this many bytes, whichever is larger.
MIN_EXPANDED = 16 * 2**20

#: dtype kinds that may be read: bool, integers, floats, text, bytes.
KINDS = "biufUS"
_KIND_NAMES = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "float",
               "U": "text", "S": "bytes"}
_MAX_HEADER = 10000
_MAX_NDIM = 32

#: What opening or reading a damaged zip archive can raise.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
              NotImplementedError, RuntimeError, zlib.error, lzma.LZMAError, KeyError,
              OverflowError)


def expansion_limit(stored_bytes):
    """The most bytes ``stored_bytes`` of compressed data may expand to."""
    return max(MIN_EXPANDED, MAX_EXPANSION * stored_bytes)


def check_expansion(infos, archive_bytes, where):
    """Refuse an archive whose members (``ZipInfo``) claim more than
    :func:`expansion_limit` of its size, before anything is decompressed."""
    claimed = sum(info.file_size for info in infos)
    limit = expansion_limit(archive_bytes)
    if claimed > limit:
        raise ValueError(
            f"{where}: its members claim {claimed:,} bytes uncompressed, more than "
            f"{MAX_EXPANSION} times the file's {archive_bytes:,} bytes (at most {limit:,}); "
            f"a zip bomb or a damaged file")


def read_npy(stream, nbytes, where, kinds=KINDS):
    """The array stored in the ``nbytes`` bytes of ``stream`` (a .npy
    file's content: magic, header, data)."""
    fmt = np.lib.format
    try:
        # numpy warns about Python 2 headers ('0L'), Python about escapes in them
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            version = fmt.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(stream, _MAX_HEADER)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(stream, _MAX_HEADER)
            else:
                raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
        header_bytes = stream.tell()
    except (ValueError, TypeError, SyntaxError, OverflowError, RecursionError,
            MemoryError, EOFError, tokenize.TokenError) as exc:  # numpy tokenizes the header
        raise ValueError(f"{where}: not a readable .npy array: "
                         f"{' '.join(str(exc).split())[:200]}") from None
    _check_dtype(dtype, where, kinds)
    if len(shape) > _MAX_NDIM or any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"{where}: invalid array shape {shape!r:.100}")
    data_bytes = math.prod(shape) * dtype.itemsize
    if header_bytes + data_bytes != nbytes:
        raise ValueError(
            f"{where}: the header claims shape {shape} of {dtype} ({data_bytes:,} bytes) "
            f"but {max(0, nbytes - header_bytes):,} bytes of data are stored; the file is "
            f"damaged or crafted")
    buffer = bytearray(data_bytes)
    view = memoryview(buffer)
    filled = 0
    while filled < data_bytes:
        n = stream.readinto(view[filled:])
        if not n:
            raise ValueError(f"{where}: truncated: {filled:,} of {data_bytes:,} data bytes")
        filled += n
    if stream.read(1):  # also makes zipfile check the member's CRC-32
        raise ValueError(f"{where}: data after the array")
    array = np.frombuffer(buffer, dtype=dtype) if data_bytes else np.empty(0, dtype=dtype)
    array = array.reshape(shape, order="F" if fortran else "C")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _check_dtype(dtype, where, kinds):
    if dtype.hasobject:
        raise ValueError(
            f"{where}: holds Python objects (dtype {dtype}), which only pickle can "
            f"read; descend does not unpickle: store numbers or text")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in kinds:
        allowed = ", ".join(_KIND_NAMES[k] for k in kinds)
        raise ValueError(f"{where}: unsupported dtype {dtype} (allowed: {allowed})")
    if dtype.itemsize == 0:
        raise ValueError(f"{where}: zero-size items (dtype {dtype})")


def read_member(archive, info, where, kinds=KINDS):
    """The .npy array of the zip member ``info`` of ``archive``."""
    try:
        with archive.open(info) as stream:
            return read_npy(stream, info.file_size, where, kinds)
    except ValueError:
        raise
    except ZIP_ERRORS as exc:  # a bad CRC-32, a damaged deflate stream, ...
        raise ValueError(f"{where}: damaged: {' '.join(str(exc).split())[:200]}") from None
