"""playaug.compare, the fidelity report: every number against an independent computation
(scipy, pandas, scikit-learn, or plain Python loops over the playlists)."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

import playaug
from conftest import REPO

NAMES = ["a", "b", "c"]


def dataset(features, lengths, moods=None, names=NAMES):
    lengths = list(lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if moods is None:
        moods = [[[0]] for _ in lengths]
    return playaug.Dataset(np.asarray(features, dtype=np.float32), offsets, moods, feature_names=names)


def playlist_data(rng, n_playlists, effect=1.0, shift=0.0, lo=1, hi=30):
    """Songs with a per-playlist random effect (so ICC > 0), unequal playlist sizes, a tied
    integer column and a skewed one."""
    lengths = rng.integers(lo, hi + 1, size=n_playlists)
    centre = rng.normal(0, effect, size=(n_playlists, 3))
    x = np.repeat(centre, lengths, axis=0) + rng.normal(0, 1, size=(lengths.sum(), 3))
    x[:, 1] = np.round(2 * x[:, 1])            # ties
    x[:, 2] = np.exp(x[:, 2] / 2) + x[:, 0] / 3  # skewed, correlated with column 0
    return x + shift, lengths


def groupby_icc(x, lengths):
    """ICC(1) from pandas groupby sums: one-way ANOVA over playlists with >= 2 songs."""
    df = pd.DataFrame(x.astype(np.float32).astype(np.float64))
    df["p"] = np.repeat(np.arange(len(lengths)), lengths)
    df = df[df.groupby("p")["p"].transform("size") >= 2]
    g = df.groupby("p")
    n = g.size().to_numpy(float)
    k, big_n = len(n), n.sum()
    out = []
    for col in range(x.shape[1]):
        s = g[col].sum().to_numpy()
        ss = g[col].apply(lambda v: (v**2).sum()).to_numpy()
        grand = s.sum() / big_n
        ssw = (ss - s**2 / n).sum()
        ssb = (s**2 / n).sum() - big_n * grand**2
        msb, msw = ssb / (k - 1), ssw / (big_n - k)
        n0 = (big_n - (n**2).sum() / big_n) / (k - 1)
        out.append((msb - msw) / (msb + (n0 - 1) * msw))
    return np.array(out)


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    xr, lr = playlist_data(rng, 60, effect=1.0)
    xs, ls = playlist_data(rng, 45, effect=0.4, shift=0.2, lo=1, hi=20)
    real, synth = dataset(xr, lr), dataset(xs, ls)
    return real, synth, xr, lr, xs, ls, playaug.compare(real, synth, seed=5)


def test_ks_against_scipy(pair):
    real, synth, xr, lr, xs, ls, rep = pair
    f32 = lambda v: v.astype(np.float32).astype(np.float64)  # noqa: E731  (what the dataset holds)
    want = [stats.ks_2samp(f32(xr[:, j]), f32(xs[:, j])).statistic for j in range(3)]
    assert rep.ks == pytest.approx(want, abs=1e-12)
    assert rep.ks_mean == pytest.approx(np.mean(want)) and rep.ks_max == pytest.approx(max(want))
    assert rep.length_ks == pytest.approx(stats.ks_2samp(lr, ls).statistic, abs=1e-12)
    assert rep.feature_names == NAMES
    assert (rep.real_songs, rep.synthetic_songs) == (lr.sum(), ls.sum())


def test_spearman_against_pandas(pair):
    real, synth, xr, lr, xs, ls, rep = pair
    cr = pd.DataFrame(xr.astype(np.float32)).corr(method="spearman").to_numpy()
    cs = pd.DataFrame(xs.astype(np.float32)).corr(method="spearman").to_numpy()
    np.testing.assert_allclose(rep.spearman_real, cr, atol=1e-10)
    np.testing.assert_allclose(rep.spearman_synthetic, cs, atol=1e-10)
    assert rep.spearman_max_diff == pytest.approx(np.abs(cr - cs).max(), abs=1e-10)
    assert rep.spearman_max_diff > 0.01


def test_icc_against_groupby_sums(pair):
    real, synth, xr, lr, xs, ls, rep = pair
    assert (lr == 1).any() and (ls == 1).any()  # single-song playlists are left out
    ir, is_ = groupby_icc(xr, lr), groupby_icc(xs, ls)
    np.testing.assert_allclose(rep.icc_real, ir, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rep.icc_synthetic, is_, rtol=1e-9, atol=1e-12)
    assert rep.icc_mean_abs_diff == pytest.approx(np.mean(np.abs(ir - is_)))
    # a playlist effect of sd 1 over unit noise: ICC about 0.5 on column 0, and less with sd 0.4
    assert 0.3 < rep.icc_real[0] < 0.7 and rep.icc_synthetic[0] < rep.icc_real[0]


def test_icc_recovers_a_known_process():
    rng = np.random.default_rng(11)
    lengths = rng.integers(2, 40, size=2000)
    x = np.repeat(rng.normal(0, 1, size=(2000, 1)), lengths, axis=0) * np.array([[1.0, 0.5, 0.0]])
    x = x + rng.normal(0, 1, size=x.shape)
    got = playaug.compare.icc1(x, np.concatenate([[0], np.cumsum(lengths)]))
    # true ICC = s_b^2 / (s_b^2 + s_w^2): 0.5, 0.2, 0
    np.testing.assert_allclose(got, [0.5, 0.2, 0.0], atol=0.03)


def test_classifier_auc_known_cases():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6000, 3))
    same_a, same_b = dataset(x[:3000], [30] * 100), dataset(x[3000:], [30] * 100)
    apart = dataset(x[3000:] + np.array([4.0, 0, 0]), [30] * 100)
    rep_same = playaug.compare(same_a, same_b, seed=1)
    rep_apart = playaug.compare(same_a, apart, seed=1)
    assert abs(rep_same.classifier_auc - 0.5) < 0.05
    assert rep_apart.classifier_auc > 0.98
    assert rep_same.classifier_songs_per_side == 3000
    # the larger side is subsampled to the smaller's size
    small = dataset(x[:500], [50] * 10)
    assert playaug.compare(small, same_b).classifier_songs_per_side == 500

    # a shift of 0.5 sd in one of three unit normal features: the best possible classifier
    # (the likelihood ratio, monotone in that feature) has AUC Phi(0.5 / sqrt(2)) = 0.638
    got = playaug.compare.classifier_auc(x[:3000], x[3000:] + np.array([0.5, 0, 0]), seed=2)[0]
    assert abs(got - stats.norm.cdf(0.5 / np.sqrt(2))) < 0.04


def test_copied_share_exact():
    rng = np.random.default_rng(4)
    train_x = np.round(rng.uniform(0, 1, size=(200, 3)), 3)
    train_x[:, 1] = rng.integers(0, 12, size=200)  # an integer column: 0 decimals
    train = dataset(train_x, [20] * 10)
    copies = train_x[:7].copy()                         # 7 verbatim
    near = train_x[7:12].copy()
    near[:, 0] += 0.0004                                # 5 equal at 3 decimals: copies too
    off = train_x[12:20].copy()
    off[:, 0] = np.where(off[:, 0] < 0.5, off[:, 0] + 0.002, off[:, 0] - 0.002)  # 8 that differ
    fresh = np.round(rng.uniform(0, 1, size=(30, 3)), 3) + 0.0001234              # 30 new
    syn_x = np.concatenate([copies, near, off, fresh])
    synth = dataset(syn_x, [10] * 5)
    rep = playaug.compare(train, synth)
    assert rep.copied_decimals == [3, 0, 3]
    # the rounding rule, computed another way: tuples of rounded decimal strings
    key = lambda r: (f"{r[0]:.3f}", f"{r[1]:.0f}", f"{r[2]:.3f}")  # noqa: E731
    seen = {key(r) for r in train_x.astype(np.float32).astype(float)}
    want = sum(key(r) in seen for r in syn_x.astype(np.float32).astype(float)) / len(syn_x)
    assert want == pytest.approx(12 / 50)
    assert rep.copied_share == pytest.approx(want)
    assert rep.copied_reference == "real"
    rep_t = playaug.compare(synth, synth, train=train)
    assert rep_t.copied_reference == "train" and rep_t.copied_share == pytest.approx(12 / 50)


def test_feature_decimals():
    x = np.array([[0.5, 120.036, 2.33e-05, 3.0], [0.25, 99.9, 0.0, 11.0]])
    assert list(playaug.compare.feature_decimals(x)) == [2, 3, 7, 0]


def test_dcr_against_brute_force():
    rng = np.random.default_rng(8)
    train_x = rng.normal(size=(400, 3)) * np.array([1.0, 10.0, 0.1])
    hold_x = rng.normal(size=(300, 3)) * np.array([1.0, 10.0, 0.1])
    syn_x = np.concatenate([train_x[:100], rng.normal(size=(200, 3)) * np.array([1.0, 10.0, 0.1])])
    rep = playaug.compare(dataset(hold_x, [30] * 10), dataset(syn_x, [30] * 10), train=dataset(train_x, [40] * 10))
    t32 = train_x.astype(np.float32).astype(float)
    mean, sd = t32.mean(axis=0), t32.std(axis=0)
    z = lambda v: (v.astype(np.float32).astype(float) - mean) / sd  # noqa: E731
    d_syn = cdist(z(syn_x), z(train_x)).min(axis=1)
    d_hold = cdist(z(hold_x), z(train_x)).min(axis=1)
    np.testing.assert_allclose(rep.dcr["synthetic"], np.percentile(d_syn, [5, 25, 50]), atol=1e-9)
    np.testing.assert_allclose(rep.dcr["holdout"], np.percentile(d_hold, [5, 25, 50]), atol=1e-9)
    p5 = np.percentile(d_hold, 5)
    assert rep.dcr["share_below_holdout_p5"] == pytest.approx(np.mean(d_syn <= p5))
    assert rep.dcr["share_below_holdout_p5"] > 1 / 3  # the 100 copies sit at distance 0
    assert rep.holdout_copied_share == 0.0 and rep.copied_share == pytest.approx(1 / 3)


# --- moods: hand-made sequences, counted another way ------------------------------------------

REAL_MOODS = [[[1], [2]], [[1], [3], [2]], [[2, 4], [1]], [[1]], [[3, 3], [1, 2]]]
SYN_MOODS = [[[1], [3]], [[2], [1], [4]], [[1, 2], [2]], [[3], [1]], [[1]], [[2]]]


def counted_tv(p, q):
    p, q = collections.Counter(p), collections.Counter(q)
    np_, nq = sum(p.values()), sum(q.values())
    return 0.5 * sum(abs(p[k] / np_ - q[k] / nq) for k in set(p) | set(q))


def loop_transitions(playlists):
    out = []
    for pl in playlists:
        for s, t in zip(pl, pl[1:]):
            out += [(a, b) for a in sorted(set(s)) for b in sorted(set(t))]
    return out


def test_mood_distances_hand_made():
    rng = np.random.default_rng(2)
    lr = [4, 6, 3, 2, 5]
    ls = [3, 3, 4, 2, 2, 2]
    real = dataset(rng.normal(size=(sum(lr), 3)), lr, REAL_MOODS)
    synth = dataset(rng.normal(size=(sum(ls), 3)), ls, SYN_MOODS)
    rep = playaug.compare(real, synth)
    assert rep.segments_tv == pytest.approx(counted_tv([len(p) for p in REAL_MOODS], [len(p) for p in SYN_MOODS]))
    assert rep.moods_per_segment_tv == pytest.approx(
        counted_tv([len(set(s)) for p in REAL_MOODS for s in p], [len(set(s)) for p in SYN_MOODS for s in p]))
    assert rep.first_segment_tv == pytest.approx(
        counted_tv([m for p in REAL_MOODS for m in set(p[0])], [m for p in SYN_MOODS for m in set(p[0])]))
    # transitions: rows a -> b, row-normalised, TV per row weighted by the real rows' mass
    tr, ts = loop_transitions(REAL_MOODS), loop_transitions(SYN_MOODS)
    want = 0.0
    for a, w in collections.Counter(a for a, _ in tr).items():
        rrow = [b for x, b in tr if x == a]
        srow = [b for x, b in ts if x == a]
        want += w / len(tr) * (counted_tv(rrow, srow) if srow else 1.0)
    assert rep.transition_tv == pytest.approx(want)
    assert 0 < want < 1
    # by hand for one row: real 1 -> {2, 3} (1/2 each), synthetic 1 -> {3, 4, 2} (1/3 each): TV 1/3
    assert counted_tv([b for x, b in tr if x == 1], [b for x, b in ts if x == 1]) == pytest.approx(1 / 3)


def test_no_transitions_is_undefined():
    real = dataset(np.zeros((4, 3)) + np.arange(4)[:, None], [2, 2], [[[0]], [[0]]])
    rep = playaug.compare(real, real)
    assert np.isnan(rep.transition_tv) and rep.meets("transition_tv") is None
    assert rep.to_dict()["transition_tv"] is None
    assert "n/a" in str(rep)


def per_mood_means(features, lengths, playlists, mean, sd):
    """Per-mood mean of standardized features, song by song: song i of n in a playlist of S
    segments belongs to segment floor(i * S / n)."""
    sums, counts = collections.defaultdict(lambda: np.zeros(3)), collections.Counter()
    row = 0
    for n, pl in zip(lengths, playlists):
        for i in range(n):
            seg = pl[i * len(pl) // n]
            for m in set(seg):
                sums[m] += (features[row] - mean) / sd
                counts[m] += 1
            row += 1
    return {m: sums[m] / counts[m] for m in counts}, counts


def test_per_mood_means_by_song_loop():
    rng = np.random.default_rng(6)
    moods = [[[0], [1, 2]], [[2], [0]], [[1], [2], [0, 1]]]
    pls_r = [moods[i % 3] for i in range(120)]
    pls_s = [moods[(i + 1) % 3] for i in range(90)]
    lr = rng.integers(2, 12, size=120)
    ls = rng.integers(2, 12, size=90)
    xr = rng.normal(size=(lr.sum(), 3)).astype(np.float32).astype(float)
    xs = (rng.normal(size=(ls.sum(), 3)) + 0.1).astype(np.float32).astype(float)
    rep = playaug.compare(dataset(xr, lr, pls_r), dataset(xs, ls, pls_s))
    mean, sd = xr.mean(axis=0), xr.std(axis=0)
    mr, cr = per_mood_means(xr, lr, pls_r, mean, sd)
    ms, cs = per_mood_means(xs, ls, pls_s, mean, sd)
    keep = [m for m in mr if cr[m] >= 20 and cs[m] >= 20]
    diff = np.abs(np.stack([mr[m] - ms[m] for m in keep]))
    assert rep.mood_mean_moods == len(keep) == 3
    assert rep.mood_mean_max_diff == pytest.approx(diff.max())
    assert rep.mood_mean_mean_diff == pytest.approx(diff.mean())


# --- errors -------------------------------------------------------------------------------------

def test_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(",moods_states,features\nok1,[[1]],\"[[0.5, 0.25]]\"\nbad2,[[2]],\"[[0.5, oops]]\"\n")
    with pytest.raises(playaug.DataError, match=r"bad\.csv:3:"):
        playaug.compare(bad, bad)
    empty = dataset(np.zeros((0, 3)), [0, 0])
    some = dataset(np.ones((4, 3)), [4])
    with pytest.raises(ValueError, match="has no songs"):
        playaug.compare(some, empty)
    with pytest.raises(ValueError, match="features"):
        playaug.compare(some, dataset(np.ones((4, 3)), [4], names=["x", "y", "z"]))
    with pytest.raises(TypeError, match="Dataset or a path"):
        playaug.compare(some, 3)
    with pytest.raises(ValueError, match="seed"):
        playaug.compare(some, some, seed=-1)


def run_module(*args):
    return subprocess.run([sys.executable, "-m", "playaug.compare", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_cli_json_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(9)
    paths = {}
    for name, shift in (("real", 0.0), ("synth", 0.3), ("train", 0.0)):
        x, lengths = playlist_data(rng, 40, shift=shift)
        paths[name] = tmp_path / f"{name}.csv"
        playaug.write_csv(paths[name], dataset(x, lengths, [[[1], [2]]] * len(lengths)))
    png = tmp_path / "report.png"
    proc = run_module(paths["real"], paths["synth"], "--train", paths["train"], "--json", "--plot", png, "--seed", 3)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    got = json.loads(proc.stdout)
    want = playaug.compare(paths["real"], paths["synth"], train=paths["train"], seed=3).to_dict()
    for k in ("ks", "ks_mean", "spearman_max_diff", "icc_real", "classifier_auc", "copied_share", "dcr",
              "length_ks", "transition_tv", "mood_mean_max_diff"):
        assert got[k] == pytest.approx(want[k]) if not isinstance(want[k], dict) else got[k] == want[k], k
    assert got["targets"]["ks_mean"]["value"] == 0.03
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    img = matplotlib.image.imread(png)
    assert img.shape[0] > 400 and img.shape[1] > 400
    assert not list(tmp_path.glob(".*.tmp-*"))
    # the table, and a bad file: exit 1 naming file and line
    table = run_module(paths["real"], paths["synth"])
    assert table.returncode == 0 and "mean KS" in table.stdout and "classifier AUC" in table.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(",moods_states,features\nx,[[1]],\"[[0.5, 1, 2]]\"\ny,[[1]],\"[[0.5]]\"\n")
    err = run_module(paths["real"], bad)
    assert err.returncode == 1 and f"playaug: error: {bad}:3:" in err.stderr
    usage = run_module(paths["real"], paths["synth"], "--seed", "-3")
    assert usage.returncode == 2 and "--seed" in usage.stderr


def test_module_is_callable_and_exported():
    import playaug.compare as mod

    assert playaug.compare is mod and callable(playaug.compare)
    assert playaug.FidelityReport is mod.FidelityReport and "compare" in playaug.__all__


# --- real data ----------------------------------------------------------------------------------

def test_holdout_split_partitions_playlists(sample):
    a, b = playaug.compare.holdout_split(sample, seed=4)
    assert len(a) == len(sample) // 2 and len(a) + len(b) == len(sample)
    ids = {pid: i for i, pid in enumerate(sample.ids)}
    assert sorted(ids[p] for p in a.ids + b.ids) == list(range(len(sample)))
    perm = np.random.default_rng(4).permutation(len(sample))
    assert [ids[p] for p in a.ids] == sorted(perm[: len(sample) // 2])
    for half in (a, b):
        for j in (0, len(half) - 1):
            moods, feats = half[j]
            i = ids[half.ids[j]]
            assert moods == sample.moods[i] and np.array_equal(feats, sample[i][1])
        assert half.feature_names == sample.feature_names
    assert a.n_songs + b.n_songs == sample.n_songs
    assert playaug.compare.holdout_split(sample, seed=4)[0] == a


def test_real_playlists(real_playlists):
    ds = playaug.read_csv(real_playlists)
    train, hold = playaug.compare.holdout_split(ds, seed=0)
    rr = playaug.compare(hold, train, seed=0)
    # two halves of the same real playlists: close on every song-level number
    assert rr.classifier_auc < 0.58
    assert rr.ks_mean < 0.03 and rr.spearman_max_diff < 0.1 and rr.icc_mean_abs_diff < 0.06
    # ... and within-playlist similarity is real: songs of one playlist resemble each other
    assert np.nanmean(rr.icc_real) > 0.1
    # the rule-based generator is easy to tell from real songs
    rule = playaug.synth(len(hold), seed=1)
    rs = playaug.compare(hold, rule, train=train, seed=0)
    assert rs.classifier_auc > 0.85 and rs.ks_mean > rr.ks_mean
    assert rs.copied_share == 0.0 and rs.dcr["synthetic"][2] > 0
    # real KS against scipy on one feature
    j = rr.feature_names.index("tempo")
    assert rr.ks[j] == pytest.approx(stats.ks_2samp(hold.features[:, j], train.features[:, j]).statistic)


def test_plot_replaces_a_file_keeping_its_mode(tmp_path, sample):
    pytest.importorskip("matplotlib")
    synth = playaug.synth(300, seed=5, empty_fraction=0.05)
    assert (np.diff(sample.offsets) == 0).any() and (np.diff(synth.offsets) == 0).any()
    rep = playaug.compare(sample, synth)
    # empty playlists count in the length distribution
    assert rep.length_ks == pytest.approx(stats.ks_2samp(np.diff(sample.offsets), np.diff(synth.offsets)).statistic)
    png = tmp_path / "fig.png"
    png.write_text("old")
    png.chmod(0o640)
    playaug.compare.plot(rep, sample, synth, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (png.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_classifier_split_by_playlist():
    # Both sides come from one process: playlists are tight clusters around random centres.
    # A split of songs at random puts songs of one playlist on both sides, so the classifier
    # can recognise the real side's playlists; the report's split keeps every playlist on
    # one side and sees through it.
    rng = np.random.default_rng(1)

    def side(playlists: int):
        centres = rng.normal(size=(playlists, 3))
        return np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(playlists * 10, 3))

    a, b = side(400), side(400)
    groups = np.repeat(np.arange(400), 10)
    by_song = playaug.compare.classifier_auc(a, b, seed=3)[0]
    by_playlist = playaug.compare.classifier_auc(a, b, seed=3, real_groups=groups, synthetic_groups=groups)[0]
    assert by_song > 0.85
    assert abs(by_playlist - 0.5) < 0.06
    # and the report uses the split by playlist
    rep = playaug.compare(dataset(a, [10] * 400), dataset(b, [10] * 400), seed=3)
    assert abs(rep.classifier_auc - 0.5) < 0.06

    # the test side holds whole playlists, about 30 % of the songs
    g = np.repeat(np.arange(50), rng.integers(1, 40, size=50))
    mask = playaug.compare._test_mask(g, np.random.default_rng(0), 0.3)
    for p in np.unique(g):
        assert mask[g == p].all() or not mask[g == p].any()
    assert 0.3 <= mask.mean() < 0.3 + 40 / len(g)
