"""Dataset, read_csv, write_csv and the pandas conversions, against pandas + json.loads."""

import json

import numpy as np
import pandas as pd
import pytest

import playaug
from conftest import SAMPLE


def reference(path):
    """The notebook's loader: pandas.read_csv + json.loads per cell."""
    df = pd.read_csv(path, index_col=0)
    return df, [json.loads(v) for v in df["moods_states"]], [json.loads(v) for v in df["features"]]


def test_read_csv_matches_pandas_json(sample):
    df, moods, feats = reference(SAMPLE)
    assert sample.ids == [str(i) for i in df.index]
    assert len(sample) == len(df)
    assert sample.moods == moods
    assert sample.feature_names[:3] == ["acousticness", "danceability", "energy"]
    rows = [song for f in feats if f != [None] for song in f]
    np.testing.assert_array_equal(sample.features, np.asarray(rows, dtype=np.float32))
    lengths = [0 if f == [None] else len(f) for f in feats]
    np.testing.assert_array_equal(sample.offsets, np.concatenate([[0], np.cumsum(lengths)]))
    assert sample.offsets.dtype == np.int64 and sample.features.dtype == np.float32
    np.testing.assert_array_equal(sample.null_features, [f == [None] for f in feats])


def test_item_is_moods_and_a_view(sample):
    moods, x = sample[0]
    assert moods == sample.moods[0]
    assert np.shares_memory(x, sample.features)
    assert x.shape == (sample.offsets[1] - sample.offsets[0], 11)
    assert sample[-1][0] == sample.moods[-1]
    with pytest.raises(IndexError):
        sample[len(sample)]


def test_features_is_a_zero_copy_view(tmp_path):
    ds = playaug.read_csv(SAMPLE)
    a, b = ds.features, ds.features
    assert a.ctypes.data == b.ctypes.data  # the same memory, not two copies
    a[0, 0] = 0.125
    assert ds.features[0, 0] == np.float32(0.125)
    del ds  # the view keeps the dataset alive
    assert a[0, 0] == np.float32(0.125) and a.sum() != 0


def test_write_csv_round_trips_bytes(tmp_path, sample):
    out = tmp_path / "copy.csv"
    playaug.write_csv(out, sample, threads=2)
    assert out.read_bytes() == SAMPLE.read_bytes()  # the sample was written by the same writer
    assert sample.to_csv() == SAMPLE.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["copy.csv"]  # no temporary left


def test_pandas_round_trip(sample):
    df = sample.to_pandas()
    pd.testing.assert_frame_equal(df, pd.read_csv(SAMPLE, index_col=0, dtype=str, keep_default_na=False))
    assert playaug.Dataset.from_pandas(df) == sample
    parsed = sample.to_pandas(parse=True)
    assert parsed["moods_states"].iloc[0] == sample.moods[0]
    assert playaug.Dataset.from_pandas(parsed) == sample


def test_constructor_from_arrays():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    ds = playaug.Dataset(x, [0, 1, 1, 4], [[[1]], [[2, 3]], [[4], [5]]], ids=["a", "b", "c"],
                         null_features=[False, True, False])
    assert len(ds) == 3 and ds.dim == 3 and ds.ids == ["a", "b", "c"]
    assert ds.feature_names == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(ds[2][1], x[1:])
    assert ds.moods == [[[1]], [[2, 3]], [[4], [5]]]
    assert ds.to_csv().splitlines()[2] == 'b,"[[2, 3]]",[null]'
    with pytest.raises(ValueError, match="offsets"):
        playaug.Dataset(x, [0, 5], [[[1]]])
    with pytest.raises(ValueError, match="moods"):
        playaug.Dataset(x, [0, 4], [])


def test_bad_file_raises_data_error_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(',moods_states,features\nok1,[[1]],"[[0.5, 0.25]]"\nbad2,[[2]],"[[0.5, oops]]"\n')
    with pytest.raises(playaug.DataError) as e:
        playaug.read_csv(bad)
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith(f"{bad}:3: features: expected a number")
    assert "(playlist 'bad2')" in str(e.value)
    with pytest.raises(playaug.DataError, match="missing.csv"):
        playaug.read_csv(tmp_path / "missing.csv")


def test_from_pandas_errors_name_the_row():
    df = pd.DataFrame({"moods_states": ["[[1]]", "[[2]]"], "features": ["[[0.5]]", "[[x]]"]}, index=["a", "b"])
    with pytest.raises(playaug.DataError, match=r"<DataFrame>:3: .*'b'"):
        playaug.Dataset.from_pandas(df)
    with pytest.raises(ValueError, match="features"):
        playaug.Dataset.from_pandas(df[["moods_states"]])


def test_argument_errors(sample, tmp_path):
    with pytest.raises(TypeError):
        playaug.write_csv(tmp_path / "x.csv", "not a dataset")
    with pytest.raises(ValueError, match="threads"):
        playaug.read_csv(SAMPLE, threads=-1)
    with pytest.raises(TypeError):
        sample["0"]


def test_version_is_the_cli_version(cli):
    assert cli("--version").stdout.strip() == f"playaug {playaug.__version__}"
