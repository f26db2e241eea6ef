"""augment, protuberance and reverse: the CLI's bytes, framework-neutral arrays, in place."""

import numpy as np
import pytest

import playaug
from conftest import SAMPLE


@pytest.mark.parametrize("opts", [
    dict(copies=2, seed=7),
    dict(copies=3, phi=0.9, reverse=0.2, protuberance=0.3, seed=123456789, raw=True, keep_original=False),
])
def test_augment_equals_the_cli_byte_for_byte(cli, tmp_path, sample, opts):
    flags = ["--copies", opts["copies"], "--seed", opts["seed"], "--device", "cpu"]
    for name in ("phi", "reverse", "protuberance"):
        if name in opts:
            flags += [f"--{name}", opts[name]]
    if opts.get("raw"):
        flags.append("--raw")
    if opts.get("keep_original") is False:
        flags.append("--no-original")
    cli_out = tmp_path / "cli.csv"
    cli("augment", SAMPLE, "-o", cli_out, *flags)
    py = playaug.augment(sample, device="cpu", **opts)
    py_out = tmp_path / "py.csv"
    playaug.write_csv(py_out, py)
    assert py_out.read_bytes() == cli_out.read_bytes()


def test_augment_does_not_depend_on_threads(sample):
    a = playaug.augment(sample, copies=2, seed=3, threads=1, device="cpu")
    b = playaug.augment(sample, copies=2, seed=3, threads=2, device="cpu")
    assert a == b
    assert a.ids[:3] == [sample.ids[0], sample.ids[0] + "#aug1", sample.ids[0] + "#aug2"]


def test_augment_parameter_errors(sample):
    with pytest.raises(ValueError, match="phi"):
        playaug.augment(sample, phi=1.5)
    with pytest.raises(ValueError, match="protuberance"):
        playaug.augment(sample, protuberance=1.0)
    with pytest.raises(ValueError, match="seed"):
        playaug.augment(sample, seed=-1)
    with pytest.raises(ValueError, match="copies"):
        playaug.augment(sample, copies=-2)
    with pytest.raises(TypeError, match="Dataset"):
        playaug.augment(sample.features)


def reference_protuberance(x, offsets, p, phi, seed, copy, first):
    """x * (1 + u) with the library's documented per-component rule, in a different way:
    via augment of a dataset whose playlists are these rows (reversal off)."""
    moods = [[[0]] for _ in range(len(offsets) - 1)]
    ds = playaug.Dataset(x, offsets, moods, feature_names=[f"g{j}" for j in range(x.shape[1])])
    out = playaug.augment(ds, copies=copy, phi=phi, reverse=0.0, protuberance=p, seed=seed,
                          keep_original=False, device="cpu")
    # copy k of each playlist: rows of copy `copy` are the last of each group of `copy`.
    rows = []
    for i in range(len(offsets) - 1):
        _, f = out[i * copy + copy - 1]
        rows.append(f)
    return np.concatenate(rows)


def test_protuberance_matches_augment_and_the_rule(sample):
    x = np.ascontiguousarray(sample.features[:500, :5] + 1.0)  # 5 free features, no schema
    offsets = np.array([0, 10, 10, 250, 500], np.int64)
    y = playaug.protuberance(x, offsets, p=0.2, phi=0.7, seed=11, copy=2, feature_names=[f"g{j}" for j in range(5)])
    np.testing.assert_array_equal(y, reference_protuberance(x, offsets, 0.2, 0.7, 11, 2, 0))
    ratio = y / x
    changed = ratio != 1
    assert 0.6 < changed.mean() < 0.8  # phi
    assert np.all(np.abs(ratio - 1) <= 0.2 + 1e-6)  # |u| <= p
    assert y is not x and not np.shares_memory(y, x)


def test_protuberance_in_place_and_out(sample):
    x = np.ascontiguousarray(sample.features[:100])
    ref = playaug.protuberance(x, seed=5)
    buf = x.copy()
    ptr = buf.ctypes.data
    res = playaug.protuberance(buf, out=buf, seed=5)
    assert res is buf and buf.ctypes.data == ptr  # the caller's buffer, modified in place
    np.testing.assert_array_equal(buf, ref)
    out = np.empty_like(x)
    assert playaug.protuberance(x, seed=5, out=out) is out
    np.testing.assert_array_equal(out, ref)
    # Spotify schema by default for 11 features: key (4) and mode (7) kept, unit features in [0, 1].
    np.testing.assert_array_equal(ref[:, [4, 7]], x[:, [4, 7]])
    assert ref[:, 0].min() >= 0 and ref[:, 0].max() <= 1


def test_protuberance_numpy_and_torch_cpu_are_identical(sample):
    torch = pytest.importorskip("torch")
    x = np.ascontiguousarray(sample.features)
    offs = sample.offsets
    a = playaug.protuberance(x, offs, seed=9)
    t = torch.from_numpy(x.copy())
    b = playaug.protuberance(t, torch.from_numpy(offs.copy()), seed=9)
    assert isinstance(b, torch.Tensor) and b.device.type == "cpu"
    np.testing.assert_array_equal(b.numpy(), a)
    ptr = t.data_ptr()
    playaug.protuberance(t, torch.from_numpy(offs.copy()), seed=9, out=t)
    assert t.data_ptr() == ptr
    np.testing.assert_array_equal(t.numpy(), a)


def test_array_errors():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(TypeError, match="float32"):
        playaug.protuberance(x.astype(np.float64))
    with pytest.raises(ValueError, match="matrix"):
        playaug.protuberance(np.ones(4, np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        playaug.protuberance(np.asfortranarray(np.ones((4, 3), np.float32)))
    with pytest.raises(TypeError, match="NumPy array"):
        playaug.protuberance([[1.0, 2.0]])
    with pytest.raises(ValueError, match="phi"):
        playaug.protuberance(x, phi=2)
    with pytest.raises((ValueError, RuntimeError)):
        playaug.protuberance(x, np.array([0, 5], np.int64))  # offsets past the rows


def test_reverse_in_place_matches_augment(sample):
    x = sample.features.copy()
    mo = sample.mood_offsets.copy()
    moods = sample.mood_values.copy()
    flags = playaug.reverse_flags(len(sample), r=0.5, seed=4, copy=1)
    assert 0.3 < flags.mean() < 0.7
    ptr = x.ctypes.data
    res_x, res_mo, res_m = playaug.reverse(x, sample.offsets, flags=flags, moods=moods, mood_offsets=mo,
                                           segment_offsets=sample.segment_offsets)
    assert res_x is x and x.ctypes.data == ptr
    # Independent check: reverse each flagged playlist by slicing.
    offs = sample.offsets
    for p in range(len(sample)):
        a, b = offs[p], offs[p + 1]
        want = sample.features[a:b][::-1] if flags[p] else sample.features[a:b]
        np.testing.assert_array_equal(x[a:b], want)
    rebuilt = playaug.Dataset(x, offs, [
        [list(map(int, res_m[res_mo[s]:res_mo[s + 1]])) for s in range(sample.segment_offsets[p], sample.segment_offsets[p + 1])]
        for p in range(len(sample))], ids=sample.ids, null_features=sample.null_features)
    for p in range(len(sample)):
        want = sample.moods[p][::-1] if flags[p] else sample.moods[p]
        assert rebuilt.moods[p] == want
    # The same decisions as augment makes for copy 1 with protuberance off.
    aug = playaug.augment(sample, copies=1, phi=0.0, reverse=0.5, seed=4, keep_original=False, device="cpu")
    np.testing.assert_array_equal(aug.features, x)
