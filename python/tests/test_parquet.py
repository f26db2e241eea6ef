"""Parquet datasets: the documented schema, exact round trips with the CSV layout, zero-copy
buffers, and bad data named by file and row."""

import json
import os

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import playaug
from playaug import _parquet
from conftest import SAMPLE


def test_csv_parquet_csv_is_byte_identical(tmp_path, real_playlists):
    # The real file writes integers as "6"; playaug writes every number as the shortest
    # float32 repr ("6.0"), so its canonical form is playaug's own rewrite of it.
    canonical = tmp_path / "real.csv"
    playaug.write_csv(canonical, playaug.read_csv(real_playlists))
    for i, src in enumerate((SAMPLE, canonical)):
        pq_path = tmp_path / f"{i}.parquet"
        back = tmp_path / f"{i}.csv"
        playaug.convert(src, pq_path, row_group_size=37)
        playaug.convert(pq_path, back)
        assert back.read_bytes() == src.read_bytes()
        assert playaug.read_parquet(pq_path) == playaug.read_csv(src)
        assert len(_parquet.row_group_rows(pq_path)) == -(-len(playaug.read_csv(src)) // 37)


def test_schema_is_the_documented_one(tmp_path, sample):
    path = tmp_path / "s.parquet"
    playaug.write_parquet(path, sample)
    sch = pq.read_schema(path)
    assert sch.names == ["id", "moods_states", "features"]
    assert sch.field("id").type == pa.string() and not sch.field("id").nullable
    assert sch.field("moods_states").type == pa.list_(pa.list_(pa.int32()))
    assert not sch.field("moods_states").nullable
    assert sch.field("features").type == pa.list_(pa.list_(pa.float32(), 11))
    meta = json.loads(sch.metadata[b"playaug"])
    assert meta == {"format": "playaug.playlists", "version": 1, "dim": 11, "feature_names": sample.feature_names}


def test_pandas_and_pyarrow_read_our_parquet(tmp_path, sample):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "s.parquet"
    playaug.write_parquet(path, sample, row_group_size=64)
    df = pd.read_parquet(path)
    assert list(df.columns) == ["id", "moods_states", "features"]
    assert list(df["id"]) == sample.ids
    # The notebook's cells, parsed from the CSV with json, against what pandas reads.
    ref = pd.read_csv(SAMPLE, index_col=0)
    for i in range(len(sample)):
        moods = [list(map(int, seg)) for seg in df["moods_states"][i]]
        assert moods == json.loads(ref["moods_states"].iloc[i])
        cell = json.loads(ref["features"].iloc[i])
        feats = df["features"][i]
        if cell == [None]:
            assert feats is None
        else:
            got = np.array([np.asarray(s, dtype=np.float32) for s in feats]).reshape(len(cell), -1)
            np.testing.assert_array_equal(got, np.asarray(cell, dtype=np.float32).reshape(len(cell), -1))
    table = pq.read_table(path)
    assert table.column("features").null_count == int(sample.null_features.sum()) > 0


def test_writing_hands_the_buffers_to_arrow_without_a_copy(sample):
    table = _parquet.to_arrow(sample)
    songs = table.column("features").chunk(0).values
    values = songs.values
    assert values.buffers()[1].address == sample.features.ctypes.data


def test_fit_reads_arrow_buffers_in_place(tmp_path, sample):
    path = tmp_path / "s.parquet"
    playaug.write_parquet(path, sample, row_group_size=100)
    blocks = list(_parquet.parquet_features(path))
    assert [b.shape[1] for b in blocks] == [11] * 3
    np.testing.assert_array_equal(np.concatenate(blocks), sample.features)
    for b in blocks:
        assert not b.flags.owndata  # a view of Arrow's decoded buffer
        assert not b.flags.writeable


def test_empty_playlists_generic_features_and_track_ids(tmp_path, top2018):
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    ds = playaug.Dataset(x, [0, 0, 0, 3, 4], [[[1]], [[2, 3]], [], [[4], [5]]], ids=["a", "b", "c", "d"],
                         feature_names=["u", "v", "w"], null_features=[True, False, False, False])
    path = tmp_path / "g.parquet"
    playaug.write_parquet(path, ds)
    back = playaug.read_parquet(path)
    assert back == ds and back.feature_names == ["u", "v", "w"]
    assert back.null_features.tolist() == [True, False, False, False]
    assert pq.read_table(path).column("features").to_pylist()[:2] == [None, []]
    rq = playaug.requery(playaug.read_csv(SAMPLE), catalog=top2018, allow_repeats=True, seed=3, device="cpu")
    rq_path = tmp_path / "rq.parquet"
    playaug.write_parquet(rq_path, rq)
    assert pq.read_schema(rq_path).field("track_ids").type == pa.list_(pa.string())
    assert playaug.read_parquet(rq_path) == rq
    assert playaug.read_parquet(rq_path).to_csv() == rq.to_csv()


def test_list_of_double_features_from_elsewhere(tmp_path, sample):
    # A table written by other tools: features as list<list<double>>, no playaug metadata.
    ids, moods = sample.ids[:5], sample.moods[:5]
    feats = [sample[i][1].astype(np.float64).tolist() for i in range(5)]
    t = pa.table({"id": ids, "moods_states": pa.array(moods, pa.list_(pa.list_(pa.int64()))),
                  "features": pa.array(feats, pa.list_(pa.list_(pa.float64())))})
    path = tmp_path / "other.parquet"
    pq.write_table(t, path)
    back = playaug.read_parquet(path)
    assert back.ids == ids and back.moods == moods
    np.testing.assert_array_equal(back.features, sample.features[: sample.offsets[5]])


def test_bad_parquet_names_the_file_and_row(tmp_path, sample):
    def write(name, **cols):
        p = tmp_path / name
        pq.write_table(pa.table(cols), p)
        return p

    three = [[[0.5, 0.25]], [[0.1, 0.2], [0.3, float("nan")]], [[1.0, 2.0]]]
    p = write("nan.parquet", id=["a", "b", "c"], moods_states=[[[1]], [[2]], [[3]]],
              features=pa.array(three, pa.list_(pa.list_(pa.float32(), 2))))
    with pytest.raises(playaug.DataError, match=r"nan\.parquet:2: features: song 1 .*not finite.*playlist 'b'"):
        playaug.read_parquet(p)
    ragged = [[[0.5, 0.25]], [[0.1, 0.2]], [[1.0, 2.0, 3.0]]]
    p = write("ragged.parquet", id=["a", "b", "c"], moods_states=[[[1]], [[2]], [[3]]],
              features=pa.array(ragged, pa.list_(pa.list_(pa.float64()))))
    with pytest.raises(playaug.DataError, match=r"ragged\.parquet:3: features: song 0 has 3 values, expected 2"):
        playaug.read_parquet(p)
    p = write("nomoods.parquet", id=["a"], features=pa.array([[[1.0]]], pa.list_(pa.list_(pa.float32(), 1))))
    with pytest.raises(playaug.DataError, match=r"nomoods\.parquet: no 'moods_states' column"):
        playaug.read_parquet(p)
    p = write("nullid.parquet", id=pa.array(["a", None]), moods_states=[[[1]], [[2]]],
              features=pa.array([[[1.0]], [[2.0]]], pa.list_(pa.list_(pa.float32(), 1))))
    with pytest.raises(playaug.DataError, match=r"nullid\.parquet:2: id: null"):
        playaug.read_parquet(p)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    with pytest.raises(playaug.DataError, match="junk.parquet: not a readable Parquet file"):
        playaug.read_parquet(junk)
    with pytest.raises(playaug.DataError, match="is a directory"):
        playaug.read_parquet(tmp_path)


def test_write_is_atomic_and_keeps_the_mode(tmp_path, sample):
    path = tmp_path / "s.parquet"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    playaug.write_parquet(path, sample)
    assert (path.stat().st_mode & 0o777) == 0o640
    assert playaug.read_parquet(path) == sample
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]  # no temporary left
    with pytest.raises(TypeError, match="Dataset"):
        playaug.write_parquet(tmp_path / "x.parquet", sample.features)
    with pytest.raises(ValueError, match="row_group_size"):
        playaug.write_parquet(tmp_path / "x.parquet", sample, row_group_size=0)
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]
