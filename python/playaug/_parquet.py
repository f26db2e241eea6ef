"""Parquet datasets: the playlist layout as Arrow columns, read and written with pyarrow.

The schema (docs/python.md, "Parquet datasets"; docs/scale-out.md):

    id            string, not null                       the playlist id
    moods_states  list<list<int32>>, not null           mood segments, each a list of mood ids
    features      list<fixed_size_list<float32, d>>     the songs; null for a ``[null]`` playlist
    track_ids     list<string>  (only after a requery)  one track id per song

and the schema metadata key ``playaug`` holds ``{"format": "playaug.playlists",
"version": 1, "dim": d, "feature_names": [...]}``. The columns are the library's flat
layout (``playaug::dataset``): the ``features`` list offsets are the song offsets, the
fixed-size lists' values are the ``[songs, d]`` float32 matrix, the two ``moods_states``
offset arrays are the segment and mood offsets. Writing hands the library's buffers to
Arrow without copying them; reading hands Arrow's float32 buffer to the library, which
copies it once into the Dataset it owns (after joining the row groups' buffers into one,
a second copy, when the file has several; ``fit_pca`` reads each row group in place).

pyarrow is imported on first use, so ``import playaug`` does not need it.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._atomic import atomic_output
from ._core import DataError
from ._dataset import Dataset

PathLike = Union[str, "os.PathLike[str]"]

FORMAT = "playaug.playlists"
VERSION = 1
_META_KEY = b"playaug"
_INT32_MAX = (1 << 31) - 1


def _pa():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("Parquet support needs pyarrow (pip install pyarrow)") from e
    return pa, pq


def is_parquet_path(path: PathLike) -> bool:
    """True for names ending in ``.parquet`` or ``.pq`` (the extensions playaug reads as Parquet)."""
    return os.fspath(path).lower().endswith((".parquet", ".pq"))


def schema(dim: int, feature_names: Optional[Sequence[str]] = None, *, track_ids: bool = False):
    """The Arrow schema playaug writes for ``dim`` features (``feature_names`` default to
    Spotify's 11 when dim == 11, else ``f0, f1, ...``, as the CSV reader names them)."""
    pa, _ = _pa()
    names = list(feature_names) if feature_names is not None else _default_names(dim)
    if len(names) != dim:
        raise ValueError(f"feature_names has {len(names)} entries, dim is {dim}")
    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("moods_states", pa.list_(pa.list_(pa.int32())), nullable=False),
        pa.field("features", pa.list_(pa.list_(pa.float32(), dim))),
    ]
    if track_ids:
        fields.append(pa.field("track_ids", pa.list_(pa.string())))
    meta = {"format": FORMAT, "version": VERSION, "dim": dim, "feature_names": names}
    return pa.schema(fields, metadata={_META_KEY: json.dumps(meta).encode()})


def _default_names(dim: int) -> List[str]:
    if dim == 0:
        return []
    from ._pca import _default_names as names

    return names(dim)


# --- Dataset -> Arrow ---------------------------------------------------------------------------

def _zero_copy(pa, a: np.ndarray, type_):
    """An Arrow array over numpy array ``a``'s memory (no copy; it keeps ``a`` alive)."""
    a = np.ascontiguousarray(a)
    return pa.Array.from_buffers(type_, len(a), [None, pa.py_buffer(a)])


def _list_array(pa, offsets: np.ndarray, values, type_, mask: Optional[np.ndarray] = None):
    offs = np.ascontiguousarray(offsets - offsets[0], dtype=np.int32)
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
        null_count = int(mask.sum())
    return pa.ListArray.from_buffers(type_, len(offs) - 1, [validity, pa.py_buffer(offs)], null_count,
                                     children=[values])


def _batch_bounds(ds: Dataset, row_group_size: int) -> Iterator[Tuple[int, int]]:
    """Playlist ranges of at most row_group_size playlists whose songs, segments and moods
    fit Arrow's int32 list offsets."""
    P = len(ds)
    song, seg, mood = ds.offsets, ds.segment_offsets, ds.mood_offsets
    start = 0
    while start < P:
        stop = min(P, start + row_group_size)
        while stop > start + 1 and (song[stop] - song[start] > _INT32_MAX or seg[stop] - seg[start] > _INT32_MAX
                                    or mood[seg[stop]] - mood[seg[start]] > _INT32_MAX):
            stop = start + max(1, (stop - start) // 2)
        yield start, stop
        start = stop
    if P == 0:
        yield 0, 0


def _table(ds: Dataset, start: int, stop: int, sch):
    pa, _ = _pa()
    d = ds.dim
    song = ds.offsets[start:stop + 1]
    seg = ds.segment_offsets[start:stop + 1]
    mood = ds.mood_offsets[seg[0]:seg[-1] + 1]
    values = _zero_copy(pa, ds.features[song[0]:song[-1]].reshape(-1), pa.float32())
    songs = pa.FixedSizeListArray.from_arrays(values, d)
    features = _list_array(pa, song, songs, sch.field("features").type, ds.null_features[start:stop])
    mood_values = _zero_copy(pa, ds.mood_values[mood[0]:mood[-1]], pa.int32())
    segments = _list_array(pa, mood, mood_values, pa.list_(pa.int32()))
    moods = _list_array(pa, seg, segments, sch.field("moods_states").type)
    ids = pa.array(ds.ids[start:stop], pa.string())
    cols = [ids, moods, features]
    if "track_ids" in sch.names:
        tracks = pa.array(ds.track_ids[song[0]:song[-1]], pa.string())
        cols.append(_list_array(pa, song, tracks, sch.field("track_ids").type))
    return pa.Table.from_arrays(cols, schema=sch)


def to_arrow(ds: Dataset):
    """``ds`` as a ``pyarrow.Table`` in the documented schema (one chunk per 65,536
    playlists); the feature and mood buffers are the Dataset's own memory, not copies."""
    if not isinstance(ds, Dataset):
        raise TypeError(f"to_arrow: expected a playaug.Dataset, got {type(ds).__name__}")
    pa, _ = _pa()
    sch = schema(ds.dim, ds.feature_names if ds.dim else [], track_ids=bool(ds.track_ids))
    return pa.concat_tables([_table(ds, a, b, sch) for a, b in _batch_bounds(ds, 1 << 16)])


def write_parquet(path: PathLike, ds: Dataset, *, row_group_size: int = 1 << 16, compression: str = "zstd") -> None:
    """Write ``ds`` as Parquet in the documented schema, atomically (a temporary file
    beside ``path``, fsynced and renamed into place; removed on failure). Row groups hold
    at most ``row_group_size`` playlists."""
    if not isinstance(ds, Dataset):
        raise TypeError(f"write_parquet: expected a playaug.Dataset, got {type(ds).__name__}")
    if isinstance(row_group_size, bool) or not isinstance(row_group_size, (int, np.integer)) or row_group_size < 1:
        raise ValueError(f"row_group_size must be an integer >= 1, got {row_group_size!r}")
    _, pq = _pa()
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory")
    sch = schema(ds.dim, ds.feature_names if ds.dim else [], track_ids=bool(ds.track_ids))
    with atomic_output(path) as f:
        # Dictionary encoding never pays on float features and unique ids.
        with pq.ParquetWriter(f, sch, compression=compression, use_dictionary=False) as w:
            for a, b in _batch_bounds(ds, int(row_group_size)):
                w.write_table(_table(ds, a, b, sch), row_group_size=max(1, b - a))


# --- Arrow -> Dataset ---------------------------------------------------------------------------

class _Rows:
    """Names rows in errors: FILE:ROW (1-based, over the whole file) and the playlist id."""

    def __init__(self, name: str, first_row: int, ids) -> None:
        self.name, self.first_row, self.ids = name, first_row, ids

    def error(self, i: int, what: str) -> DataError:
        pid = self.ids[i].as_py() if self.ids is not None and 0 <= i < len(self.ids) else None
        who = f" (playlist {_short(pid)})" if pid is not None else ""
        return DataError(f"{self.name}:{self.first_row + i + 1}: {what}{who}")


def _short(s: str) -> str:
    return repr(s if len(s) <= 64 else s[:64] + f"... ({len(s.encode())} bytes)")


def _single(pa, col):
    """One Array from a ChunkedArray (a copy only when there are several chunks)."""
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _list_parts(pa, arr, rows: _Rows, what: str, *, nullable: bool):
    """(offsets int64 [n + 1] from 0, child values sliced to them, null mask) of a list array."""
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)):
        raise rows.error(0, f"{what}: expected a list column, found {arr.type}") if len(arr) else \
            DataError(f"{rows.name}: {what}: expected a list column, found {arr.type}")
    offs = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    mask = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool) if arr.null_count else None
    if mask is not None:
        if not nullable:
            raise rows.error(int(np.argmax(mask)), f"{what}: null where a list belongs")
        spans = (offs[1:] != offs[:-1]) & mask
        if spans.any():
            raise rows.error(int(np.argmax(spans)), f"{what}: a null list that spans values")
    values = arr.values.slice(int(offs[0]), int(offs[-1] - offs[0]))
    return offs - offs[0], values, mask


def _row_of(offsets: np.ndarray, item: int) -> int:
    return int(np.searchsorted(offsets, item, side="right") - 1)


def _features(pa, arr, rows: _Rows, dim_hint: Optional[int]):
    """(song offsets, float32 [songs, d] matrix, null mask); the matrix is a view of Arrow's
    buffer when the column is fixed_size_list<float32> without nulls."""
    offs, songs, mask = _list_parts(pa, arr, rows, "features", nullable=True)
    t = songs.type
    if pa.types.is_fixed_size_list(t):
        d = t.list_size
        if songs.null_count:
            bad = int(np.argmax(songs.is_null().to_numpy(zero_copy_only=False)))
            raise rows.error(_row_of(offs, bad), f"features: song {bad - offs[_row_of(offs, bad)]} is null")
        flat = songs.flatten()
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        lens = np.diff(np.asarray(songs.offsets.to_numpy(zero_copy_only=False), dtype=np.int64))
        d = dim_hint if dim_hint is not None else (int(lens[0]) if len(lens) else 0)
        wrong = np.flatnonzero(lens != d)
        if songs.null_count or len(wrong):
            bad = int(np.argmax(songs.is_null().to_numpy(zero_copy_only=False))) if songs.null_count else int(wrong[0])
            r = _row_of(offs, bad)
            raise rows.error(r, f"features: song {bad - offs[r]} has {lens[bad] if not songs.null_count else 'no'} "
                                f"values, expected {d}")
        flat = songs.flatten()
    else:
        raise DataError(f"{rows.name}: features: expected lists of songs, found {arr.type}")
    if not (pa.types.is_floating(flat.type) or pa.types.is_integer(flat.type)):
        raise DataError(f"{rows.name}: features: expected numbers, found {flat.type}")
    if flat.null_count:
        bad = int(np.argmax(flat.is_null().to_numpy(zero_copy_only=False))) // max(d, 1)
        r = _row_of(offs, bad)
        raise rows.error(r, f"features: song {bad - offs[r]} holds a null value")
    if pa.types.is_float32(flat.type):
        x = flat.to_numpy(zero_copy_only=True)
    else:
        x64 = flat.to_numpy(zero_copy_only=False).astype(np.float64)
        x = x64.astype(np.float32)
        big = np.isfinite(x64) & ~np.isfinite(x)
        if big.any():
            bad = int(np.argmax(big)) // d
            r = _row_of(offs, bad)
            raise rows.error(r, f"features: song {bad - offs[r]} holds {x64[np.argmax(big)]!r}, beyond float32's range")
    x = x.reshape(-1, d) if d else np.zeros((0, 0), np.float32)
    finite = np.isfinite(x).all(axis=1) if d else np.ones(0, bool)
    if not finite.all():
        bad = int(np.argmin(finite))
        r = _row_of(offs, bad)
        raise rows.error(r, f"features: song {bad - offs[r]} holds a value that is not finite (NaN or infinity)")
    return offs, x, mask


def _metadata_names(sch, dim: int) -> Optional[List[str]]:
    meta = (sch.metadata or {}).get(_META_KEY)
    if not meta:
        return None
    try:
        info = json.loads(meta)
        names = [str(n) for n in info.get("feature_names", [])]
    except (ValueError, TypeError, AttributeError):
        return None
    return names if len(names) == dim and dim > 0 else None


def _metadata_dim(sch) -> Optional[int]:
    meta = (sch.metadata or {}).get(_META_KEY)
    try:
        d = json.loads(meta).get("dim") if meta else None
    except (ValueError, TypeError, AttributeError):
        return None
    return int(d) if isinstance(d, int) and d >= 0 else None


def from_arrow(table, *, name: str = "<Table>", first_row: int = 0) -> Dataset:
    """A Dataset from a ``pyarrow.Table`` in the documented schema (``features`` may also be
    ``list<list<float>>`` of any float or integer type; other columns are ignored). Bad
    data raises :class:`playaug.DataError` naming ``name`` and the row
    (``first_row`` + 1-based index)."""
    pa, _ = _pa()
    for col in ("id", "moods_states", "features"):
        if col not in table.column_names:
            raise DataError(f"{name}: no '{col}' column (columns: {', '.join(table.column_names)})")
    ids = _single(pa, table.column("id"))
    rows = _Rows(name, first_row, ids)
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise DataError(f"{name}: id: expected a string column, found {ids.type}")
    if ids.null_count:
        raise rows.error(int(np.argmax(ids.is_null().to_numpy(zero_copy_only=False))), "id: null")
    n = len(ids)

    seg_offs, segments, _ = _list_parts(pa, _single(pa, table.column("moods_states")), rows, "moods_states",
                                        nullable=False)
    mood_offs, mood_vals, _ = _list_parts(pa, segments, rows, "moods_states", nullable=False) if len(segments) else \
        (np.zeros(1, np.int64), pa.array([], pa.int32()), None)
    if not pa.types.is_integer(mood_vals.type):
        raise DataError(f"{name}: moods_states: expected integer mood ids, found {mood_vals.type}")
    if mood_vals.null_count:
        bad = int(np.argmax(mood_vals.is_null().to_numpy(zero_copy_only=False)))
        raise rows.error(_row_of(seg_offs, _row_of(mood_offs, bad)), "moods_states: a null mood id")
    mv = mood_vals.to_numpy(zero_copy_only=False)
    if mv.dtype != np.int32:
        out_of_range = (mv < -(1 << 31)) | (mv > _INT32_MAX)
        if out_of_range.any():
            bad = int(np.argmax(out_of_range))
            raise rows.error(_row_of(seg_offs, _row_of(mood_offs, bad)),
                             f"moods_states: mood id {int(mv[bad])} is outside int32's range")
        mv = mv.astype(np.int32)

    sch = table.schema
    song_offs, x, null_mask = _features(pa, _single(pa, table.column("features")), rows, _metadata_dim(sch))
    d = x.shape[1]
    names = _metadata_names(sch, d) or []
    nulls = null_mask.astype(np.uint8) if null_mask is not None else np.zeros(n, np.uint8)

    track_ids: List[str] = []
    if "track_ids" in table.column_names:
        tcol = _single(pa, table.column("track_ids"))
        if tcol.null_count < len(tcol):
            toffs, tvals, tmask = _list_parts(pa, tcol, rows, "track_ids", nullable=True)
            counts, songs = np.diff(toffs), np.diff(song_offs)
            if tmask is not None:
                counts = np.where(tmask, 0, counts)
            wrong = np.flatnonzero(counts != songs)
            if len(wrong):
                r = int(wrong[0])
                raise rows.error(r, f"track_ids: {counts[r]} track ids for {songs[r]} songs")
            if tvals.null_count:
                raise rows.error(_row_of(toffs, int(np.argmax(tvals.is_null().to_numpy(zero_copy_only=False)))),
                                 "track_ids: a null track id")
            track_ids = tvals.to_pylist()
    return Dataset._wrap(_core.Dataset.from_flat(
        np.ascontiguousarray(x), song_offs, seg_offs, mood_offs, np.ascontiguousarray(mv), ids.to_pylist(), names,
        nulls, track_ids))


def _open(path: str):
    _, pq = _pa()
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory")
    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataError(f"{path}: not a readable Parquet file ({e})") from None


def row_group_rows(path: PathLike) -> List[int]:
    """The number of playlists in each row group of a Parquet file (from its footer)."""
    pf = _open(os.fspath(path))
    return [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]


def read_parquet(path: PathLike, *, row_groups: Optional[Sequence[int]] = None) -> Dataset:
    """Read a Parquet dataset in the documented schema (all row groups, or those listed).
    Bad data raises :class:`playaug.DataError` naming the file and the row (1 = the first
    playlist of the file)."""
    path = os.fspath(path)
    pf = _open(path)
    if row_groups is None:
        rgs = list(range(pf.num_row_groups))
    else:
        rgs = [int(i) for i in row_groups]
        for i in rgs:
            if not 0 <= i < pf.num_row_groups:
                raise ValueError(f"{path}: row group {i} out of range (the file has {pf.num_row_groups})")
    first = sum(pf.metadata.row_group(i).num_rows for i in range(rgs[0])) if rgs else 0
    if rgs and rgs != list(range(rgs[0], rgs[-1] + 1)):
        raise ValueError("row_groups must be consecutive (the rows of an error message count from the first)")
    table = pf.read_row_groups(rgs) if rgs else pf.schema_arrow.empty_table()
    return from_arrow(table, name=path, first_row=first)


def parquet_features(path: PathLike, row_groups: Optional[Sequence[int]] = None) -> Iterator[np.ndarray]:
    """The float32 ``[songs, d]`` features of a Parquet dataset, one array per row group,
    each a view of Arrow's buffer (no copy) when the column is fixed_size_list<float32>."""
    pa, _ = _pa()
    path = os.fspath(path)
    pf = _open(path)
    rgs = list(range(pf.num_row_groups)) if row_groups is None else [int(i) for i in row_groups]
    dim_hint = _metadata_dim(pf.schema_arrow)
    first = sum(pf.metadata.row_group(i).num_rows for i in range(rgs[0])) if rgs else 0
    for i in rgs:
        table = pf.read_row_group(i, columns=["features", "id"] if "id" in pf.schema_arrow.names else ["features"])
        ids = _single(pa, table.column("id")) if "id" in table.column_names else None
        rows = _Rows(path, first, ids)
        first += table.num_rows
        for chunk in table.column("features").chunks:
            yield _features(pa, chunk, rows, dim_hint)[1]


def feature_names(path: PathLike) -> Optional[List[str]]:
    """The feature names stored in a Parquet dataset's metadata (None when absent)."""
    pf = _open(os.fspath(path))
    d = _metadata_dim(pf.schema_arrow)
    return _metadata_names(pf.schema_arrow, d) if d else None


# --- conversion ----------------------------------------------------------------------------------

def convert(src: PathLike, dst: PathLike, *, row_group_size: int = 1 << 16) -> Dataset:
    """Convert between the CSV and Parquet layouts, by the names' extensions (``.parquet``
    or ``.pq`` is Parquet, anything else CSV): CSV -> Parquet -> CSV gives back the bytes
    that ``playaug`` writes. The output is written atomically. Returns the dataset."""
    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.exists(dst) and os.path.exists(src) and os.path.samefile(src, dst):
        raise ValueError(f"{dst}: the output is the input")
    ds = read_parquet(src) if is_parquet_path(src) else Dataset._wrap(_core.read_csv(src))
    if is_parquet_path(dst):
        write_parquet(dst, ds, row_group_size=row_group_size)
    else:
        _core.write_csv(dst, ds._c, 0)
    return ds
