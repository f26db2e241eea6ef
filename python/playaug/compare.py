"""Fidelity report: how close a synthetic playlist dataset is to a real one.

    python -m playaug.compare REAL.csv SYNTH.csv [--train TRAIN.csv] [--plot FILE.png] [--json] [--seed S]

or from Python::

    report = playaug.compare(real, synthetic, train=train, seed=0)   # Datasets or paths
    print(report)              # the table
    report.to_dict()           # the numbers (JSON-ready)

``real`` is the data the synthetic set should resemble: in the held-out protocol the half
of the real playlists that the generator did NOT see; ``train`` is the half it was fitted
on (optional; it enables the distance-to-closest-record check and is the reference of the
copied-song share). docs/compare.md defines every number precisely, says how to read them
and what real data against real data gives. In short:

- songs: per-feature two-sample Kolmogorov-Smirnov statistics (mean, max), the largest
  absolute difference between the Spearman correlation matrices, a classifier two-sample
  test (held-out ROC AUC of a gradient-boosting classifier telling real from synthetic
  songs), the copied-song share and, with ``train``, distances to the closest record;
- playlists: intra-playlist correlation ICC(1) per feature, playlist-length KS, and total
  variation distances between segment counts, moods per segment, first-segment moods and
  mood transitions; the per-mood mean of standardized features.

The module object itself is callable: ``playaug.compare(real, synthetic)`` is
``playaug.compare.compare(real, synthetic)``. (A package attribute and a submodule of the
same name would otherwise replace each other on import.)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._atomic import atomic_output
from ._dataset import Dataset, read_csv

PathLike = Union[str, "os.PathLike[str]"]

#: Targets of the held-out protocol (fit on one half of a real playlist set, compare with
#: the other half); the table marks each number against its target.
TARGETS: Dict[str, Tuple[str, float]] = {
    "classifier_auc": ("<=", 0.60),
    "ks_mean": ("<=", 0.03),
    "ks_max": ("<=", 0.06),
    "spearman_max_diff": ("<=", 0.10),
    "icc_mean_abs_diff": ("<=", 0.06),
    "length_ks": ("<=", 0.06),
    "copied_share": ("<", 0.02),
    # checked on the mean over (mood, feature) cells: the largest cell of ~300 is mostly noise
    "mood_mean_mean_diff": ("<=", 0.06),
    "transition_tv": ("<=", 0.17),
}

#: Songs per side at most in the classifier two-sample test (a seeded subsample above it).
CLASSIFIER_MAX_PER_CLASS = 50_000
#: Songs (both sides) from which the classifier runs on all cores; one thread below.
CLASSIFIER_PARALLEL_MIN = 20_000
#: Synthetic and held-out songs at most whose distance to the closest record is computed.
DCR_MAX_QUERIES = 20_000
#: A mood enters the per-mood feature means when it has at least this many songs on both sides.
MOOD_MIN_SONGS = 20


@dataclass
class FidelityReport:
    """The numbers of the report (see docs/compare.md). NaN where a number is undefined
    (e.g. mood transitions of data whose playlists have one segment each)."""

    feature_names: List[str]
    real_playlists: int
    real_songs: int
    synthetic_playlists: int
    synthetic_songs: int
    train_songs: Optional[int]
    # songs
    ks: List[float]
    ks_mean: float
    ks_max: float
    spearman_real: List[List[float]]
    spearman_synthetic: List[List[float]]
    spearman_max_diff: float
    classifier_auc: float
    classifier_songs_per_side: int
    copied_share: float
    copied_reference: str
    copied_decimals: List[int]
    # playlists
    icc_real: List[float]
    icc_synthetic: List[float]
    icc_mean_abs_diff: float
    length_ks: float
    segments_tv: float
    moods_per_segment_tv: float
    first_segment_tv: float
    transition_tv: float
    mood_mean_max_diff: float
    mood_mean_mean_diff: float
    mood_mean_moods: int
    # with train
    holdout_copied_share: Optional[float] = None
    dcr: Optional[Dict[str, Any]] = None
    seed: int = 0
    sources: Dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        """The numbers as plain Python values (NaN becomes None), ready for json.dumps."""
        out = {}
        for k in self.__dataclass_fields__:
            out[k] = _plain(getattr(self, k))
        out["targets"] = {k: {"op": op, "value": v, "met": self.meets(k)} for k, (op, v) in TARGETS.items()}
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def meets(self, name: str) -> Optional[bool]:
        """Whether the number `name` meets its target (TARGETS); None when it is undefined."""
        op, target = TARGETS[name]
        v = getattr(self, name)
        if v is None or not np.isfinite(v):
            return None
        return bool(v <= target) if op == "<=" else bool(v < target)

    def __str__(self) -> str:
        return format_table(self)


# --- loading ---------------------------------------------------------------------------------

def _load(x: Any, what: str) -> Dataset:
    if isinstance(x, Dataset):
        ds = x
    elif isinstance(x, (str, os.PathLike)):
        ds = read_csv(x)
    else:
        raise TypeError(f"compare: {what} must be a playaug.Dataset or a path, got {type(x).__name__}")
    if ds.n_songs == 0:
        raise ValueError(f"compare: the {what} dataset ({_name(x)}) has no songs")
    return ds


def _name(x: Any) -> str:
    return os.fspath(x) if isinstance(x, (str, os.PathLike)) else f"<{type(x).__name__}>"


# --- statistics (each one documented in docs/compare.md) --------------------------------------

def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic sup_x |F_a(x) - F_b(x)| of the empirical
    distribution functions (right-continuous, so ties are handled exactly)."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    if len(a) == 0 or len(b) == 0:
        return math.nan
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / len(a)
    fb = np.searchsorted(b, x, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def spearman_matrix(x: np.ndarray) -> np.ndarray:
    """Spearman rank correlation matrix of the columns of x: Pearson correlation of the
    columns' average ranks (ties share their mean rank). A constant column gives NaN."""
    from scipy.stats import rankdata

    r = rankdata(np.asarray(x, dtype=np.float64), axis=0)
    r -= r.mean(axis=0)
    cov = r.T @ r
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = cov / np.outer(sd, sd)
    c[:, sd == 0] = np.nan
    c[sd == 0, :] = np.nan
    np.fill_diagonal(c, np.where(sd == 0, np.nan, 1.0))
    return c


def icc1(x: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Intra-playlist correlation ICC(1) of each column of x ([songs, d]) over the playlists
    ``offsets`` delimits, by one-way ANOVA over the playlists with at least 2 songs:

        MSB = sum_i n_i (mean_i - mean)^2 / (k - 1)
        MSW = sum_i sum_j (x_ij - mean_i)^2 / (N - k)
        n0  = (N - sum_i n_i^2 / N) / (k - 1)        (the mean group size, for unequal sizes)
        ICC(1) = (MSB - MSW) / (MSB + (n0 - 1) MSW)

    with k playlists of n_i songs, N = sum n_i, and mean the grand mean of those songs.
    NaN when k < 2 or a column is constant over those songs."""
    x = np.asarray(x, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.int64)
    sizes = np.diff(offsets)
    keep = sizes >= 2
    d = x.shape[1]
    k = int(keep.sum())
    if k < 2:
        return np.full(d, np.nan)
    group = _song_groups(offsets)
    rows = keep[group]
    xs, gs = x[rows], group[rows]
    n_i = sizes[keep].astype(np.float64)
    # compact group labels 0..k-1 in order
    _, gs = np.unique(gs, return_inverse=True)
    big_n = float(n_i.sum())
    sums = np.stack([np.bincount(gs, weights=xs[:, j], minlength=k) for j in range(d)], axis=1)
    means = sums / n_i[:, None]
    grand = xs.mean(axis=0)
    ssb = (n_i[:, None] * (means - grand) ** 2).sum(axis=0)
    ssw = ((xs - means[gs]) ** 2).sum(axis=0)
    msb = ssb / (k - 1)
    msw = ssw / (big_n - k)
    n0 = (big_n - (n_i**2).sum() / big_n) / (k - 1)
    den = msb + (n0 - 1.0) * msw
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (msb - msw) / den
    out[den <= 0] = np.nan
    return out


def total_variation(p: Dict[Any, float], q: Dict[Any, float]) -> float:
    """Total variation distance 1/2 sum |p(v) - q(v)| between two distributions given as
    {value: probability}; NaN when either is empty."""
    if not p or not q:
        return math.nan
    keys = set(p) | set(q)
    return 0.5 * float(sum(abs(p.get(v, 0.0) - q.get(v, 0.0)) for v in keys))


def _distribution(values: np.ndarray) -> Dict[int, float]:
    values = np.asarray(values)
    if len(values) == 0:
        return {}
    u, c = np.unique(values, return_counts=True)
    return {int(a): float(b) / len(values) for a, b in zip(u, c)}


class _Moods:
    """A dataset's mood structure in flat arrays: the distinct moods of each segment (a
    mood listed twice in one segment counts once), each song's segment, transitions."""

    def __init__(self, ds: Dataset) -> None:
        seg_off = np.asarray(ds.segment_offsets, dtype=np.int64)
        mood_off = np.asarray(ds.mood_offsets, dtype=np.int64)
        values = np.asarray(ds.mood_values, dtype=np.int64)
        self.n_segments = len(mood_off) - 1
        self.segments_per_playlist = np.diff(seg_off)
        seg_of_value = np.repeat(np.arange(self.n_segments), np.diff(mood_off))
        # distinct (segment, mood) pairs, sorted by segment then mood
        pairs = np.unique(np.stack([seg_of_value, values], axis=1), axis=0) if len(values) else np.zeros((0, 2), np.int64)
        self.pair_segment = pairs[:, 0]
        self.pair_mood = pairs[:, 1]
        self.moods_per_segment = np.bincount(self.pair_segment, minlength=self.n_segments)
        self.pair_start = np.concatenate([[0], np.cumsum(self.moods_per_segment)])
        # first segment of each playlist that has one
        has = self.segments_per_playlist > 0
        self.first_segments = seg_off[:-1][has]
        # consecutive segments (j, j + 1) of one playlist
        succ = np.ones(self.n_segments, dtype=bool)
        ends = seg_off[1:][has] - 1
        succ[ends] = False
        self.transition_from = np.nonzero(succ)[0]
        # each song's segment: song i of a playlist of n songs and S segments is in
        # segment floor(i * S / n) (contiguous runs in proportion); -1 without segments
        offs = np.asarray(ds.offsets, dtype=np.int64)
        n = np.diff(offs)
        pl = _song_groups(offs)
        i = np.arange(offs[-1]) - offs[pl]
        s = self.segments_per_playlist[pl]
        with np.errstate(divide="ignore", invalid="ignore"):
            seg = seg_off[pl] + (i * s) // np.maximum(n[pl], 1)
        self.song_segment = np.where(s > 0, seg, -1)

    def first_segment_moods(self) -> np.ndarray:
        return self._moods_of(self.first_segments)[1]

    def transitions(self) -> Tuple[np.ndarray, np.ndarray]:
        """All (a, b) with a a mood of segment j and b a mood of segment j + 1, over the
        consecutive segment pairs of every playlist."""
        j = self.transition_from
        if len(j) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ca, cb = self.moods_per_segment[j], self.moods_per_segment[j + 1]
        kmax = int(max(ca.max(initial=0), cb.max(initial=0)))
        src, dst = [], []
        for a in range(kmax):
            for b in range(kmax):
                ok = (a < ca) & (b < cb)
                src.append(self.pair_mood[self.pair_start[j[ok]] + a])
                dst.append(self.pair_mood[self.pair_start[j[ok] + 1] + b])
        return np.concatenate(src), np.concatenate(dst)

    def _moods_of(self, segments: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        counts = self.moods_per_segment[segments]
        idx = np.repeat(self.pair_start[segments], counts) + _ranges(counts)
        return np.repeat(segments, counts), self.pair_mood[idx]

    def mood_sums(self, z: np.ndarray) -> Tuple[Dict[int, np.ndarray], Dict[int, int]]:
        """Per mood m: the sum of z over the songs whose segment has mood m, and their count."""
        have = self.song_segment >= 0
        segs = self.song_segment[have]
        cnt = np.bincount(segs, minlength=self.n_segments)
        zsum = np.stack([np.bincount(segs, weights=z[have, j], minlength=self.n_segments)
                         for j in range(z.shape[1])], axis=1)
        mood_sum: Dict[int, np.ndarray] = {}
        mood_cnt: Dict[int, int] = {}
        if len(self.pair_mood) == 0:
            return mood_sum, mood_cnt
        moods, inv = np.unique(self.pair_mood, return_inverse=True)
        tot = np.zeros((len(moods), z.shape[1]))
        np.add.at(tot, inv, zsum[self.pair_segment])
        tcnt = np.bincount(inv, weights=cnt[self.pair_segment], minlength=len(moods))
        for m, s, c in zip(moods, tot, tcnt):
            mood_sum[int(m)] = s
            mood_cnt[int(m)] = int(c)
        return mood_sum, mood_cnt


def _ranges(counts: np.ndarray) -> np.ndarray:
    """[0..c0-1, 0..c1-1, ...]"""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def transition_tv(real: Tuple[np.ndarray, np.ndarray], synthetic: Tuple[np.ndarray, np.ndarray]) -> float:
    """Row-normalised transition matrices P[a, b] = share of a's transitions that go to b;
    the total variation between the real and the synthetic row of each source mood a,
    averaged with the weights of the real data (the share of real transitions that leave a).
    A source mood without synthetic transitions counts as distance 1. NaN without real
    transitions."""
    ra, rb = real
    sa, sb = synthetic
    if len(ra) == 0:
        return math.nan
    total = 0.0
    for a in np.unique(ra):
        w = np.count_nonzero(ra == a) / len(ra)
        srow = sb[sa == a]
        if len(srow) == 0:
            total += w
            continue
        total += w * total_variation(_distribution(rb[ra == a]), _distribution(srow))
    return float(total)


def mood_mean_diff(real: _Moods, zr: np.ndarray, synth: _Moods, zs: np.ndarray,
                   min_songs: int = MOOD_MIN_SONGS) -> Tuple[float, float, int]:
    """(max, mean, number of moods) of |mean_real(m, f) - mean_synthetic(m, f)| over the
    moods m with at least `min_songs` songs on both sides and every feature f, features
    standardized with the real data's mean and standard deviation."""
    rs, rc = real.mood_sums(zr)
    ss, sc = synth.mood_sums(zs)
    moods = sorted(m for m in rs if rc[m] >= min_songs and sc.get(m, 0) >= min_songs)
    if not moods:
        return math.nan, math.nan, 0
    diff = np.abs(np.stack([rs[m] / rc[m] - ss[m] / sc[m] for m in moods]))
    return float(diff.max()), float(diff.mean()), len(moods)


def _standardizer(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return mean, sd


def _song_groups(offsets: np.ndarray) -> np.ndarray:
    """The playlist index of every song, from a dataset's song offsets."""
    off = np.asarray(offsets, dtype=np.int64)
    return np.repeat(np.arange(len(off) - 1), np.diff(off))


def _test_mask(groups: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Songs of whole groups, taken in a seeded random order of the groups until at least
    `share` of the songs are in: the test side of a split by group."""
    uniq, counts = np.unique(groups, return_counts=True)
    order = rng.permutation(len(uniq))
    taken = np.cumsum(counts[order])
    k = int(np.searchsorted(taken, share * len(groups))) + 1
    return np.isin(groups, uniq[order[:k]])


def classifier_auc(real: np.ndarray, synthetic: np.ndarray, *, seed: int = 0,
                   max_per_class: int = CLASSIFIER_MAX_PER_CLASS,
                   real_groups: Optional[np.ndarray] = None,
                   synthetic_groups: Optional[np.ndarray] = None) -> Tuple[float, int]:
    """Classifier two-sample test: (held-out ROC AUC, songs per side). The larger side is
    subsampled (seeded, without replacement) to the smaller's size, at most
    `max_per_class`. The songs are then split 70/30 on each side: by group when
    `real_groups` and `synthetic_groups` (the playlist of every song) are given, so that
    the songs of one playlist are all on one side of the split, else at random, stratified.
    scikit-learn's HistGradientBoostingClassifier (defaults, random_state=seed) learns real
    (1) against synthetic (0) on the 70 %; the AUC of its probabilities on the 30 %: 0.5
    when the two cannot be told apart, 1.0 when they are perfectly separated. NaN with
    < 10 songs a side."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    n = min(len(real), len(synthetic), max_per_class)
    if n < 10:
        return math.nan, n
    rng = np.random.default_rng(seed)
    ri = np.sort(rng.choice(len(real), n, replace=False)) if len(real) > n else np.arange(len(real))
    si = np.sort(rng.choice(len(synthetic), n, replace=False)) if len(synthetic) > n else np.arange(len(synthetic))
    r, s = real[ri], synthetic[si]
    x = np.concatenate([r, s]).astype(np.float64)
    y = np.concatenate([np.ones(n, np.int8), np.zeros(n, np.int8)])
    if real_groups is not None and synthetic_groups is not None:
        test = np.concatenate([_test_mask(np.asarray(real_groups)[ri], rng, 0.3),
                               _test_mask(np.asarray(synthetic_groups)[si], rng, 0.3)])
        xtr, xte, ytr, yte = x[~test], x[test], y[~test], y[test]
    else:
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
    # Below CLASSIFIER_PARALLEL_MIN songs, OpenMP's per-iteration synchronisation costs more
    # than the work (and far more on a busy machine): one thread. The result is the same.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1 if 2 * n < CLASSIFIER_PARALLEL_MIN else None, user_api="openmp"):
        clf = HistGradientBoostingClassifier(random_state=seed).fit(xtr, ytr)
    return float(roc_auc_score(yte, clf.predict_proba(xte)[:, 1])), n


def feature_decimals(x: np.ndarray, max_decimals: int = 9) -> np.ndarray:
    """Per column, the data's precision: the most decimals any value needs, where a float32
    value v needs the fewest k in 0..max_decimals with float32(round(v, k)) == v."""
    x32 = np.asarray(x, dtype=np.float32)
    x64 = x32.astype(np.float64)
    need = np.full(x32.shape, max_decimals, dtype=np.int64)
    for k in range(max_decimals - 1, -1, -1):
        need[np.round(x64, k).astype(np.float32) == x32] = k
    return need.max(axis=0) if len(x32) else np.zeros(x32.shape[1], np.int64)


def _rounded_rows(x: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    x64 = np.asarray(x, dtype=np.float32).astype(np.float64)
    out = np.empty_like(x64)
    for j, k in enumerate(decimals):
        out[:, j] = np.round(x64[:, j], int(k))
    out += 0.0  # -0.0 -> 0.0
    return np.ascontiguousarray(out)


def copied_share(synthetic: np.ndarray, reference: np.ndarray) -> Tuple[float, np.ndarray]:
    """(share of synthetic songs equal to a reference song, the decimals used): a synthetic
    song is a copy when all its features equal those of some reference song after both are
    rounded to the reference data's decimals per feature (feature_decimals)."""
    dec = feature_decimals(reference)
    ref = _rounded_rows(reference, dec)
    syn = _rounded_rows(synthetic, dec)
    seen = {row.tobytes() for row in ref}
    hits = sum(1 for row in syn if row.tobytes() in seen)
    return hits / len(syn), dec


def distance_to_closest_record(queries: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query to its nearest training song, features
    standardized with the training data's mean and (population) standard deviation. Exact
    search by scikit-learn's NearestNeighbors."""
    from sklearn.neighbors import NearestNeighbors

    mean, sd = _standardizer(np.asarray(train, dtype=np.float64))
    nn = NearestNeighbors(n_neighbors=1).fit((train - mean) / sd)
    dist, _ = nn.kneighbors((np.asarray(queries, dtype=np.float64) - mean) / sd)
    return dist[:, 0]


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x[np.sort(rng.choice(len(x), n, replace=False))] if len(x) > n else x


def holdout_split(ds: Union[Dataset, PathLike], seed: int = 0) -> Tuple[Dataset, Dataset]:
    """The held-out protocol's two halves of a dataset's playlists (not songs): a seeded
    random permutation (numpy's default_rng(seed).permutation), the first floor(P / 2)
    playlists of it to fit on and the others to compare with, each half in file order."""
    ds = _load(ds, "split") if not isinstance(ds, Dataset) else ds
    perm = np.random.default_rng(seed).permutation(len(ds))
    cut = len(ds) // 2
    return _subset(ds, np.sort(perm[:cut])), _subset(ds, np.sort(perm[cut:]))


def _subset(ds: Dataset, idx: np.ndarray) -> Dataset:
    offs = np.asarray(ds.offsets, dtype=np.int64)
    feats = np.asarray(ds.features)
    lengths = np.diff(offs)[idx]
    rows = np.concatenate([np.arange(offs[i], offs[i + 1]) for i in idx]) if len(idx) else np.zeros(0, np.int64)
    moods, ids, nulls = ds.moods, ds.ids, ds.null_features
    return Dataset(feats[rows], np.concatenate([[0], np.cumsum(lengths)]), [moods[i] for i in idx],
                   ids=[ids[i] for i in idx], feature_names=ds.feature_names,
                   null_features=[bool(nulls[i]) for i in idx] if len(nulls) else None)


# --- the report ------------------------------------------------------------------------------

def compare(real: Union[Dataset, PathLike], synthetic: Union[Dataset, PathLike], *,
            train: Union[Dataset, PathLike, None] = None, seed: int = 0) -> FidelityReport:
    """The fidelity report of `synthetic` against `real` (Datasets or CSV paths; paths are
    read with :func:`playaug.read_csv`, so bad files raise :class:`playaug.DataError` with
    FILE:LINE). `train`, when given, is the data the generator was fitted on: the reference
    of the copied-song share, and of the distance-to-closest-record check with `real` as
    the held-out side. `seed` drives the subsampling and the classifier."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2^32 - 1], got {seed!r}")
    seed = int(seed)
    rds = _load(real, "real")
    sds = _load(synthetic, "synthetic")
    tds = _load(train, "train") if train is not None else None
    names = list(rds.feature_names)
    for what, ds in (("synthetic", sds), ("train", tds)):
        if ds is not None and list(ds.feature_names) != names:
            raise ValueError(f"compare: the {what} dataset's features {list(ds.feature_names)} "
                             f"are not the real dataset's {names}")
    xr = np.asarray(rds.features, dtype=np.float64)
    xs = np.asarray(sds.features, dtype=np.float64)
    d = xr.shape[1]

    ks = [ks_statistic(xr[:, j], xs[:, j]) for j in range(d)]
    sp_r, sp_s = spearman_matrix(xr), spearman_matrix(xs)
    sp_diff = np.abs(sp_r - sp_s)
    sp_max = float(np.nanmax(sp_diff)) if np.isfinite(sp_diff).any() else math.nan
    icc_r, icc_s = icc1(xr, rds.offsets), icc1(xs, sds.offsets)
    icc_d = np.abs(icc_r - icc_s)
    icc_mean = float(np.nanmean(icc_d)) if np.isfinite(icc_d).any() else math.nan

    mr, ms = _Moods(rds), _Moods(sds)
    mean, sd = _standardizer(xr)
    mm_max, mm_mean, mm_n = mood_mean_diff(mr, (xr - mean) / sd, ms, (xs - mean) / sd)

    auc, n_auc = classifier_auc(xr, xs, seed=seed, real_groups=_song_groups(rds.offsets),
                                synthetic_groups=_song_groups(sds.offsets))
    xref = xr if tds is None else np.asarray(tds.features, dtype=np.float64)
    share, dec = copied_share(xs, xref)

    holdout_share = None
    dcr = None
    if tds is not None:
        holdout_share, _ = copied_share(xr, xref)
        rng = np.random.default_rng(seed)
        ds_ = distance_to_closest_record(_subsample(xs, DCR_MAX_QUERIES, rng), xref)
        dh = distance_to_closest_record(_subsample(xr, DCR_MAX_QUERIES, rng), xref)
        qs = [5, 25, 50]
        hp = np.percentile(dh, qs)
        dcr = {
            "quantiles": qs,
            "synthetic": [float(v) for v in np.percentile(ds_, qs)],
            "holdout": [float(v) for v in hp],
            "share_below_holdout_p5": float(np.mean(ds_ <= hp[0])),
            "synthetic_queries": int(len(ds_)),
            "holdout_queries": int(len(dh)),
        }

    return FidelityReport(
        feature_names=names,
        real_playlists=len(rds), real_songs=rds.n_songs,
        synthetic_playlists=len(sds), synthetic_songs=sds.n_songs,
        train_songs=tds.n_songs if tds is not None else None,
        ks=ks, ks_mean=float(np.mean(ks)), ks_max=float(np.max(ks)),
        spearman_real=sp_r.tolist(), spearman_synthetic=sp_s.tolist(), spearman_max_diff=sp_max,
        classifier_auc=auc, classifier_songs_per_side=n_auc,
        copied_share=share, copied_reference="train" if tds is not None else "real",
        copied_decimals=[int(v) for v in dec],
        icc_real=icc_r.tolist(), icc_synthetic=icc_s.tolist(), icc_mean_abs_diff=icc_mean,
        length_ks=ks_statistic(np.diff(rds.offsets), np.diff(sds.offsets)),
        segments_tv=total_variation(_distribution(mr.segments_per_playlist), _distribution(ms.segments_per_playlist)),
        moods_per_segment_tv=total_variation(_distribution(mr.moods_per_segment), _distribution(ms.moods_per_segment)),
        first_segment_tv=total_variation(_distribution(mr.first_segment_moods()), _distribution(ms.first_segment_moods())),
        transition_tv=transition_tv(mr.transitions(), ms.transitions()),
        mood_mean_max_diff=mm_max, mood_mean_mean_diff=mm_mean, mood_mean_moods=mm_n,
        holdout_copied_share=holdout_share, dcr=dcr, seed=seed,
        sources={k: _name(v) for k, v in (("real", real), ("synthetic", synthetic), ("train", train)) if v is not None},
    )


# --- presentation ----------------------------------------------------------------------------

def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _f(v: Optional[float], digits: int = 3) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}"


def _mark(r: FidelityReport, name: str) -> str:
    op, target = TARGETS[name]
    met = r.meets(name)
    verdict = "" if met is None else ("  ok" if met else "  MISSED")
    shown = f"{100 * target:g} %" if name == "copied_share" else f"{target:g}"
    return f"  (target {op} {shown}){verdict}"


def format_table(r: FidelityReport) -> str:
    """The report as the readable table `python -m playaug.compare` prints."""
    src = r.sources
    lines = [
        f"real       {src.get('real', '<Dataset>')}: {r.real_playlists:,} playlists, {r.real_songs:,} songs",
        f"synthetic  {src.get('synthetic', '<Dataset>')}: {r.synthetic_playlists:,} playlists, {r.synthetic_songs:,} songs",
    ]
    if r.train_songs is not None:
        lines.append(f"train      {src.get('train', '<Dataset>')}: {r.train_songs:,} songs")
    lines += ["", "songs", f"  {'feature':<22} {'KS':>8} {'ICC real':>10} {'ICC synth':>10}"]
    for j, name in enumerate(r.feature_names):
        lines.append(f"  {name:<22} {_f(r.ks[j]):>8} {_f(r.icc_real[j]):>10} {_f(r.icc_synthetic[j]):>10}")
    lines += [
        f"  mean KS                    {_f(r.ks_mean)}{_mark(r, 'ks_mean')}",
        f"  largest KS                 {_f(r.ks_max)}{_mark(r, 'ks_max')}",
        f"  largest Spearman diff      {_f(r.spearman_max_diff)}{_mark(r, 'spearman_max_diff')}",
        f"  mean |ICC diff|            {_f(r.icc_mean_abs_diff)}{_mark(r, 'icc_mean_abs_diff')}",
        f"  classifier AUC             {_f(r.classifier_auc)}{_mark(r, 'classifier_auc')}"
        f"  [{r.classifier_songs_per_side:,} songs a side; 0.5 = indistinguishable]",
        f"  copied songs               {100 * r.copied_share:.2f} %{_mark(r, 'copied_share')}"
        f"  [equal to a {r.copied_reference} song]",
    ]
    if r.holdout_copied_share is not None:
        lines.append(f"  held-out songs in train    {100 * r.holdout_copied_share:.2f} %  [the same test on real held-out songs]")
    if r.dcr is not None:
        q = r.dcr["quantiles"]
        lines += [
            "  distance to closest train song (standardized)   " + "  ".join(f"p{v:<5}" for v in q),
            "    synthetic                                     " + "  ".join(f"{v:<6.3f}" for v in r.dcr["synthetic"]),
            "    held-out real                                 " + "  ".join(f"{v:<6.3f}" for v in r.dcr["holdout"]),
            f"    synthetic at most the held-out p5: {100 * r.dcr['share_below_holdout_p5']:.2f} %  [about 5 % when synthetic songs are no closer to train than new real ones]",
        ]
    lines += [
        "",
        "playlists and moods",
        f"  playlist-length KS         {_f(r.length_ks)}{_mark(r, 'length_ks')}",
        f"  segment-count TV           {_f(r.segments_tv)}",
        f"  moods-per-segment TV       {_f(r.moods_per_segment_tv)}",
        f"  first-segment mood TV      {_f(r.first_segment_tv)}",
        f"  mood-transition TV         {_f(r.transition_tv)}{_mark(r, 'transition_tv')}",
        f"  per-mood feature means     mean {_f(r.mood_mean_mean_diff)}, max {_f(r.mood_mean_max_diff)} sd"
        f"{_mark(r, 'mood_mean_mean_diff')}  [{r.mood_mean_moods} moods with >= {MOOD_MIN_SONGS} songs a side]",
    ]
    return "\n".join(lines) + "\n"


def plot(report: FidelityReport, real: Union[Dataset, PathLike], synthetic: Union[Dataset, PathLike],
         path: PathLike) -> None:
    """A PNG of real against synthetic marginals (one histogram per feature) and the two
    Spearman matrices side by side, written to a temporary file renamed into place."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    xr = np.asarray(_load(real, "real").features, dtype=np.float64)
    xs = np.asarray(_load(synthetic, "synthetic").features, dtype=np.float64)
    names = report.feature_names
    d = len(names)
    cols = 4
    rows = (d + cols - 1) // cols
    fig = plt.figure(figsize=(4 * cols, 2.6 * rows + 6.5))
    gs = GridSpec(rows + 1, cols, figure=fig, height_ratios=[1] * rows + [2.4])
    for j, name in enumerate(names):
        ax = fig.add_subplot(gs[j // cols, j % cols])
        both = np.concatenate([xr[:, j], xs[:, j]])
        lo, hi = float(np.min(both)), float(np.max(both))
        integral = np.all(xr[:, j] == np.round(xr[:, j])) and hi - lo <= 40
        bins = np.arange(lo - 0.5, hi + 1.0) if integral else np.linspace(lo, hi if hi > lo else lo + 1, 41)
        ax.hist(xr[:, j], bins=bins, density=True, histtype="stepfilled", alpha=0.45, label="real")
        ax.hist(xs[:, j], bins=bins, density=True, histtype="step", linewidth=1.4, label="synthetic")
        ax.set_title(f"{name}  KS {_f(report.ks[j])}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        if j == 0:
            ax.legend(fontsize=7)
    short = [n[:5] for n in names]
    for k, (title, mat) in enumerate((("Spearman, real", report.spearman_real),
                                       ("Spearman, synthetic", report.spearman_synthetic))):
        ax = fig.add_subplot(gs[rows, 2 * k:2 * k + 2] if cols >= 4 else gs[rows, k])
        im = ax.imshow(np.asarray(mat, dtype=float), vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(d), short, rotation=90, fontsize=7)
        ax.set_yticks(range(d), short, fontsize=7)
        ax.set_title(title + (f"  (largest diff {_f(report.spearman_max_diff)})" if k else ""), fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(f"real vs synthetic: mean KS {_f(report.ks_mean)}, classifier AUC {_f(report.classifier_auc)}",
                 fontsize=12)
    fig.tight_layout()
    with atomic_output(os.fspath(path)) as f:
        fig.savefig(f, format="png", dpi=90)
    plt.close(fig)


# --- command line ----------------------------------------------------------------------------

def _seed_arg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2^32 - 1], got '{text}'")
    return v


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m playaug.compare",
        description="Fidelity report of a synthetic playlist dataset against real data (docs/compare.md).")
    ap.add_argument("real", help="real playlists (CSV): in the held-out protocol, the half the generator did not see")
    ap.add_argument("synthetic", help="synthetic playlists (CSV)")
    ap.add_argument("--train", help="the playlists the generator was fitted on: reference of the copied-song "
                                    "share and of the distance-to-closest-record check")
    ap.add_argument("--plot", metavar="FILE.png", help="write a figure of marginals and Spearman matrices")
    ap.add_argument("--json", action="store_true", help="print the numbers as one JSON object instead of the table")
    ap.add_argument("--seed", type=_seed_arg, default=0, help="seed of the subsampling and the classifier (default 0)")
    args = ap.parse_args(argv)
    try:
        real = read_csv(args.real)
        synthetic = read_csv(args.synthetic)
        train = read_csv(args.train) if args.train else None
        report = compare(real, synthetic, train=train, seed=args.seed)
        report.sources = {k: v for k, v in (("real", args.real), ("synthetic", args.synthetic),
                                            ("train", args.train)) if v}
        if args.plot:
            plot(report, real, synthetic, args.plot)
    except (ValueError, OSError) as e:  # DataError is a ValueError
        print(f"playaug: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(report.to_json())
    else:
        sys.stdout.write(format_table(report))
    return 0


class _CallableModule(types.ModuleType):
    """playaug.compare is both this module and, called, the compare() function."""

    def __call__(self, *args: Any, **kwargs: Any) -> FidelityReport:
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
