"""requery and synth: the CLI's results; progress callbacks from worker threads."""

import threading

import numpy as np
import pytest

import playaug
from conftest import REAL_TRACKS, REPO, SAMPLE


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


def _catalog_genres(path):
    """track id -> set of its genres, read with pandas (independently of playaug)."""
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=False)
    col = "track_genre" if "track_genre" in df.columns else "genre"
    key = "track_id" if "track_id" in df.columns else "id"
    genres = {}
    for t, g in zip(df[key].astype(str), df[col].astype(str)):
        genres.setdefault(t, set()).add(g)
    return genres, sorted(set(df[col].astype(str)) - {""})


def _check_each_genre(rq, ds, genres, of_track):
    """Copies in genre order, ids <id>#rq-<genre>, every track of its copy's genre, no repeats."""
    offs, tracks, rids = rq.offsets, rq.track_ids, rq.ids  # each property builds a new list
    assert rids == [f"{i}#rq-{g}" for i in ds.ids for g in genres]
    for p, rid in enumerate(rids):
        genre = rid.rsplit("#rq-", 1)[1]
        ids = tracks[offs[p]:offs[p + 1]]
        assert len(ids) == len(set(ids)), rid
        assert all(genre in of_track[t] for t in ids), rid


def test_requery_each_genre_equals_the_cli(cli, tmp_path, sample):
    cat = REPO / "tests" / "fixtures" / "requery" / "synthetic_catalog.csv"
    of_track, genres = _catalog_genres(cat)
    small = tmp_path / "small.csv"
    head = SAMPLE.read_text().splitlines(keepends=True)[:41]  # 40 playlists of at most 20 songs
    small.write_text("".join(head))
    ds = playaug.read_csv(small)
    out = tmp_path / "rq.csv"
    proc = cli("requery", small, "-o", out, "--catalog", cat, "--each-genre", "--seed", 7, "--device", "cpu")
    rq = playaug.requery(ds, catalog=cat, each_genre=True, seed=7, device="cpu")
    py = tmp_path / "py.csv"
    playaug.write_csv(py, rq)
    assert py.read_bytes() == out.read_bytes()
    _check_each_genre(rq, ds, genres, of_track)
    assert proc.stderr.startswith(f"playaug: wrote {len(genres) * len(ds)} copies of {len(ds)} playlists to ")

    # The named genres, in that order; a copy does not depend on the other genres.
    two = playaug.requery(ds, catalog=cat, each_genre=True, genres=["sleep", "edm"], seed=7, device="cpu")
    _check_each_genre(two, ds, ["sleep", "edm"], of_track)
    by_id = {rid: p for p, rid in enumerate(rq.ids)}
    offs, toffs, tracks, ttracks = rq.offsets, two.offsets, rq.track_ids, two.track_ids
    for p, rid in enumerate(two.ids):
        q = by_id[rid]
        assert ttracks[toffs[p]:toffs[p + 1]] == tracks[offs[q]:offs[q + 1]]
    with pytest.raises(ValueError, match="polka"):
        playaug.requery(ds, catalog=cat, each_genre=True, genres=["polka"])
    with pytest.raises(TypeError, match="sequence"):
        playaug.requery(ds, catalog=cat, each_genre=True, genres="pop")


def test_requery_each_genre_on_real_tracks(cli, tmp_path, real_playlists):
    tracks = REAL_TRACKS
    of_track, genres = _catalog_genres(tracks)
    out = tmp_path / "rq.csv"
    cli("requery", real_playlists, "-o", out, "--catalog", tracks, "--each-genre", "--seed", 3, "--device", "cpu", "-q")
    ds = playaug.read_csv(real_playlists)
    rq = playaug.read_csv(out)
    _check_each_genre(rq, ds, genres, of_track)
