"""PCA and Moments: against scikit-learn and a float64 numpy reference, and against the CLI."""

import json
import pickle

import numpy as np
import pytest

import playaug
from conftest import SAMPLE


def sklearn_pca(x, k):
    from sklearn.decomposition import PCA as SkPCA

    return SkPCA(n_components=k, svd_solver="covariance_eigh").fit(x.astype(np.float64))


def sign_aligned(a, ref):
    """Rows of a with signs flipped to agree with ref (scikit-learn's sign rule may differ)."""
    s = np.sign(np.sum(a * ref, axis=1, keepdims=True))
    return a * s


@pytest.mark.parametrize("k", [3, 11])
def test_pca_matches_scikit_learn_on_the_sample(sample, k):
    x = sample.features
    pca = playaug.PCA(k, device="cpu").fit(x)
    ref = sklearn_pca(x, k)
    np.testing.assert_allclose(pca.mean_, ref.mean_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(pca.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(sign_aligned(pca.components_, ref.components_)[:3], ref.components_[:3],
                               atol=1e-7)
    y = pca.transform(x)
    assert y.dtype == np.float32 and y.shape == (len(x), k)
    np.testing.assert_allclose(sign_aligned(y.T, ref.transform(x.astype(np.float64)).T)[:3].T,
                               ref.transform(x.astype(np.float64))[:, :3], rtol=1e-4, atol=1e-3)


def test_pca_on_real_playlists_and_the_variance_rule(real_playlists):
    ds = playaug.read_csv(real_playlists)
    ref = sklearn_pca(ds.features, 0.99)
    pca = playaug.PCA(0.99).fit(real_playlists)  # streamed from the file
    assert pca.n_components_ == ref.n_components_
    assert pca.n_samples_ == ds.n_songs
    np.testing.assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(pca.mean_, ref.mean_, rtol=1e-9)
    assert list(pca.feature_names_in_) == ds.feature_names


def test_standardized_pca_is_the_correlation_pca(sample):
    x = sample.features.astype(np.float64)
    pca = playaug.PCA(standardize=True).fit(sample)
    corr = np.corrcoef(x.T)
    w = np.linalg.eigvalsh(corr)[::-1]
    np.testing.assert_allclose(pca.explained_variance_, w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pca.scale_, x.std(axis=0, ddof=1), rtol=1e-9)


def test_inverse_transform_reconstructs(sample):
    pca = playaug.PCA().fit(sample)
    y = pca.transform(sample.features)
    back = pca.inverse_transform(y)
    np.testing.assert_allclose(back, sample.features, rtol=1e-4, atol=1e-3)
    assert pca.fit_transform(sample).shape == (sample.n_songs, 11)


def test_estimator_contract():
    pca = playaug.PCA(3, standardize=True)
    assert pca.get_params() == {"n_components": 3, "standardize": True, "per_playlist": None,
                                "weight": "playlists", "device": "auto"}
    assert pca.set_params(n_components=0.9) is pca and pca.n_components == 0.9
    with pytest.raises(ValueError, match="Invalid parameter"):
        pca.set_params(whiten=True)
    with pytest.raises(AttributeError, match="not fitted"):
        pca.transform(np.zeros((2, 11), np.float32))
    assert not hasattr(pca, "components_")
    with pytest.raises(ValueError, match="n_components"):
        playaug.PCA(0).fit(np.random.rand(5, 3).astype(np.float32))
    with pytest.raises(ValueError, match="n_components"):
        playaug.PCA(1.5).fit(np.random.rand(5, 3).astype(np.float32))
    with pytest.raises(TypeError, match="n_components"):
        playaug.PCA("three").fit(np.random.rand(5, 3).astype(np.float32))
    with pytest.raises(ValueError, match="device"):
        playaug.PCA(device="tpu").fit(np.random.rand(5, 3).astype(np.float32))


def test_transform_input_errors(sample):
    pca = playaug.PCA(3).fit(sample)
    with pytest.raises(ValueError, match="11"):
        pca.transform(np.zeros((4, 5), np.float32))
    # Documented: NumPy inputs of another dtype or layout are converted (one copy).
    x = sample.features[:8]
    want = pca.transform(x)
    np.testing.assert_array_equal(pca.transform(np.asfortranarray(x)), want)
    np.testing.assert_array_equal(pca.transform(x.astype(np.float64)), want)
    with pytest.raises(ValueError, match="matrix"):
        pca.transform(np.zeros(11, np.float32))


def test_cli_model_loads_in_python_and_back(cli, tmp_path, sample):
    model = tmp_path / "model.json"
    cli("fit-pca", SAMPLE, "-o", model, "--variance", "0.99", "--device", "cpu")
    loaded = playaug.PCA.load(model)
    fitted = playaug.PCA(0.99, device="cpu").fit(SAMPLE)
    for name in ("mean_", "scale_", "components_", "explained_variance_", "explained_variance_ratio_"):
        np.testing.assert_allclose(getattr(loaded, name), getattr(fitted, name), rtol=1e-12, atol=1e-15)
    assert loaded.n_components_ == fitted.n_components_ and loaded.n_samples_ == fitted.n_samples_
    # Python's model drives the CLI's transform, with the same result as Python's transform.
    saved = tmp_path / "py-model.json"
    fitted.save(saved)
    assert json.loads(saved.read_text()) == json.loads(model.read_text())
    coords = tmp_path / "coords.csv"
    cli("transform", SAMPLE, "--model", saved, "-o", coords, "--device", "cpu")
    np.testing.assert_array_equal(playaug.read_csv(coords).features, fitted.transform(sample.features))


def test_numpy_and_torch_inputs_give_identical_results(sample):
    torch = pytest.importorskip("torch")
    pca = playaug.PCA(3).fit(sample)
    y_np = pca.transform(sample.features)
    y_t = pca.transform(torch.from_numpy(sample.features))
    assert isinstance(y_t, torch.Tensor)
    np.testing.assert_array_equal(y_t.numpy(), y_np)
    m_np = playaug.Moments.of(sample.features)
    m_t = playaug.Moments.of(torch.from_numpy(sample.features))
    np.testing.assert_array_equal(m_np.comoment, m_t.comoment)


# --- Moments ------------------------------------------------------------------------------

def reference_moments(x):
    x = x.astype(np.float64)
    mu = x.mean(axis=0)
    c = (x - mu).T @ (x - mu)
    return mu, c


@pytest.mark.parametrize("cuts", [[1], [7, 8], [100, 2000, 2001, 3000]])
def test_moments_of_any_split_merge_to_the_whole(sample, cuts):
    x = sample.features
    whole = playaug.Moments.of(x)
    parts = [playaug.Moments.of(p) for p in np.split(x, cuts)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged + p
    assert merged.n == whole.n == len(x)
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(merged.comoment, whole.comoment, rtol=1e-12, atol=1e-12 * np.abs(whole.comoment).max())
    mu, c = reference_moments(x)
    np.testing.assert_allclose(whole.mean, mu, rtol=1e-12)
    np.testing.assert_allclose(whole.comoment, c, rtol=1e-9, atol=1e-9 * np.abs(c).max())
    np.testing.assert_allclose(whole.covariance(), np.cov(x.astype(np.float64).T), rtol=1e-9)


def test_moments_pickle_exactly_and_fit_a_pca(sample):
    m = playaug.Moments.of(sample)
    back = pickle.loads(pickle.dumps(m))
    assert back.n == m.n
    np.testing.assert_array_equal(back.mean, m.mean)
    np.testing.assert_array_equal(back.comoment, m.comoment)
    a = playaug.PCA.from_moments(back, 3, feature_names=sample.feature_names)
    b = playaug.PCA(3).fit(sample)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert playaug.Moments(11).n == 0
    with pytest.raises(TypeError):
        m.merge("x")
    with pytest.raises(ValueError):
        m.merge(playaug.Moments.of(np.ones((3, 2), np.float32)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_eigenvalue_of_a_graded_covariance_is_relatively_accurate(seed):
    # An unstandardized covariance is graded: here variances from 1e4 down to 1e-6 over a
    # dense, well-conditioned correlation matrix. The CPU engine's Jacobi solver gets every
    # eigenvalue to about kappa(R) * eps of itself (docs/pca.md, "Eigendecomposition"),
    # against 50-digit arithmetic (mpmath) on the very matrix it was given; a Householder
    # solver is only accurate to about eps * the largest, 1e-10 of the smallest here.
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(seed)
    d = 11
    g = rng.standard_normal((d, 3 * d))
    s = g @ g.T
    r = s / np.sqrt(np.outer(np.diag(s), np.diag(s)))
    scale = np.logspace(2, -3, d)[rng.permutation(d)]
    n = 1001
    m = playaug.Moments.from_json(json.dumps({
        "format": "playaug-moments", "version": 1, "n": n, "mean": [0.0] * d,
        "comoment": (r * np.outer(scale, scale) * (n - 1)).tolist()}))
    cov = m.covariance()  # what the solver sees, exactly
    mpmath.mp.dps = 50
    exact = np.array(sorted((float(v) for v in mpmath.eigsy(mpmath.matrix(cov.tolist()), eigvals_only=True)),
                            reverse=True))
    assert exact[0] / exact[-1] > 1e9
    kappa_r = np.linalg.cond(r)
    got = playaug.PCA.from_moments(m, device="cpu").eigenvalues_
    assert np.max(np.abs(got - exact) / exact) <= 4 * kappa_r * np.finfo(np.float64).eps
