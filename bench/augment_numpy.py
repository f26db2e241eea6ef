#!/usr/bin/env python3
"""numpy/pandas baselines for bench/augment.cpp: the same work on the same shapes.

In memory (the rows of bench_augment): one million Spotify-like songs in playlists of
1..39 songs, K = 1 copy, p = 0.15, phi = 0.5, r = 0.5, schema-aware (key and mode kept,
unit-interval features clamped):

  per-playlist  the notebook's style: a numpy transform called once per playlist
  vectorised    the strongest numpy version: one gather for the reversals, one mask and
                one multiply over the whole matrix, one scatter into the output layout

With --csv FILE, also the end-to-end pipeline of a pandas user: pd.read_csv, json.loads of
every features cell, the per-playlist transform, json.dumps, DataFrame.to_csv; compare with
`time playaug augment FILE -o OUT.csv --copies 1`.

numpy draws other random numbers than playaug's Philox streams, so only the work is the
same, not the values.

    python3 bench/augment_numpy.py [--repeat 3] [--csv FILE]
"""

import argparse
import json
import time

import numpy as np

SONGS = 1_000_000
D = 11
KEEP = np.array([4, 7])                   # key, mode
UNIT = np.array([0, 1, 2, 3, 5, 8, 10])   # clamped to [0, 1]
P, PHI, R = 0.15, 0.5, 0.5


def make_data(rng):
    lens, total, p = [], 0, 0
    while total < SONGS:
        n = min(SONGS - total, 1 + (p * 7919) % 39)
        lens.append(n)
        total += n
        p += 1
    x = rng.random((SONGS, D), dtype=np.float32)
    x[:, 4] = rng.integers(0, 12, SONGS)
    x[:, 7] = rng.integers(0, 2, SONGS)
    x[:, 6] = rng.uniform(-30, -1, SONGS)
    x[:, 9] = rng.uniform(60, 200, SONGS)
    lens = np.array(lens)
    return x, lens, np.concatenate([[0], np.cumsum(lens)])


def augment_playlist(rng, x, moods):
    if rng.random() <= R:
        x, moods = x[::-1], moods[::-1]
    r = rng.random(x.shape, dtype=np.float32)
    chosen = r <= PHI
    chosen[:, KEEP] = False
    y = np.where(chosen, x * (1 + P * (2 * r / PHI - 1)), x)
    y[:, UNIT] = np.clip(y[:, UNIT], 0, 1)
    return y, moods


def per_playlist(rng, x, offs, moods):
    out = []
    for i in range(len(offs) - 1):
        xi = x[offs[i]:offs[i + 1]]
        out.append((xi, moods[i]))
        out.append(augment_playlist(rng, xi, moods[i]))
    return np.concatenate([o[0] for o in out]), [o[1] for o in out]


def vectorised(rng, x, lens, offs):
    n_pl = len(lens)
    starts = offs[:-1]
    pos = np.arange(SONGS) - np.repeat(starts, lens)
    rev = np.repeat(rng.random(n_pl) <= R, lens)
    src = np.where(rev, np.repeat(starts + lens - 1, lens) - pos, np.arange(SONGS))
    c = x[src]
    r = rng.random(c.shape, dtype=np.float32)
    chosen = r <= PHI
    chosen[:, KEEP] = False
    c = np.where(chosen, c * (1 + P * (2 * r / PHI - 1)), c)
    c[:, UNIT] = np.clip(c[:, UNIT], 0, 1)
    # Output: playlist i's original rows, then its copy, at 2 * offs[i].
    out = np.empty((2 * SONGS, D), dtype=np.float32)
    base = np.repeat(2 * starts, lens) + pos
    out[base] = x
    out[base + np.repeat(lens, lens)] = c
    return out


def timed(label, fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<28} {best * 1e3:10.1f} ms  {SONGS / best / 1e6:8.2f} M songs/s")


def csv_pipeline(path):
    import pandas as pd

    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    df = pd.read_csv(path, index_col=0)
    ids, moods_col, feats_col = [], [], []
    songs = 0
    for pid, moods_s, feats_s in zip(df.index, df["moods_states"], df["features"]):
        moods = json.loads(moods_s)
        ids.append(pid)
        moods_col.append(moods_s)
        feats_col.append(feats_s)
        if feats_s == "[null]":
            continue
        x = np.array(json.loads(feats_s), dtype=np.float32)
        songs += len(x)
        y, m = augment_playlist(rng, x, moods)
        ids.append(f"{pid}#aug1")
        moods_col.append(json.dumps(m))
        feats_col.append(json.dumps(y.tolist()))
    out = pd.DataFrame({"moods_states": moods_col, "features": feats_col}, index=ids)
    out.to_csv("/tmp/augment_numpy_out.csv")
    dt = time.perf_counter() - t0
    print(f"{'pandas CSV pipeline':<28} {dt * 1e3:10.1f} ms  {songs / dt / 1e6:8.2f} M songs/s ({songs} songs)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--csv", help="also time the pandas pipeline on this playlist CSV")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    x, lens, offs = make_data(rng)
    moods = [[[1, 2], [3]] for _ in lens]
    timed("numpy per-playlist", lambda: per_playlist(rng, x, offs, moods), args.repeat)
    timed("numpy vectorised", lambda: vectorised(rng, x, lens, offs), args.repeat)
    if args.csv:
        csv_pipeline(args.csv)


if __name__ == "__main__":
    main()
