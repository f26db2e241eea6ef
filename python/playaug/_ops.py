"""Dataset-level operations (augment, requery, synth) and array-level ones (protuberance,
reverse) that take NumPy, PyTorch and CuPy arrays without copying."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _arrays, _core
from ._dataset import Dataset, _check_threads
from ._pca import _check_device

_U64 = (1 << 64) - 1


def cuda_available() -> bool:
    """True when this build has the CUDA engine and the machine a usable GPU."""
    return _core.cuda_built() and _core.cuda_device_count() > 0


def _seed(seed: int, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= _U64:
        raise ValueError(f"{name} must be an integer in [0, 2^64 - 1], got {seed!r}")
    return int(seed)


def _prob(v: float, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in [0, 1], got {v!r}") from None
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {v!r}")
    return f


def _magnitude(v: float, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in [0, 1), got {v!r}") from None
    if not 0.0 <= f < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {v!r}")
    return f


def _count(v: int, name: str, lo: int = 0, hi: int = (1 << 32) - 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    return int(v)


def _dataset(ds: Any, fn: str) -> Dataset:
    if not isinstance(ds, Dataset):
        raise TypeError(f"{fn}: expected a playaug.Dataset, got {type(ds).__name__}")
    return ds


# --- datasets ------------------------------------------------------------------------------

def augment(ds: Dataset, *, copies: int = 1, phi: float = 0.5, reverse: float = 0.5,
            protuberance: float = 0.15, seed: int = 0, raw: bool = False, keep_original: bool = True,
            first_playlist: int = 0, device: str = "auto", threads: int = 0) -> Dataset:
    """Reversal and random protuberance, as ``playaug augment``: for each playlist the
    original (unless ``keep_original=False``) and ``copies`` copies ``<id>#aug1`` ...
    Each copy is reversed with probability ``reverse``, then each feature component is
    changed with probability ``phi`` to ``x * (1 + u)``, ``u`` uniform in
    ``(-protuberance, protuberance]`` (key and mode kept, unit-interval features clamped to
    [0, 1] unless ``raw``). The result depends only on the data and the parameters (not on
    ``threads`` or ``device``), and written with :func:`write_csv` it is byte-identical to
    the command-line tool's output for the same options.

    ``first_playlist`` is the row of ``ds``'s first playlist in the whole input (the key of
    its random streams, docs/random-streams.md): augmenting the pieces of a dataset with
    their first rows gives, concatenated, exactly the augmentation of the whole."""
    _dataset(ds, "augment")
    _check_device(device)
    _check_threads(threads)
    c = _core.augment(ds._c, _count(copies, "copies"), _prob(phi, "phi"), _prob(reverse, "reverse"),
                      _magnitude(protuberance, "protuberance"), _seed(seed), bool(raw), bool(keep_original),
                      _count(first_playlist, "first_playlist", 0, _U64), device, threads)
    return Dataset._wrap(c)


def requery(ds: Dataset, *, catalog: Union[str, os.PathLike, "TrackCatalog"], genres: Sequence[str] = (),
            protuberance: float = 0.15, seed: int = 0, allow_repeats: bool = False, each_genre: bool = False,
            progress: Optional[Callable[[int, int], None]] = None, first_playlist: int = 0,
            device: str = "auto", threads: int = 0) -> Dataset:
    """Replace every song by its nearest track of an offline catalog, as ``playaug requery
    --catalog``: rows ``<id>#rq`` with a ``track_ids`` column. ``catalog`` is a path (read
    each call) or a :class:`TrackCatalog` from :func:`read_catalog` (read once, reused).
    With ``each_genre=True``, as ``--each-genre``: for every playlist one copy
    ``<id>#rq-<genre>`` per genre (``genres`` in that order, or every genre of the catalog
    in byte order), each drawing only on its genre's tracks; a copy a genre cannot fill
    without repeats is left out.
    ``progress(songs, retries)`` is called with increments as songs finish; it may be
    called from worker threads (with the GIL held) and must not call back into playaug.
    ``first_playlist``: the row of ``ds``'s first playlist in the whole input, as for
    :func:`augment`."""
    _dataset(ds, "requery")
    _check_device(device)
    _check_threads(threads)
    cat = catalog if isinstance(catalog, TrackCatalog) else read_catalog(catalog)
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable as progress(songs, retries)")
    if isinstance(genres, str):
        raise TypeError("genres must be a sequence of genre names, not a string")
    run = _core.requery_each_genre if each_genre else _core.requery
    c = run(ds._c, cat._c, [str(g) for g in genres], _magnitude(protuberance, "protuberance"),
            _seed(seed), bool(allow_repeats), progress, _count(first_playlist, "first_playlist", 0, _U64),
            device, threads)
    return Dataset._wrap(c)


class TrackCatalog:
    """An offline track catalog (``track_id``/``id``, the 11 features by name, optional
    genre), read once by :func:`read_catalog` and reusable across :func:`requery` calls."""

    __slots__ = ("_c",)

    def __init__(self, c: "_core.TrackCatalog") -> None:
        self._c = c

    def __len__(self) -> int:
        return len(self._c)

    @property
    def ids(self):
        return self._c.ids

    @property
    def genres(self):
        return self._c.genres

    @property
    def features(self) -> np.ndarray:
        return self._c.features

    def __repr__(self) -> str:
        return f"playaug.TrackCatalog({len(self)} tracks from {self._c.name!r})"


def read_catalog(path: Union[str, os.PathLike]) -> TrackCatalog:
    return TrackCatalog(_core.read_catalog(os.fspath(path)))


def synth(playlists: int, *, min_songs: int = 4, max_songs: int = 20, seed: int = 0,
          empty_fraction: float = 0.0, threads: int = 0, model: Optional[Union[str, os.PathLike]] = None,
          device: str = "auto") -> Dataset:
    """Synthetic playlists, as ``playaug synth`` (the same playlists for the same seed,
    whatever ``threads``): ids ``syn000001``..., 2-3 mood segments each, Spotify's 11
    features following the moods.

    With ``model`` (a SYNTH.json path, or its text as ``fit_synth`` returns it), as
    ``playaug synth --model``: playlists sampled from the learned model on ``device``
    (the same bytes on the CPU and a GPU); ``min_songs``, ``max_songs`` and
    ``empty_fraction`` are rule-based only."""
    _check_threads(threads)
    if model is not None:
        if (min_songs, max_songs, empty_fraction) != (4, 20, 0.0):
            raise ValueError("synth: min_songs, max_songs and empty_fraction apply to rule-based generation only")
        _check_device(device)
        if isinstance(model, str) and model.lstrip().startswith("{"):
            text, source = model, "<model>"
        else:
            source = os.fspath(model)
            with open(source, encoding="utf-8") as f:
                text = f.read()
        return Dataset._wrap(_core.synth_model(text, source, _count(playlists, "playlists", 0, (1 << 32) - 1),
                                               _seed(seed), device, threads))
    return Dataset._wrap(_core.synth(_count(playlists, "playlists", 0, (1 << 32) - 1), _count(min_songs, "min_songs", 1),
                                     _count(max_songs, "max_songs", 1), _seed(seed),
                                     _prob(empty_fraction, "empty_fraction"), threads))


def fit_synth(files: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
              output: Optional[Union[str, os.PathLike]] = None, *, clusters: int = 60, types: int = 40,
              seed: int = 0, threads: int = 0) -> str:
    """A learned synthetic-data model of the playlists in ``files``, as ``playaug fit-synth``
    (docs/synth.md): SYNTH.json's text, also written to ``output`` when given. Sample from
    it with ``synth(n, model=...)``."""
    _check_threads(threads)
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    paths = [os.fspath(f) for f in files]
    if not paths:
        raise ValueError("fit_synth: no files")
    text = _core.fit_synth(paths, _count(clusters, "clusters", 1, 4096), _count(types, "types", 1, 4096),
                           _seed(seed), threads)
    if output is not None:
        with open(os.fspath(output), "w", encoding="utf-8") as f:
            f.write(text)
    return text


# --- arrays ------------------------------------------------------------------------------------

def _offsets_for(x: Any, offsets: Any, name: str = "offsets") -> Any:
    if offsets is None:
        return _arrays.asarray_like(np.array([0, x.shape[0]], dtype=np.int64), x)
    if isinstance(offsets, (list, tuple)) or (isinstance(offsets, np.ndarray) and not _arrays.is_cuda(x)
                                              and offsets.dtype != np.int64):
        offsets = np.asarray(offsets, dtype=np.int64)
        if _arrays.is_cuda(x):
            offsets = _arrays.asarray_like(offsets, x)
    _arrays.check_vector(offsets, name, "int64")
    if not _arrays.same_device(x, offsets):
        raise ValueError(f"{name} must be on the same device as the features")
    return offsets


def protuberance(x: Any, offsets: Any = None, *, p: float = 0.15, phi: float = 0.5, seed: int = 0,
                 copy: int = 1, first_playlist: int = 0, raw: bool = False,
                 feature_names: Optional[Sequence[str]] = None, out: Any = None, stream: Any = None,
                 threads: int = 0) -> Any:
    """Random protuberance of ``x`` (float32 ``[songs, d]``; NumPy, torch CPU/CUDA, CuPy):
    each component chosen with probability ``phi`` becomes ``x * (1 + u)``, ``u`` uniform in
    ``(-p, p]``, drawn from the counter-based stream of (seed, copy, playlist, song,
    feature), so CPU and GPU give identical bits and any batching gives the same values.

    ``offsets`` (int64 ``[P + 1]``, same device) splits the rows into playlists
    ``first_playlist``, ``first_playlist + 1``, ...; ``None`` is one playlist. With
    ``feature_names`` (default: Spotify's 11 when d == 11) key and mode are kept and
    unit-interval features clamped, unless ``raw``.

    Returns a new array of x's kind on x's device, or writes into ``out`` (which may be
    ``x`` itself, for in place) and returns it. CUDA arrays are processed on ``stream``
    (default: torch's or CuPy's current stream); the call returns without synchronising.
    """
    _arrays.check_matrix(x, "x")
    offsets = _offsets_for(x, offsets)
    if out is None:
        out = _arrays.copy_of(x)
    elif out is not x:
        _arrays.check_matrix(out, "out")
        if tuple(out.shape) != tuple(x.shape) or not _arrays.same_device(x, out):
            raise ValueError(f"out must have x's shape {tuple(x.shape)} and device")
        _copy_into(out, x)
    s = _arrays.current_stream(out, stream)
    _core.protuberance(_arrays.for_core(out, s), _arrays.for_core(offsets, s),
                       list(feature_names) if feature_names is not None else [], _magnitude(p, "p"),
                       _prob(phi, "phi"), _seed(seed), bool(raw), _count(copy, "copy"),
                       _count(first_playlist, "first_playlist", 0, _U64), s, threads)
    return out


def _copy_into(dst: Any, src: Any) -> None:
    if _arrays.is_torch(dst):
        dst.copy_(src)
    else:
        dst[...] = src


def reverse_flags(count: int, *, r: float = 0.5, seed: int = 0, copy: int = 1, first_playlist: int = 0) -> np.ndarray:
    """uint8 ``[count]``: 1 where copy ``copy`` of playlist ``first_playlist + i`` is
    reversed with probability ``r`` (the decisions ``augment`` makes)."""
    return _core.reverse_decisions(_seed(seed), _count(copy, "copy"), _count(first_playlist, "first_playlist", 0, _U64),
                                   _count(count, "count", 0, _U64), _prob(r, "r"))


def reverse(x: Any, offsets: Any, *, flags: Any = None, r: float = 0.5, seed: int = 0, copy: int = 1,
            first_playlist: int = 0, moods: Any = None, mood_offsets: Any = None, segment_offsets: Any = None,
            stream: Any = None, threads: int = 0) -> Tuple[Any, Any, Any]:
    """Reverse playlists in place: the song rows of ``x`` (float32 ``[songs, d]``) within
    each playlist of ``offsets`` (int64 ``[P + 1]``) and, when given, the order of their
    mood segments (``segment_offsets`` int64 ``[P + 1]`` into ``mood_offsets`` int64
    ``[segments + 1]`` into ``moods`` int32; segment contents kept).

    Which playlists: ``flags`` (uint8 ``[P]``, nonzero = reverse), or else the decisions
    of :func:`reverse_flags` for (r, seed, copy, first_playlist). Every array must be on
    x's device; CUDA work is ordered on ``stream`` (default: the current one) without a
    synchronisation. Returns ``(x, mood_offsets, moods)``, modified in place.
    """
    _arrays.check_matrix(x, "x")
    offsets = _offsets_for(x, offsets)
    P = int(offsets.shape[0]) - 1
    if flags is None:
        flags = _arrays.asarray_like(reverse_flags(P, r=r, seed=seed, copy=copy, first_playlist=first_playlist), x)
    elif isinstance(flags, (list, tuple)) or (isinstance(flags, np.ndarray) and _arrays.is_cuda(x)):
        flags = _arrays.asarray_like(np.asarray(flags, dtype=np.uint8), x)
    _arrays.check_vector(flags, "flags", "uint8")
    if int(flags.shape[0]) != P:
        raise ValueError(f"flags has {flags.shape[0]} entries, offsets describe {P} playlists")
    if moods is None:
        if mood_offsets is not None or segment_offsets is not None:
            raise ValueError("pass moods, mood_offsets and segment_offsets together")
        segment_offsets = _arrays.asarray_like(np.zeros(P + 1, np.int64), x)
        mood_offsets = _arrays.asarray_like(np.zeros(1, np.int64), x)
        moods = _arrays.asarray_like(np.zeros(0, np.int32), x)
    else:
        segment_offsets = _offsets_for(x, segment_offsets, "segment_offsets")
        mood_offsets = _offsets_for(x, mood_offsets, "mood_offsets")
        _arrays.check_vector(moods, "moods", "int32")
        if not _arrays.same_device(x, moods) or not _arrays.same_device(x, flags):
            raise ValueError("moods and flags must be on the same device as x")
    s = _arrays.current_stream(x, stream)
    fc = _arrays.for_core
    _core.reverse_playlists(fc(x, s), fc(offsets, s), fc(segment_offsets, s), fc(mood_offsets, s), fc(moods, s),
                            fc(flags, s), s, threads)
    return x, mood_offsets, moods
