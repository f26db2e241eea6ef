"""Dataset: playlists held in the library's flat layout, with zero-copy NumPy views."""

from __future__ import annotations

import io
import json
import os
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

PathLike = Union[str, "os.PathLike[str]"]
Moods = List[List[int]]


class Dataset:
    """A playlist dataset: ids, mood segments and one feature vector per song.

    Stored flat, exactly as the C++ library stores it (``playaug::dataset``):

    - ``features``: float32 ``[n_songs, d]``, a writable NumPy view of the library's
      memory (no copy; it keeps the dataset alive);
    - ``offsets``: int64 ``[len(ds) + 1]``; playlist ``i`` owns rows
      ``offsets[i]:offsets[i + 1]``;
    - ``segment_offsets`` (int64 ``[len(ds) + 1]``), ``mood_offsets`` (int64
      ``[n_segments + 1]``) and ``mood_values`` (int32): the mood segments, flat;
      ``moods`` gives them per playlist as lists of lists of ints;
    - ``ids``, ``feature_names``, ``null_features`` (``True`` where the file said
      ``[null]``) and ``track_ids`` (per song, after a re-query; else empty).

    ``ds[i]`` is ``(moods, features)`` of playlist ``i``: a list of segments and a
    ``[songs, d]`` view. Build one with :func:`playaug.read_csv`,
    :meth:`Dataset.from_pandas`, or from arrays with the constructor.
    """

    __slots__ = ("_c", "_ids", "_moods", "_nulls", "_tracks")

    def __init__(
        self,
        features: Any,
        offsets: Any,
        moods: Sequence[Sequence[Sequence[int]]],
        *,
        ids: Optional[Sequence[str]] = None,
        feature_names: Optional[Sequence[str]] = None,
        null_features: Optional[Sequence[bool]] = None,
    ) -> None:
        """From arrays: ``features`` ``[n_songs, d]`` (copied, as float32), ``offsets``
        ``[P + 1]`` (0 first, n_songs last), ``moods`` one list of segments per playlist;
        ``ids`` default to ``"0", "1", ...``; ``feature_names`` default to Spotify's 11
        when d == 11, else ``f0, f1, ...``."""
        feats = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
        if feats.ndim != 2:
            raise ValueError(f"features: expected a [n_songs, d] matrix, got shape {feats.shape}")
        offs = np.ascontiguousarray(np.asarray(offsets, dtype=np.int64))
        if offs.ndim != 1:
            raise ValueError(f"offsets: expected a vector, got shape {offs.shape}")
        n_playlists = max(len(offs) - 1, 0)
        if ids is None:
            ids = [str(i) for i in range(n_playlists)]
        moods_list = [[[int(m) for m in seg] for seg in pl] for pl in moods]
        self._c = _core.Dataset.from_arrays(
            feats,
            offs,
            [str(i) for i in ids],
            moods_list,
            list(feature_names) if feature_names is not None else [],
            [bool(b) for b in null_features] if null_features is not None else [],
        )
        self._ids = None
        self._moods = None
        self._nulls = None
        self._tracks = None

    @classmethod
    def _wrap(cls, c: "_core.Dataset") -> "Dataset":
        ds = cls.__new__(cls)
        ds._c = c
        ds._ids = None
        ds._moods = None
        ds._nulls = None
        ds._tracks = None
        return ds

    # --- the flat layout ------------------------------------------------------------------
    @property
    def features(self) -> np.ndarray:
        return self._c.features

    @property
    def offsets(self) -> np.ndarray:
        return self._c.offsets

    @property
    def segment_offsets(self) -> np.ndarray:
        return self._c.segment_offsets

    @property
    def mood_offsets(self) -> np.ndarray:
        return self._c.mood_offsets

    @property
    def mood_values(self) -> np.ndarray:
        return self._c.mood_values

    @property
    def ids(self) -> List[str]:
        if self._ids is None:
            self._ids = self._c.ids
        return self._ids

    @property
    def feature_names(self) -> List[str]:
        return self._c.feature_names

    @property
    def null_features(self) -> np.ndarray:
        if self._nulls is None:
            self._nulls = np.asarray(self._c.null_features, dtype=bool)
            self._nulls.flags.writeable = False
        return self._nulls

    @property
    def track_ids(self) -> List[str]:
        if self._tracks is None:
            self._tracks = self._c.track_ids
        return self._tracks

    @property
    def moods(self) -> List[List[Moods]]:
        """Mood segments per playlist (lists of lists of ints)."""
        if self._moods is None:
            self._moods = self._c.all_moods()
        return self._moods

    @property
    def n_songs(self) -> int:
        return self._c.n_songs

    @property
    def dim(self) -> int:
        return self._c.dim

    def __len__(self) -> int:
        return len(self._c)

    def __getitem__(self, i: int) -> Tuple[Moods, np.ndarray]:
        n = len(self)
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"Dataset indices must be integers, got {type(i).__name__}")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"playlist index {i} out of range for a dataset of {n}")
        offs = self.offsets
        return self.moods[i], self.features[offs[i] : offs[i + 1]]

    def __iter__(self) -> Iterator[Tuple[Moods, np.ndarray]]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return self._c == other._c

    def __repr__(self) -> str:
        return f"playaug.Dataset({len(self)} playlists, {self.n_songs} songs x {self.dim} features)"

    # --- conversions ----------------------------------------------------------------------
    def to_csv(self, *, threads: int = 0) -> str:
        """The CSV text, byte for byte what :func:`write_csv` writes."""
        return _core.to_csv(self._c, threads)

    def to_pandas(self, *, parse: bool = False):
        """A DataFrame in the notebook's layout: what ``pd.read_csv(path, index_col=0)``
        gives for the written file (index = ids, columns ``moods_states`` and ``features``
        holding JSON text, plus ``track_ids`` when present). ``parse=True`` gives the cells
        as Python lists instead (``json.loads`` applied, ``[None]`` for ``[null]``)."""
        import pandas as pd

        df = pd.read_csv(io.StringIO(self.to_csv()), index_col=0, dtype=str, keep_default_na=False)
        df.index = pd.Index(self.ids, name=df.index.name)
        if parse:
            for col in df.columns:
                df[col] = [json.loads(v) for v in df[col]]
        return df

    @classmethod
    def from_pandas(cls, df, *, name: str = "<DataFrame>") -> "Dataset":
        """From a DataFrame in the notebook's layout: index = playlist ids, columns
        ``moods_states`` and ``features`` holding JSON text (as ``pd.read_csv`` gives) or
        Python lists (after ``json.loads``). Parsed by the same reader as files, so the
        same rules and the same error messages apply (``DataError`` naming the row)."""
        for col in ("moods_states", "features"):
            if col not in df.columns:
                raise ValueError(f"from_pandas: the DataFrame has no '{col}' column")

        def cell(v: Any) -> str:
            return v if isinstance(v, str) else json.dumps(v)

        cols = ["moods_states", "features"] + (["track_ids"] if "track_ids" in df.columns else [])
        out = io.StringIO()
        text = df[cols].map(cell) if hasattr(df, "map") else df[cols].applymap(cell)
        text.index = [str(i) for i in df.index]
        text.to_csv(out)
        return cls._wrap(_core.parse_csv(out.getvalue(), name))


def read_csv(path: PathLike, *, threads: int = 0) -> Dataset:
    """Read a playlist CSV (the notebook's format; ``"-"`` is standard input) with the C++
    reader. Bad data raises :class:`playaug.DataError` with ``FILE:LINE: ...``.

    ``threads`` is accepted for symmetry with the writing functions; parsing runs on one
    thread (about 19x pandas + ``json.loads`` per cell). The GIL is released while reading.
    """
    _check_threads(threads)
    return Dataset._wrap(_core.read_csv(os.fspath(path)))


def write_csv(path: PathLike, ds: Dataset, *, threads: int = 0) -> None:
    """Write ``ds`` atomically (a temporary file renamed into place on success): the same
    bytes as the command-line tool writes, for any ``threads`` (0: all cores)."""
    if not isinstance(ds, Dataset):
        raise TypeError(f"write_csv: expected a playaug.Dataset, got {type(ds).__name__}")
    _check_threads(threads)
    _core.write_csv(os.fspath(path), ds._c, threads)


def _check_threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise ValueError(f"threads must be an integer >= 0 (0: all cores), got {threads!r}")
    return int(threads)
