"""playaug.dask on a real distributed.LocalCluster (2 worker processes on 127.0.0.1):
the distributed PCA fit equals the single-process fit, distributed augment and requery are
byte-identical to the command-line tool for any partitioning, and failed jobs publish
nothing."""

import os
import pathlib
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")
cloudpickle = pytest.importorskip("cloudpickle")

import dask.array as da
import dask.dataframe as dd
import pandas as pd

import playaug
import playaug.dask as pdask
from conftest import SAMPLE

# The workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


# --- helpers ---------------------------------------------------------------------------------

def split_csv(src, out_dir, cuts, prefix="part"):
    """Split a one-record-per-line CSV into files at the given playlist rows (each file with
    the header); returns the paths in order."""
    lines = pathlib.Path(src).read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    bounds = [0, *cuts, len(rows)]
    paths = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        p = pathlib.Path(out_dir) / f"{prefix}{i}.csv"
        p.write_text(header + "".join(rows[a:b]))
        paths.append(p)
    return paths


def concatenated(parts):
    """Part files' bytes concatenated in order, the header once (CSV), or as the CSV text of
    the concatenated Parquet parts."""
    out = b""
    for i, p in enumerate(parts):
        if str(p).endswith(".parquet"):
            data = playaug.read_parquet(p).to_csv().encode()
        else:
            data = pathlib.Path(p).read_bytes()
        out += data if i == 0 else data.split(b"\n", 1)[1]
    return out


def no_leftovers(parent, name):
    return [e for e in os.listdir(parent) if e.startswith(f".{name}.tmp-")] == []


def assert_same_fit(got, ref):
    """The distributed fit against the single-process one: the mean and every eigenvalue to
    1e-12 relative, the smallest of an unstandardized fit included (docs/scale-out.md,
    "Exactness"), the components with the same signs (and equal to 1e-9)."""
    assert got.n_samples_ == ref.n_samples_
    np.testing.assert_allclose(got.mean_, ref.mean_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.eigenvalues_, ref.eigenvalues_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.scale_, ref.scale_, rtol=1e-12, atol=0)
    assert np.array_equal(np.sign(got.components_), np.sign(ref.components_))
    np.testing.assert_allclose(got.components_, ref.components_, rtol=0, atol=1e-9)
    assert list(got.feature_names_in_) == list(ref.feature_names_in_)


# --- fit ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 3, 7])
def test_fit_equals_the_single_process_fit(client, tmp_path, real_playlists, k):
    ds = playaug.read_csv(real_playlists)
    for standardize in (False, True):
        ref = playaug.PCA(standardize=standardize).fit(real_playlists)
        # numpy's float64 covariance (or correlation) matrix checks the reference itself
        X = ds.features.T.astype(np.float64)
        np.testing.assert_allclose(ref.eigenvalues_,
                                   np.linalg.eigvalsh(np.corrcoef(X) if standardize else np.cov(X))[::-1], rtol=1e-9)
        x = da.from_array(ds.features, chunks=(-(-ds.n_songs // k), 11))
        assert x.numblocks == (k, 1)
        assert_same_fit(pdask.fit_pca(x, standardize=standardize, client=client), ref)
    # the same data as k CSV files, as Parquet row groups, and as a dask DataFrame
    ref = playaug.PCA(n_components=3).fit(real_playlists)
    cuts = sorted({int(c) for c in np.linspace(0, len(ds), k + 1)[1:-1]})
    files = split_csv(real_playlists, tmp_path, cuts)
    assert_same_fit(pdask.fit_pca(files, 3, client=client), ref)
    pq_path = tmp_path / "real.parquet"
    playaug.write_parquet(pq_path, ds, row_group_size=-(-len(ds) // k))
    assert_same_fit(pdask.fit_pca(str(pq_path), 3, client=client, split_every=2), ref)
    frame = dd.from_pandas(ds.to_pandas(), npartitions=k, sort=False)
    assert_same_fit(pdask.fit_pca(frame, 3, client=client), ref)


def test_fit_does_not_depend_on_many_partitions_either(client, real_playlists):
    # Down to 126 songs a partition, with 2-way merges (a tree of depth 8): every
    # eigenvalue of the unstandardized fit, the smallest (10^5 times below the largest)
    # included, still equals the single-process fit to 1e-12 relative.
    ds = playaug.read_csv(real_playlists)
    ref = playaug.PCA(device="cpu").fit(real_playlists)
    assert ref.eigenvalues_[0] / ref.eigenvalues_[-1] > 1e4
    for k in (16, 64, 256):
        x = da.from_array(ds.features, chunks=(-(-ds.n_songs // k), 11))
        assert_same_fit(pdask.fit_pca(x, client=client, split_every=2, device="cpu"), ref)


def test_fit_merges_in_a_tree_and_matches_numpy(client, sample):
    # 300 playlists' songs in 9 blocks with 2-way merges: a tree of depth 4. Against numpy's
    # float64 covariance (independent of playaug): eigenvalues to 1e-12 of the largest
    # (the rounding of a different summation order; see docs/scale-out.md).
    x = da.from_array(sample.features, chunks=(400, 11))
    assert x.numblocks[0] == 9
    pca = pdask.fit_pca(x, client=client, split_every=2)
    X = sample.features.astype(np.float64)
    w, v = np.linalg.eigh(np.cov(X.T))
    w, v = w[::-1], v[:, ::-1]
    assert np.max(np.abs(pca.eigenvalues_ - w)) <= 1e-12 * w[0]
    np.testing.assert_allclose(pca.mean_, X.mean(axis=0), rtol=1e-12)
    for i in range(3):  # well-separated leading components, numpy's up to sign
        vi = v[:, i] * np.sign(v[np.argmax(np.abs(v[:, i])), i])
        np.testing.assert_allclose(pca.components_[i], vi, atol=1e-9)
    m = pdask.moments(x, client=client)
    assert m.n == sample.n_songs
    np.testing.assert_allclose(m.covariance(), np.cov(X.T), rtol=1e-10, atol=1e-12)


def test_fit_dimension_mismatch_and_bad_arguments(client, tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text(',moods_states,features\np,[[1]],"[[0.5, 0.25]]"\n')
    b.write_text(',moods_states,features\nq,[[1]],"[[0.5, 0.25, 1.0]]"\n')
    with pytest.raises(playaug.DataError, match="b.csv: songs have 3 features, but those of .*a.csv have 2"):
        pdask.fit_pca([a, b], client=client)
    with pytest.raises(ValueError, match="split_every"):
        pdask.fit_pca([a], split_every=1)
    with pytest.raises(FileNotFoundError, match="no file matches"):
        pdask.fit_pca(str(tmp_path / "nothing-*.csv"))
    with pytest.raises(TypeError, match="augment and requery need playlists"):
        pdask.augment(da.zeros((4, 2), chunks=2), tmp_path / "out")


# --- augment and requery -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_augment(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "augmented.csv"
    cli("augment", SAMPLE, "-o", out, "--copies", 2, "--seed", 11, "--phi", 0.7, "--device", "cpu")
    return out.read_bytes()


@pytest.mark.parametrize("cuts", [[], [1, 2, 150], [0, 37, 37, 101, 180, 250, 299]])
def test_augment_is_byte_identical_to_the_cli(client, tmp_path, cli_augment, cuts):
    files = split_csv(SAMPLE, tmp_path, cuts)
    out = tmp_path / "out"
    parts = pdask.augment(files, out, copies=2, seed=11, phi=0.7, client=client, device="cpu")
    assert [pathlib.Path(p).name for p in parts] == [f"part-{i:05d}.csv" for i in range(len(cuts) + 1)]
    assert sorted(os.listdir(out)) == [pathlib.Path(p).name for p in parts]
    assert concatenated(parts) == cli_augment
    assert no_leftovers(tmp_path, "out")


def test_augment_from_parquet_and_dataframes_to_parquet(client, tmp_path, cli_augment, sample):
    pq_path = tmp_path / "s.parquet"
    playaug.write_parquet(pq_path, sample, row_group_size=64)
    parts = pdask.augment(str(pq_path), tmp_path / "from-parquet", copies=2, seed=11, phi=0.7, client=client)
    assert len(parts) == 5 and concatenated(parts) == cli_augment
    frame = dd.from_pandas(sample.to_pandas(), npartitions=4, sort=False)
    parts = pdask.augment(frame, tmp_path / "to-parquet.parquet", copies=2, seed=11, phi=0.7, client=client)
    assert all(p.endswith(".parquet") for p in parts) and concatenated(parts) == cli_augment
    # dask's own CSV reader, cutting the file into byte ranges (ids in 'Unnamed: 0')
    frame = dd.read_csv(str(SAMPLE), blocksize=20_000, dtype=str, keep_default_na=False)
    assert frame.npartitions > 5
    parts = pdask.augment(frame, tmp_path / "read-csv", copies=2, seed=11, phi=0.7, client=client)
    assert concatenated(parts) == cli_augment
    # Dask's local scheduler (no client): the same bytes
    parts = pdask.augment(frame, tmp_path / "local", copies=2, seed=11, phi=0.7)
    assert concatenated(parts) == cli_augment


def test_requery_is_byte_identical_to_the_cli(client, cli, tmp_path, top2018):
    ref = tmp_path / "rq.csv"
    cli("requery", SAMPLE, "-o", ref, "--catalog", top2018, "--seed", 5, "--device", "cpu")
    files = split_csv(SAMPLE, tmp_path, [40, 41, 200])
    parts = pdask.requery(files, tmp_path / "rq", catalog=top2018, seed=5, client=client, device="cpu")
    assert concatenated(parts) == ref.read_bytes()
    # a worker parses the catalog (the bytes broadcast to it) at most once, however many
    # of its partitions it re-queries
    cached = client.run(lambda: len(__import__("playaug.dask").dask._CATALOGS))
    assert set(cached.values()) <= {0, 1} and sum(cached.values()) >= 1


def test_existing_output_and_overwrite(client, tmp_path, cli_augment):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        pdask.augment([SAMPLE], out, copies=2, seed=11, phi=0.7, client=client)
    assert os.listdir(out) == ["old.txt"]
    parts = pdask.augment([SAMPLE], out, copies=2, seed=11, phi=0.7, client=client, overwrite=True)
    assert os.listdir(out) == ["part-00000.csv"] and concatenated(parts) == cli_augment
    assert sorted(os.listdir(tmp_path)) == ["out"]


# --- faults --------------------------------------------------------------------------------------

def _load_frame(path, die_at_call, marker_dir):
    """Read a CSV part as the notebook's DataFrame. With die_at_call = n, the n-th call for
    this path (counted with marker files) ends its worker process abruptly, once."""
    if die_at_call:
        for i in range(1, die_at_call + 1):
            marker = os.path.join(marker_dir, f"{os.path.basename(path)}.{i}")
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            if i == die_at_call:
                os._exit(1)  # the worker dies in the middle of the job; its nanny restarts it
            break
    return pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)


def _killer_block(x, marker, block_info=None):
    if block_info[0]["chunk-location"][0] != 1:
        return x
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return x
    os._exit(1)


def test_a_worker_killed_mid_job_is_retried(client, tmp_path, cli_augment, sample):
    files = split_csv(SAMPLE, tmp_path, [100, 200])
    markers = tmp_path / "markers"
    markers.mkdir()
    meta = pd.DataFrame({"moods_states": pd.Series([], dtype=object), "features": pd.Series([], dtype=object)})
    # call 1 of part1 is the counting step; call 2, while the parts are written, kills.
    parts = [dask.delayed(_load_frame)(str(p), 2 if i == 1 else 0, str(markers)) for i, p in enumerate(files)]
    frame = dd.from_delayed(parts, meta=meta, verify_meta=False)
    out = pdask.augment(frame, tmp_path / "out", copies=2, seed=11, phi=0.7, client=client)
    assert sorted(os.listdir(markers)) == ["part1.csv.1", "part1.csv.2"]  # it did die once
    assert concatenated(out) == cli_augment
    assert no_leftovers(tmp_path, "out")
    # and a fit whose second block kills its worker once
    x = da.from_array(sample.features, chunks=(1200, 11))
    pca = pdask.fit_pca(x.map_blocks(_killer_block, str(markers / "block1"), dtype=np.float32), client=client)
    assert (markers / "block1").exists()
    assert_same_fit(pca, pdask.fit_pca(x, client=client))
    client.wait_for_workers(2, timeout=60)


def test_a_failed_jobs_directory_goes_even_while_a_task_still_writes_into_it(tmp_path):
    # A cancelled task may still be finishing its part while the job removes the directory:
    # creating files after rmtree listed it, renaming one away under it. The directory must
    # still be gone when the removal returns (a vanished file is not a vanished directory).
    import threading
    import time
    d = tmp_path / ".out.tmp-1-0"
    d.mkdir()
    stop = threading.Event()
    wrote = []

    def writer():
        i = 0
        while not stop.is_set():
            try:
                tmp = d / f".part-{i}.tmp"
                tmp.write_bytes(b"x" * 4096)
                os.replace(tmp, d / f"part-{i}")
                wrote.append(i)
            except OSError:
                if not d.exists():
                    return
            i += 1

    th = threading.Thread(target=writer)
    th.start()
    try:
        for _ in range(10000):  # the writer is well under way (at most ~10 s)
            if len(wrote) >= 50:
                break
            time.sleep(0.001)
        pdask._remove_tree(str(d))
        assert not d.exists()
    finally:
        stop.set()
        th.join()
    assert not d.exists()
    assert len(wrote) >= 50


def test_a_corrupt_partition_names_file_and_line_and_publishes_nothing(client, tmp_path):
    files = split_csv(SAMPLE, tmp_path, [100, 200])
    lines = files[1].read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace("0.", "0x", 1)
    files[1].write_text("".join(lines))
    with pytest.raises(playaug.DataError, match=r"part1\.csv:5: features: .*playlist 'syn0001\d\d'"):
        pdask.augment(files, tmp_path / "out", client=client)
    assert not (tmp_path / "out").exists()
    assert no_leftovers(tmp_path, "out")
    pq_path = tmp_path / "bad.parquet"
    ds = playaug.read_csv(files[0])
    ds.features[3, 2] = np.nan
    playaug.write_parquet(pq_path, ds, row_group_size=30)
    with pytest.raises(playaug.DataError, match=r"bad\.parquet:\d+: features: song \d+ holds a value that is not finite"):
        pdask.augment([files[2], pq_path], tmp_path / "out2.parquet", client=client)
    assert not (tmp_path / "out2.parquet").exists() and no_leftovers(tmp_path, "out2.parquet")
    with pytest.raises(playaug.DataError, match=r"bad\.parquet:\d+: features"):
        pdask.fit_pca(pq_path, client=client)


def test_leftovers_of_a_dead_client_are_removed(client, tmp_path):
    dead = tmp_path / ".out.tmp-999999999-0"  # no such process
    dead.mkdir()
    (dead / "part-00000.csv").write_text("half")
    live = tmp_path / f".out.tmp-{os.getppid()}-0"  # a running process: kept
    live.mkdir()
    pdask.augment([SAMPLE], tmp_path / "out", client=client)
    assert sorted(os.listdir(tmp_path)) == sorted(["out", live.name])


@pytest.mark.gpu
def test_gpu_workers_give_the_cpu_results(client, tmp_path, cli_augment, real_playlists):
    # The CUDA engine on every worker: the fit's moments from the one-pass kernel, the
    # augmentation from the same Philox words (bit-identical to the CPU engine).
    ds = playaug.read_csv(real_playlists)
    x = da.from_array(ds.features, chunks=(5000, 11))
    assert_same_fit(pdask.fit_pca(x, client=client, device="cuda"), pdask.fit_pca(x, client=client, device="cpu"))
    files = split_csv(SAMPLE, tmp_path, [70, 71, 222])
    parts = pdask.augment(files, tmp_path / "out", copies=2, seed=11, phi=0.7, client=client, device="cuda")
    assert concatenated(parts) == cli_augment
