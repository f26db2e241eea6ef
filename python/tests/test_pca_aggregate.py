"""PCA(per_playlist=...) and fit-pca --per-playlist --aggregate against a numpy reference:
per-playlist ``eigh``, the average of the rank-k projectors, the pooled within-playlist
covariance; on the shipped sample and the real playlists; sign and order invariance."""

import json

import numpy as np
import pytest

import playaug
from conftest import SAMPLE


def playlists_of(ds):
    off = ds.offsets
    x = ds.features.astype(np.float64)
    return [x[off[p]:off[p + 1]] for p in range(len(off) - 1)]


def reference(ds, method, weight, k=None, variance=None, flip_rng=None):
    """The averaged matrix, its eigendecomposition (descending), the kept k and the counts.
    With flip_rng, every playlist's eigenvectors get random signs and its eigenvectors of
    near-equal eigenvalues (within the kept block, or within the dropped block) a random
    order before the projector is formed."""
    d = ds.dim
    total = np.zeros((d, d))
    wsum = 0.0
    ranks = []
    counts = dict(aggregated=0, empty=0, too_few_songs=0, low_rank=0)
    for x in playlists_of(ds):
        n = len(x)
        if n == 0:
            counts["empty"] += 1
            continue
        if n < 2 or (method == "projector" and k is not None and n < k + 1):
            counts["too_few_songs"] += 1
            continue
        cov = np.cov(x.T, ddof=1).reshape(d, d)
        if method == "pooled":
            m = cov
            w = 1.0 if weight == "playlists" else n - 1.0
        else:
            vals, vecs = np.linalg.eigh(cov)
            vals, vecs = np.clip(vals[::-1], 0, None), vecs[:, ::-1]
            kk = k
            if kk is None:
                cum = np.cumsum(vals / vals.sum())
                kk = int(np.argmax(cum > variance)) + 1
            if not vals[kk - 1] > 64 * np.finfo(float).eps * vals[0]:
                counts["low_rank"] += 1
                continue
            if flip_rng is not None:
                vecs = vecs * flip_rng.choice([-1.0, 1.0], size=d)
                kept = list(flip_rng.permutation(kk)) + list(kk + flip_rng.permutation(d - kk))
                vecs = vecs[:, kept]
            v = vecs[:, :kk]
            m = v @ v.T
            w = 1.0 if weight == "playlists" else float(n)
            ranks.append((w, kk))
        total += w * m
        wsum += w
        counts["aggregated"] += 1
    avg = total / wsum
    vals, vecs = np.linalg.eigh(avg)
    vals, vecs = vals[::-1], vecs[:, ::-1].T
    if k is not None:
        keep = k
    elif method == "projector":
        keep = int(np.clip(np.floor(sum(w * r for w, r in ranks) / wsum + 0.5), 1, d))
    else:
        keep = int(np.argmax(np.cumsum(vals / vals.sum()) > variance)) + 1
    return avg, vals, vecs, keep, counts


def projector(rows):
    return rows.T @ rows


@pytest.mark.parametrize("method", ["projector", "pooled"])
@pytest.mark.parametrize("weight", ["playlists", "songs"])
@pytest.mark.parametrize("k", [2, 3])
def test_matches_numpy_on_the_sample(sample, method, weight, k):
    avg, vals, vecs, keep, counts = reference(sample, method, weight, k=k)
    pca = playaug.PCA(k, per_playlist=method, weight=weight, device="cpu").fit(sample)
    assert pca.n_components_ == keep == k
    for key, value in counts.items():
        assert pca.aggregate_[key] == value, key
    assert pca.aggregate_["playlists"] == len(sample)
    np.testing.assert_allclose(pca.eigenvalues_, vals, rtol=1e-9, atol=1e-12 * vals[0])
    np.testing.assert_allclose(projector(pca.components_), projector(vecs[:k]), atol=1e-8)
    # The model centres on the mean of every song; the ratio is the songs' variance share.
    x = sample.features.astype(np.float64)
    np.testing.assert_allclose(pca.mean_, x.mean(axis=0), rtol=1e-12, atol=1e-12)
    s = np.cov(x.T)
    share = np.einsum("ci,ij,cj->c", pca.components_, s, pca.components_) / np.trace(s)
    np.testing.assert_allclose(pca.explained_variance_ratio_, share, rtol=1e-8, atol=1e-12)
    if method == "projector":
        assert np.all(pca.eigenvalues_ >= 0) and np.all(pca.eigenvalues_ <= 1)
        assert pca.eigenvalues_.sum() == pytest.approx(k, abs=1e-12)


def test_variance_rule_matches_numpy(sample):
    for method in ("projector", "pooled"):
        avg, vals, vecs, keep, _ = reference(sample, method, "playlists", variance=0.95)
        pca = playaug.PCA(0.95, per_playlist=method, device="cpu").fit(sample)
        assert pca.n_components_ == keep, method
        np.testing.assert_allclose(pca.eigenvalues_, vals, rtol=1e-9, atol=1e-12 * vals[0])


def test_signs_and_order_do_not_change_the_projector_average(sample):
    """Flipping the signs or reordering near-equal components of any playlist leaves the
    projector average as it is; an entrywise average of eigenvectors changes."""
    base = reference(sample, "projector", "playlists", k=3)[0]
    for seed in range(3):
        shuffled = reference(sample, "projector", "playlists", k=3, flip_rng=np.random.default_rng(seed))[0]
        np.testing.assert_allclose(shuffled, base, atol=1e-13)
    pca = playaug.PCA(3, per_playlist="projector", device="cpu").fit(sample)
    np.testing.assert_allclose(projector(pca.components_), projector(np.linalg.eigh(base)[1][:, ::-1][:, :3].T),
                               atol=1e-8)

    def naive(rng):
        acc = np.zeros((3, sample.dim))
        for x in playlists_of(sample):
            if len(x) < 4:
                continue
            vecs = np.linalg.eigh(np.cov(x.T))[1][:, ::-1][:, :3].T
            if rng is not None:
                vecs = vecs * rng.choice([-1.0, 1.0], size=(3, 1))
            acc += vecs
        return acc

    assert np.abs(naive(None) - naive(np.random.default_rng(0))).max() > 0.1


def test_real_playlists_against_numpy_and_the_cli(real_playlists, cli, tmp_path):
    ds = playaug.read_csv(real_playlists)
    for method in ("projector", "pooled"):
        avg, vals, vecs, keep, counts = reference(ds, method, "songs", k=3)
        pca = playaug.PCA(3, per_playlist=method, weight="songs", device="cpu").fit(real_playlists)  # streamed
        assert pca.aggregate_["aggregated"] == counts["aggregated"]
        assert pca.aggregate_["too_few_songs"] == counts["too_few_songs"]
        np.testing.assert_allclose(pca.eigenvalues_, vals, rtol=1e-8, atol=1e-11 * vals[0])
        np.testing.assert_allclose(projector(pca.components_), projector(vecs[:3]), atol=1e-7)
        model = tmp_path / f"{method}.json"
        out = cli("fit-pca", real_playlists, "--per-playlist", "--aggregate", method, "--weight", "songs", "-k", "3",
                  "-o", model, "--device", "cpu").stdout
        assert "principal angles to the global PCA's top 3 components" in out
        loaded = playaug.PCA.load(model)
        assert loaded.per_playlist == method and loaded.weight == "songs"
        np.testing.assert_allclose(loaded.components_, pca.components_, rtol=0, atol=1e-12)
        assert json.loads(model.read_text())["method"] == method


def test_cli_model_equals_python_and_transform_applies_it(cli, tmp_path, sample):
    model = tmp_path / "m.json"
    cli("fit-pca", SAMPLE, "--per-playlist", "--aggregate", "projector", "-k", "3", "-o", model, "--device", "cpu")
    fitted = playaug.PCA(3, per_playlist="projector", device="cpu").fit(SAMPLE)
    saved = tmp_path / "py.json"
    fitted.save(saved)
    assert json.loads(saved.read_text()) == json.loads(model.read_text())
    coords = tmp_path / "coords.csv"
    cli("transform", SAMPLE, "--model", model, "-o", coords, "--device", "cpu")
    np.testing.assert_array_equal(playaug.read_csv(coords).features, fitted.transform(sample.features))
    # The Dataset and the streamed file give the same model.
    from_ds = playaug.PCA(3, per_playlist="projector", device="cpu").fit(sample)
    np.testing.assert_allclose(from_ds.components_, fitted.components_, atol=1e-12)


def test_principal_angles_against_numpy(sample):
    agg = playaug.PCA(3, per_playlist="pooled", device="cpu").fit(sample)
    whole = playaug.PCA(3, device="cpu").fit(sample)
    got = playaug.principal_angles(agg, whole)
    sv = np.linalg.svd(agg.components_ @ whole.components_.T, compute_uv=False)
    np.testing.assert_allclose(np.cos(got), sv, atol=1e-12)
    assert np.all(np.diff(got) >= 0)
    np.testing.assert_allclose(playaug.principal_angles(whole, whole), 0.0, atol=1e-7)
    with pytest.raises(TypeError):
        playaug.principal_angles(agg, "model")


def test_parameters_and_errors(sample):
    pca = playaug.PCA(2, per_playlist="pooled", weight="songs")
    assert pca.get_params() == {"n_components": 2, "standardize": False, "per_playlist": "pooled",
                                "weight": "songs", "device": "auto"}
    with pytest.raises(ValueError, match="needs n_components"):
        playaug.PCA(per_playlist="projector").fit(sample)
    with pytest.raises(ValueError, match="per_playlist must be"):
        playaug.PCA(2, per_playlist="mean").fit(sample)
    with pytest.raises(ValueError, match="weight must be"):
        playaug.PCA(2, per_playlist="pooled", weight="tracks").fit(sample)
    with pytest.raises(ValueError, match="standardize"):
        playaug.PCA(2, per_playlist="pooled", standardize=True).fit(sample)
    with pytest.raises(TypeError, match="needs playlists"):
        playaug.PCA(2, per_playlist="pooled").fit(sample.features)
    with pytest.raises(ValueError, match="exceeds"):
        playaug.PCA(12, per_playlist="pooled").fit(sample)
    tiny = playaug.Dataset(np.arange(6, dtype=np.float32).reshape(3, 2), [0, 1, 3], [[[1]], [[2]]])
    with pytest.raises(RuntimeError, match="no playlist to aggregate"):
        playaug.PCA(2, per_playlist="projector").fit(tiny)
    # pooled keeps every component by default
    assert playaug.PCA(per_playlist="pooled").fit(sample).n_components_ == 11


@pytest.mark.gpu
def test_cuda_matches_cpu(sample):
    for method in ("projector", "pooled"):
        c = playaug.PCA(3, per_playlist=method, device="cpu").fit(sample)
        g = playaug.PCA(3, per_playlist=method, device="cuda").fit(sample)
        np.testing.assert_allclose(g.eigenvalues_, c.eigenvalues_, rtol=1e-9, atol=1e-12 * c.eigenvalues_[0])
        np.testing.assert_allclose(projector(g.components_), projector(c.components_), atol=1e-7)
        assert g.aggregate_ == c.aggregate_
