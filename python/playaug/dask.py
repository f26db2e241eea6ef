"""Scale-out on Dask: an exact one-pass distributed PCA fit, and partition-parallel
augmentation and re-query whose output does not depend on the partitioning.

``import playaug.dask`` needs ``dask`` (and ``distributed`` for a cluster); Parquet inputs
and outputs need ``pyarrow``. Dask schedules everything: this module only builds task
graphs (one task per partition, plus a tree of merges) and hands them to the client you
pass, to the default ``distributed`` client when there is one, or else to Dask's local
scheduler. See docs/scale-out.md for the design and a worked estimate at 10^9 songs.

Sources (``source=``):

- a path, a glob (``"data/part-*.csv"``) or a list of them: CSV files (one partition per
  file, streamed by the C++ reader) and Parquet files (``.parquet``/``.pq``; one partition
  per row group, counted from the footer);
- a dask DataFrame in the notebook's layout (index = playlist ids, columns
  ``moods_states`` and ``features`` holding JSON text or lists), one partition each;
- for :func:`fit_pca` and :func:`moments` also a dask array of features ``[n, d]``
  (rechunked to whole rows when it is split along the features).
"""

from __future__ import annotations

import glob as _glob
import hashlib
import itertools
import os
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import dask
from dask import delayed

from . import _core, _parquet
from ._core import DataError
from ._dataset import Dataset, _check_threads
from ._ops import _count, _magnitude, _prob, _seed, augment as _augment, read_catalog
from ._ops import requery as _requery
from ._pca import PCA, Moments, _check_device, _default_names

__all__ = ["augment", "fit_pca", "moments", "partitions", "requery"]

_tmp_counter = itertools.count()


# --- partitions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Partition:
    """One unit of work: a CSV file, a run of row groups of a Parquet file, or one
    partition of a dask collection (``data`` is then its delayed value). ``rows`` is the
    number of playlists when it is known without reading the data (Parquet), else None."""

    kind: str  # "csv", "parquet", "frame" or "array"
    name: str
    row_groups: Tuple[int, ...] = ()
    rows: Optional[int] = None
    data: Any = None


def _expand(source: Any) -> List[str]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    paths: List[str] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"source: expected paths, a dask DataFrame or a dask array, found {type(item).__name__}")
        p = os.fspath(item)
        if _glob.has_magic(p):
            found = sorted(_glob.glob(p))
            if not found:
                raise FileNotFoundError(f"{p}: no file matches")
            paths.extend(found)
        else:
            paths.append(p)
    if not paths:
        raise ValueError("source: no input files")
    for p in paths:
        if os.path.isdir(p):
            raise ValueError(f"{p}: is a directory (name its files, or a glob such as {os.path.join(p, '*.csv')})")
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: no such file")
    return paths


def _is_dask_frame(x: Any) -> bool:
    return hasattr(x, "to_delayed") and hasattr(x, "map_partitions") and hasattr(x, "columns")


def _is_dask_array(x: Any) -> bool:
    return hasattr(x, "to_delayed") and hasattr(x, "chunks") and hasattr(x, "ndim")


def partitions(source: Any, *, arrays: bool = False) -> List[Partition]:
    """The partitions of ``source`` in order: what each task of :func:`fit_pca`,
    :func:`augment` and :func:`requery` reads."""
    if _is_dask_frame(source):
        return [Partition("frame", f"<partition {i}>", data=d) for i, d in enumerate(source.to_delayed())]
    if _is_dask_array(source):
        if not arrays:
            raise TypeError("a dask array holds features only: augment and requery need playlists "
                            "(paths or a dask DataFrame)")
        if source.ndim != 2:
            raise ValueError(f"a dask array of features must be [n, d], got {source.ndim} dimensions")
        if len(source.chunks[1]) > 1:
            source = source.rechunk({1: -1})
        blocks = source.to_delayed().ravel()
        return [Partition("array", f"<block {i}>", data=b) for i, b in enumerate(blocks)]
    parts: List[Partition] = []
    for p in _expand(source):
        if _parquet.is_parquet_path(p):
            counts = _parquet.row_group_rows(p)
            for g, rows in enumerate(counts):
                parts.append(Partition("parquet", p, (g,), rows))
            if not counts:
                parts.append(Partition("parquet", p, (), 0))
        else:
            parts.append(Partition("csv", p))
    return parts


def _load(part: Partition, data: Any = None) -> Dataset:
    """The playlists of a partition (run on a worker)."""
    if part.kind == "csv":
        return Dataset._wrap(_core.read_csv(part.name))
    if part.kind == "parquet":
        return _parquet.read_parquet(part.name, row_groups=part.row_groups)
    if part.kind == "frame":
        return _frame_dataset(data, part.name)
    raise TypeError(f"{part.name}: not a playlist partition")


def _frame_dataset(df: Any, name: str) -> Dataset:
    """A DataFrame partition in the notebook's layout; ids are its index, or its ``id``
    column (or pandas' ``Unnamed: 0``, what ``dd.read_csv`` makes of the unnamed first
    column) when it has one."""
    for col in ("id", "Unnamed: 0"):
        if col in df.columns:
            df = df.set_index(col)
            break
    return Dataset.from_pandas(df, name=name)


def _count_rows(part: Partition, data: Any = None) -> int:
    if part.rows is not None:
        return part.rows
    if part.kind == "csv":
        return int(_core.count_playlists(part.name))
    return len(data)


# --- moments and PCA ---------------------------------------------------------------------------

# A partial result: (moments, the first source it covers, feature names or None).
_Partial = Tuple[Moments, str, Optional[Tuple[str, ...]]]


def _partial(part: Partition, data: Any, device: str, threads: int) -> _Partial:
    """The moments of one partition (run on a worker; the CUDA engine on a GPU worker)."""
    if part.kind == "csv":
        m = Moments.of(part.name, device=device, threads=threads)
        return m, part.name, None
    if part.kind == "parquet":
        m = Moments()
        for x in _parquet.parquet_features(part.name, part.row_groups):
            if x.shape[0]:
                m = m.merge(Moments.of(x, device=device, threads=threads))
        names = _parquet.feature_names(part.name)
        return m, part.name, tuple(names) if names else None
    if part.kind == "frame":
        ds = _frame_dataset(data, part.name)
        return Moments.of(ds, device=device, threads=threads), part.name, None
    x = np.asarray(data)
    if x.dtype != np.float32 or not x.flags.c_contiguous:
        x = np.ascontiguousarray(x, dtype=np.float32)
    return Moments.of(x, device=device, threads=threads), part.name, None


def _merge(*partials: _Partial) -> _Partial:
    """Merge partial moments (Chan et al.'s update, exact to rounding); the dimension and
    the feature names must agree."""
    if not partials:
        return Moments(), "", None
    total: Optional[Moments] = None
    first, names = partials[0][1], None
    for m, name, nm in partials:
        if nm is not None:
            if names is not None and nm != names:
                raise DataError(f"{name}: feature names {list(nm)} differ from those of {first}: {list(names)}")
            names = nm
        if m.n == 0:
            continue
        if total is None or total.n == 0:
            total, first = m, name
            continue
        if m.dim != total.dim:
            raise DataError(f"{name}: songs have {m.dim} features, but those of {first} have {total.dim} "
                            "(all inputs must have the same features)")
        total = total.merge(m)
    return (total if total is not None else Moments()), first, names


def _tree(items: List[Any], split_every: int) -> Any:
    """A tree of merge tasks over delayed partial results, split_every inputs each: the
    depth is ceil(log_split_every(partitions)), and each level ships d * d + d doubles
    per merge input."""
    if not items:
        return delayed(_merge, pure=True)()
    while len(items) > 1:
        items = [delayed(_merge, pure=True)(*items[i:i + split_every]) for i in range(0, len(items), split_every)]
    return items[0]


def _compute(obj: Any, client: Any) -> Any:
    if client is not None:
        return client.gather(client.compute(obj))
    return dask.compute(obj)[0]


def _check_split_every(split_every: int) -> int:
    if isinstance(split_every, bool) or not isinstance(split_every, (int, np.integer)) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}")
    return int(split_every)


def _moments_graph(source: Any, device: str, threads: int, split_every: int) -> Any:
    parts = partitions(source, arrays=True)
    partial = [delayed(_partial, pure=True)(p if p.data is None else Partition(p.kind, p.name, p.row_groups, p.rows),
                                            p.data, device, threads) for p in parts]
    return _tree(partial, split_every)


def moments(source: Any, *, client: Any = None, device: str = "auto", threads: int = 1,
            split_every: int = 8) -> Moments:
    """The float64 :class:`playaug.Moments` of every song of ``source``: one task per
    partition computes its moments with the C++ engine, and the partial moments merge in a
    tree of ``split_every``-way merges. One pass over the data."""
    _check_device(device)
    graph = _moments_graph(source, device, _check_threads(threads), _check_split_every(split_every))
    return _compute(graph, client)[0]


def fit_pca(source: Any, n_components: Union[int, float, None] = None, *, standardize: bool = False,
            client: Any = None, device: str = "auto", threads: int = 1, split_every: int = 8) -> PCA:
    """A :class:`playaug.PCA` of every song of ``source``, fitted in one pass on a Dask
    cluster: per-partition moments (on ``device``: the CUDA engine on a GPU worker), a tree
    merge, and one d x d eigendecomposition in this process, on the CPU engine, whose
    Jacobi solver gets even the smallest eigenvalue of an unstandardized fit to about 1e-14
    relative (cuSOLVER's syevd only to about 1e-16 of the largest). The result equals
    ``playaug.PCA(n_components, standardize=standardize, device="cpu").fit`` of the same
    data whatever the number of partitions or workers: the mean and every eigenvalue to
    1e-12 relative, the components with the same signs (largest entry of each positive).
    The returned estimator keeps ``device`` for its transforms."""
    _check_device(device)
    merged, _, names = _compute(_moments_graph(source, device, _check_threads(threads), _check_split_every(split_every)),
                                client)
    if merged.n == 0:
        raise ValueError("a PCA needs at least 2 samples, got 0")
    pca = PCA.from_moments(merged, n_components, standardize=standardize,
                           feature_names=list(names) if names else _default_names(merged.dim), device="cpu")
    return pca.set_params(device=device)




# --- job-level atomic output directories --------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(path: str, patience: float = 30.0) -> None:
    """Remove a directory even while a cancelled task may still be finishing a file in it
    (tasks never create the directory, so once it is gone nothing reappears). Such a task
    can add a file after rmtree listed the directory (its rmdir fails) or rename one away
    under it (a FileNotFoundError for that file, not the directory): either way, go again
    until the directory itself is gone, for at most `patience` seconds, then warn."""
    deadline = time.monotonic() + patience
    while True:
        try:
            shutil.rmtree(path)
        except OSError:
            pass
        if not os.path.lexists(path):
            return
        if time.monotonic() > deadline:
            warnings.warn(f"{path}: could not be removed within {patience:g} s (files kept appearing in it)",
                          RuntimeWarning, stacklevel=2)
            return
        time.sleep(0.005)


class _OutputDir:
    """A directory written by many tasks, published by one rename when all succeeded:
    ``.NAME.tmp-PID-N`` beside NAME, removed on failure. Leftovers of a dead client (same
    prefix, PID no longer running) are removed by the next job into the same NAME."""

    def __init__(self, output: Any, overwrite: bool) -> None:
        self.final = os.path.abspath(os.fspath(output))
        parent, name = os.path.split(self.final)
        if not name:
            raise ValueError(f"output: {output!r} names no directory")
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"{parent}: no such directory (the output's parent must exist)")
        if os.path.lexists(self.final) and not overwrite:
            raise FileExistsError(f"{self.final}: exists (pass overwrite=True to replace it)")
        if os.path.lexists(self.final) and not os.path.isdir(self.final):
            raise ValueError(f"{self.final}: exists and is not a directory")
        prefix = f".{name}.tmp-"
        for entry in os.listdir(parent):
            if entry.startswith(prefix):
                pid = entry[len(prefix):].split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                    _remove_tree(os.path.join(parent, entry))
        self.tmp = os.path.join(parent, f"{prefix}{os.getpid()}-{next(_tmp_counter)}")
        os.mkdir(self.tmp)

    def publish(self) -> None:
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        old = None
        if os.path.lexists(self.final):
            old = f"{self.tmp}-old"
            os.rename(self.final, old)
        os.rename(self.tmp, self.final)
        if old is not None:
            _remove_tree(old)

    def discard(self) -> None:
        _remove_tree(self.tmp)


def _part_name(i: int, total: int, fmt: str) -> str:
    width = max(5, len(str(max(total - 1, 0))))
    return f"part-{i:0{width}d}.{fmt}"


def _write(ds: Dataset, path: str, fmt: str, threads: int) -> None:
    if not os.path.isdir(os.path.dirname(path)):
        raise RuntimeError(f"{os.path.dirname(path)}: the job's output directory is gone (the job failed)")
    if fmt == "parquet":
        _parquet.write_parquet(path, ds)
    else:
        _core.write_csv(path, ds._c, threads)


def _augment_part(part: Partition, data: Any, first: int, path: str, fmt: str, opts: Dict[str, Any]) -> int:
    ds = _augment(_load(part, data), first_playlist=first, **opts)
    _write(ds, path, fmt, opts["threads"])
    return len(ds)


# Catalogs parsed on this worker, by content hash: each worker reads a catalog once.
_CATALOGS: Dict[str, Any] = {}
_CATALOGS_LOCK = threading.Lock()


def _worker_catalog(key: str, basename: str, content: Any) -> Any:
    with _CATALOGS_LOCK:
        cat = _CATALOGS.get(key)
        if cat is None:
            if isinstance(content, bytes):
                with tempfile.TemporaryDirectory(prefix="playaug-catalog-") as d:
                    p = os.path.join(d, basename)
                    with open(p, "wb") as f:
                        f.write(content)
                    cat = read_catalog(p)
            else:
                cat = read_catalog(content)
            _CATALOGS[key] = cat
        return cat


def _requery_part(part: Partition, data: Any, first: int, path: str, fmt: str, catalog: Tuple[str, str, Any],
                  opts: Dict[str, Any]) -> int:
    ds = _requery(_load(part, data), catalog=_worker_catalog(*catalog), first_playlist=first, **opts)
    _write(ds, path, fmt, opts["threads"])
    return len(ds)


def _default_client(client: Any) -> Any:
    if client is not None:
        return client
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _run_job(source: Any, output: Any, fmt: Optional[str], overwrite: bool, client: Any, task: Any,
             extra: Tuple[Any, ...]) -> List[str]:
    if fmt is None:
        fmt = "parquet" if _parquet.is_parquet_path(os.fspath(output).rstrip(os.sep)) else "csv"
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    parts = partitions(source)
    client = _default_client(client)
    plain = [Partition(p.kind, p.name, p.row_groups, p.rows) for p in parts]

    # The counting step: each partition's first playlist in the whole input is the key of
    # its random streams (docs/random-streams.md). Free for Parquet (the footer), one
    # streaming pass for CSV files, a len() for dask DataFrame partitions.
    unknown = [i for i, p in enumerate(parts) if p.rows is None]
    counted = _compute([delayed(_count_rows, pure=True)(plain[i], parts[i].data) for i in unknown], client) \
        if unknown else []
    counts = [p.rows for p in parts]
    for i, n in zip(unknown, counted):
        counts[i] = int(n)
    firsts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])[:-1]

    out = _OutputDir(output, overwrite)
    names = [_part_name(i, len(parts), fmt) for i in range(len(parts))]
    tasks = [delayed(task, pure=False)(q, p.data, int(f), os.path.join(out.tmp, n), fmt, *extra)
             for p, q, f, n in zip(parts, plain, firsts, names)]
    futures = None
    try:
        if client is not None:
            futures = client.compute(tasks)
            client.gather(futures)
        else:
            dask.compute(*tasks)
        out.publish()
    except BaseException:
        if futures is not None:
            client.cancel(futures)
        out.discard()
        raise
    return [os.path.join(out.final, n) for n in names]


def augment(source: Any, output: Union[str, os.PathLike], *, copies: int = 1, phi: float = 0.5,
            reverse: float = 0.5, protuberance: float = 0.15, seed: int = 0, raw: bool = False,
            keep_original: bool = True, format: Optional[str] = None, overwrite: bool = False,
            client: Any = None, device: str = "auto", threads: int = 1) -> List[str]:
    """``playaug augment`` of every partition of ``source`` in parallel, into the directory
    ``output`` (one part file per partition: ``part-00000.csv``, ... or ``.parquet``;
    ``format`` defaults to Parquet when ``output`` ends in ``.parquet``, else CSV). Returns
    the part files' paths, in partition order.

    Each partition draws from the random streams of its playlists' rows in the whole input
    (a counting step finds each partition's first row), so the output does not depend on
    the partitioning or the number of workers: the part files concatenated in order (each
    CSV part carries the header; keep the first) are byte-identical to ``playaug augment``
    of the concatenated input with the same options. The job is atomic: parts are written
    into ``.NAME.tmp-PID-N`` beside ``output``, renamed to ``output`` when every partition
    has succeeded, and removed when one fails (the error, e.g. a ``DataError`` naming the
    file and line, is raised here). An existing ``output`` is an error unless ``overwrite``."""
    _check_device(device)
    opts = dict(copies=_count(copies, "copies"), phi=_prob(phi, "phi"), reverse=_prob(reverse, "reverse"),
                protuberance=_magnitude(protuberance, "protuberance"), seed=_seed(seed), raw=bool(raw),
                keep_original=bool(keep_original), device=device, threads=_check_threads(threads))
    return _run_job(source, output, format, overwrite, client, _augment_part, (opts,))


def requery(source: Any, output: Union[str, os.PathLike], *, catalog: Union[str, os.PathLike],
            genres: Sequence[str] = (), protuberance: float = 0.15, seed: int = 0, allow_repeats: bool = False,
            format: Optional[str] = None, overwrite: bool = False, client: Any = None, device: str = "auto",
            threads: int = 1) -> List[str]:
    """``playaug requery --catalog`` of every partition of ``source`` in parallel, into the
    directory ``output``, exactly as :func:`augment` (same part files, the same
    independence from the partitioning, the same job-level atomicity): concatenated, the
    parts are byte-identical to ``playaug requery`` of the concatenated input.

    The catalog file is read and checked here first, then shipped once to each worker
    (broadcast by the scheduler) and parsed there once per worker process."""
    _check_device(device)
    path = os.fspath(catalog)
    read_catalog(path)  # its errors name the file here, before any task runs
    with open(path, "rb") as f:
        content = f.read()
    key = hashlib.sha256(content).hexdigest()
    client = _default_client(client)
    ref: Any = path
    if client is not None:
        ref = client.scatter(content, broadcast=True, hash=False)
    opts = dict(genres=[str(g) for g in genres], protuberance=_magnitude(protuberance, "protuberance"),
                seed=_seed(seed), allow_repeats=bool(allow_repeats), device=device, threads=_check_threads(threads))
    return _run_job(source, output, format, overwrite, client, _requery_part,
                    ((key, os.path.basename(path), ref), opts))
