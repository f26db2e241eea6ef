"""requery and synth: the CLI's results; progress callbacks from worker threads."""

import threading

import numpy as np
import pytest

import playaug
from conftest import SAMPLE


def test_requery_track_ids_equal_the_cli(cli, tmp_path, sample, top2018):
    out = tmp_path / "rq.csv"
    cli("requery", SAMPLE, "-o", out, "--catalog", top2018, "--allow-repeats", "--seed", 7, "--device", "cpu")
    calls, threads = [], set()

    def progress(songs, retries):
        calls.append(songs)
        threads.add(threading.get_ident())

    rq = playaug.requery(sample, catalog=top2018, allow_repeats=True, seed=7, progress=progress, device="cpu")
    assert rq.track_ids == playaug.read_csv(out).track_ids
    assert sum(calls) == sample.n_songs
    py = tmp_path / "py.csv"
    playaug.write_csv(py, rq)
    assert py.read_bytes() == out.read_bytes()


def test_requery_catalog_reused_and_no_repeats(sample, top2018):
    cat = playaug.read_catalog(top2018)
    assert len(cat) == 100 and cat.features.shape == (100, 11)
    rq = playaug.requery(sample, catalog=cat, seed=1)
    offs = rq.offsets
    for p in range(len(rq)):
        ids = rq.track_ids[offs[p]:offs[p + 1]]
        assert len(ids) == len(set(ids))


def test_synth_equals_the_cli(cli, tmp_path):
    out = tmp_path / "s.csv"
    cli("synth", "-o", out, "--playlists", 500, "--seed", 42, "--empty-fraction", 0.1)
    ds = playaug.synth(500, seed=42, empty_fraction=0.1, threads=2)
    assert ds.to_csv() == out.read_text()
    with pytest.raises(ValueError, match="playlists"):
        playaug.synth(-1)
