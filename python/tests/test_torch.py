"""playaug.torch: transforms, PlaylistDataset, collate, the batch path and custom ops."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import playaug  # noqa: E402
import playaug.torch as pt  # noqa: E402
from conftest import SAMPLE  # noqa: E402


def test_transforms_reproduce_augment_copies(sample):
    """Reverse then FeatureProtuberance with one seed = augment's copy epoch + 1."""
    seed = 21
    t = pt.Compose([pt.Reverse(0.5, seed), pt.FeatureProtuberance(0.15, 0.5, seed)])
    aug = playaug.augment(sample, copies=2, seed=seed, keep_original=False, device="cpu")
    for i in range(0, len(sample), 7):
        if sample.null_features[i]:
            continue
        base_moods, base_x = sample[i]
        for epoch in (0, 1):
            moods, x = t(list(base_moods), torch.from_numpy(base_x.copy()), index=i, epoch=epoch)
            want_moods, want_x = aug[aug.ids.index(f"{sample.ids[i]}#aug{epoch + 1}")]
            assert moods == want_moods
            np.testing.assert_array_equal(x.numpy(), want_x)


def test_feature_protuberance_follows_the_prose():
    x = torch.full((2000, 3), 2.0)
    _, y = pt.FeatureProtuberance(0.15, 0.3, seed=1)(None, x, index=0)
    r = (y / x - 1).flatten()
    changed = r != 0
    assert 0.27 < changed.float().mean() < 0.33  # probability phi (the notebook's code used 1 - phi)
    assert r.abs().max() <= 0.15 + 1e-6
    hist = torch.histc(r[changed], bins=4, min=-0.15, max=0.15)
    assert hist.min() > 0.2 * hist.sum() / 4 * 4 / 4  # uniform, not a normal bump: every quarter populated
    assert torch.equal(x, torch.full((2000, 3), 2.0))  # input untouched


def test_dataset_items_and_collate(sample):
    ds = pt.PlaylistDataset(str(SAMPLE))
    assert len(ds) == int((np.diff(sample.offsets) > 0).sum())
    moods, feats = ds[0]
    assert moods.dtype == torch.int64 and feats.dtype == torch.float32
    assert moods[moods >= 0].tolist() == [m for seg in sample.moods[0] for m in seg]
    np.testing.assert_array_equal(feats.numpy(), sample[0][1])
    batch = pt.collate([ds[i] for i in range(5)])
    assert batch.features.shape[0] == 5 and batch.features.shape[2] == 11
    assert batch.lengths.tolist() == [ds[i][1].shape[0] for i in range(5)]
    for b in range(5):
        L = batch.lengths[b]
        assert torch.equal(batch.features[b, :L], ds[b][1])
        assert torch.all(batch.features[b, L:] == 0)
    assert batch.moods.shape[:2] == (5, int(batch.mood_lengths.max()))


def _epoch(num_workers, epoch):
    t = pt.Compose([pt.Reverse(0.5, 3), pt.FeatureProtuberance(0.15, 0.5, 3)])
    ds = pt.PlaylistDataset(str(SAMPLE), transform=t)
    ds.set_epoch(epoch)
    dl = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=False, num_workers=num_workers,
                                     collate_fn=pt.collate)
    return list(dl)


def test_dataloader_batches_do_not_depend_on_num_workers():
    a = _epoch(0, 1)
    b = _epoch(2, 1)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            assert torch.equal(u, v)
    c = _epoch(0, 2)
    assert not torch.equal(a[0].features, c[0].features)  # another epoch, other values


def test_augment_batch_padded_equals_ragged_equals_augment(sample):
    ds = pt.PlaylistDataset(sample, skip_empty=False)
    idx = list(range(10, 26))
    assert not any(sample.null_features[i] for i in idx)
    batch = pt.collate([ds[i] for i in idx])
    out = pt.augment_batch(batch.features, batch.lengths, seed=8, copy=1, first_playlist=10)
    offs = torch.zeros(len(idx) + 1, dtype=torch.int64)
    offs[1:] = torch.cumsum(batch.lengths, 0)
    values = torch.cat([ds[i][1] for i in idx])
    ragged = pt.augment_batch(values, offsets=offs, seed=8, copy=1, first_playlist=10)
    aug = playaug.augment(sample, copies=1, seed=8, keep_original=False, device="cpu")
    for b, i in enumerate(idx):
        L = int(batch.lengths[b])
        want = aug[i][1]
        np.testing.assert_array_equal(out[b, :L].numpy(), want)
        np.testing.assert_array_equal(ragged[offs[b]:offs[b + 1]].numpy(), want)
        assert torch.all(out[b, L:] == 0)


def test_custom_ops_compile_without_graph_breaks(sample):
    if not pt.ops.registered:
        pytest.skip(f"torch {torch.__version__} has no torch.library.custom_op")
    x = torch.from_numpy(sample.features[:64].copy())
    offs = torch.tensor([0, 20, 64], dtype=torch.int64)

    def step(x):
        return (pt.ops.protuberance(x, offs, 0.15, 0.5, 3, 1, 0, False) * 2.0).sum()

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    assert torch.equal(compiled(x), step(x))
    torch._dynamo.reset()


@pytest.mark.gpu
def test_cuda_tensors_give_the_cpu_values(sample):
    x = torch.from_numpy(sample.features.copy())
    offs = torch.from_numpy(sample.offsets.copy())
    cpu = playaug.protuberance(x, offs, seed=5)
    gpu = playaug.protuberance(x.cuda(), offs.cuda(), seed=5)
    assert gpu.is_cuda
    assert torch.equal(gpu.cpu(), cpu)


@pytest.mark.gpu
def test_work_on_a_side_stream_is_ordered_without_synchronize(sample):
    x = torch.from_numpy(sample.features.copy()).cuda()
    offs = torch.from_numpy(sample.offsets.copy()).cuda()
    want = playaug.protuberance(x.cpu(), offs.cpu(), seed=2)
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        y = x * 1.0  # queued on s
        playaug.protuberance(y, offs, seed=2, out=y)  # ordered after it on s
        z = y + 0.0
    s.synchronize()
    assert torch.equal(z.cpu(), want)


@pytest.mark.gpu
def test_batch_path_on_the_gpu_matches_the_cpu(sample):
    ds = pt.PlaylistDataset(sample)
    batch = pt.collate([ds[i] for i in range(32)])
    cpu = pt.augment_batch(batch.features, batch.lengths, seed=4)
    gpu = pt.augment_batch(batch.features.cuda(), batch.lengths.cuda(), seed=4)
    assert torch.equal(gpu.cpu(), cpu)


@pytest.mark.gpu
def test_cupy_arrays(sample):
    cupy = pytest.importorskip("cupy")
    x = cupy.asarray(sample.features)
    y = playaug.protuberance(x, cupy.asarray(sample.offsets), seed=5)
    assert isinstance(y, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(y), playaug.protuberance(sample.features, sample.offsets, seed=5))


@pytest.mark.gpu
def test_compile_on_the_gpu(sample):
    if not pt.ops.registered:
        pytest.skip("no torch.library.custom_op")
    x = torch.from_numpy(sample.features[:64].copy()).cuda()
    offs = torch.tensor([0, 20, 64], dtype=torch.int64, device="cuda")
    f = torch.compile(lambda x: pt.ops.protuberance(x, offs, 0.15, 0.5, 3, 1, 0, False) + 1.0, fullgraph=True)
    assert torch.equal(f(x).cpu(), pt.ops.protuberance(x.cpu(), offs.cpu(), 0.15, 0.5, 3, 1, 0, False) + 1.0)
