#!/usr/bin/env python3
"""Reference answers for playaug's catalog nearest-neighbour search (requery), by brute force
in float64 with numpy.

Writes, under tests/fixtures/requery/:
  synthetic_catalog.csv  a synthetic catalog in the column layout of the public 114k-track
                         dataset (unnamed index column, quoted fields with commas, CRLF line
                         ends, duplicated rows and duplicated track ids across genres)
  nn_synthetic.json      queries and expected answers on that catalog
  nn_top2018.json        queries and expected answers on ../shared/data/top2018.csv (the
                         catalog itself is not copied; only derived answers are stored)

The reference: features standardised with the catalog's own mean and population standard
deviation (float64), squared Euclidean distance in float64, ties to the lower catalog row
(np.argmin). "No repeats" playlists: songs in order, each takes the nearest row whose track
id no earlier song of the playlist took. Queries are kept only when the answer is
separated from the next candidate with different features by at least MARGIN in squared
standardised distance, so that any correct float32 implementation must agree exactly.

Usage: python3 scripts/make_nn_fixture.py [--shared-data DIR]
"""

import argparse
import csv
import json
import os
import sys

import numpy as np

FEATURES = ["acousticness", "danceability", "energy", "instrumentalness", "key", "liveness",
            "loudness", "mode", "speechiness", "tempo", "valence"]
UNIT = [0, 1, 2, 3, 5, 8, 10]
KEY, MODE, LOUDNESS, TEMPO = 4, 7, 6, 9
MARGIN = 1e-3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "requery")


def f32(a):
    """Values as float32, back in float64 (what the C++ reader holds)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def read_catalog(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = [h.strip().lower() for h in rows[0]]
    id_col = header.index("track_id") if "track_id" in header else header.index("id")
    genre_col = None
    for g in ("track_genre", "genre"):
        if g in header:
            genre_col = header.index(g)
            break
    cols = [header.index(n) for n in FEATURES]
    ids, genres, x = [], [], []
    for r in rows[1:]:
        if not r:
            continue
        ids.append(r[id_col].strip())
        genres.append(r[genre_col].strip() if genre_col is not None else "")
        x.append([float(r[c]) for c in cols])
    return ids, genres, f32(x)


def scaler(x):
    mean = x.mean(axis=0)
    sd = np.sqrt(((x - mean) ** 2).mean(axis=0))
    sd[~(sd > 0)] = 1.0
    return mean, sd


def order(zc, zq):
    """Candidate rows of zc for query zq sorted by (distance, row), with distances."""
    d = ((zc - zq) ** 2).sum(axis=1)
    idx = np.lexsort((np.arange(len(d)), d))
    return idx, d


def separated(x_rows, d, idx, chosen_pos, allowed):
    """True when the chosen candidate beats every allowed candidate with different features
    by MARGIN."""
    c = idx[chosen_pos]
    for j in idx[chosen_pos + 1:]:
        if not allowed(j):
            continue
        if np.array_equal(x_rows[j], x_rows[c]):
            continue
        return d[j] - d[c] >= MARGIN
    return True


class reference:
    def __init__(self, ids, genres, x, genre_filter=None):
        self.mean, self.sd = scaler(x)  # over the whole catalog
        rows = [i for i in range(len(ids)) if genre_filter is None or genres[i] in genre_filter]
        self.rows = np.array(rows)
        self.x = x[self.rows]
        self.z = (self.x - self.mean) / self.sd
        self.ids = [ids[i] for i in rows]

    def std(self, q):
        return (q - self.mean) / self.sd

    def nearest(self, q):
        """Catalog row of the nearest candidate, or None when not separated."""
        idx, d = order(self.z, self.std(q))
        if not separated(self.x, d, idx, 0, lambda j: True):
            return None
        assert idx[0] == int(np.argmin(d))
        return int(self.rows[idx[0]])

    def playlist(self, qs):
        """Catalog rows chosen without repeats, or None when some step is not separated."""
        used, out = set(), []
        for q in qs:
            idx, d = order(self.z, self.std(q))
            pos = next(p for p, j in enumerate(idx) if self.ids[j] not in used)
            if not separated(self.x, d, idx, pos, lambda j: self.ids[j] not in used):
                return None
            used.add(self.ids[idx[pos]])
            out.append(int(self.rows[idx[pos]]))
        return out


def perturb(rng, x, p=0.15):
    """x * (1 + u) on continuous features, key/mode kept, unit features clamped."""
    y = x.copy()
    u = rng.uniform(-p, p, size=x.shape)
    for k in range(11):
        if k in (KEY, MODE):
            continue
        y[k] = x[k] * (1 + u[k])
        if k in UNIT:
            y[k] = min(1.0, max(0.0, y[k]))
    return f32(y)


def make_queries(rng, ref, x_all, n, wild_share=0.2):
    qs, expect = [], []
    while len(qs) < n:
        if rng.random() < wild_share:
            q = f32(random_track(rng))
        else:
            q = perturb(rng, x_all[rng.integers(len(x_all))])
        r = ref.nearest(q)
        if r is None:
            continue
        qs.append(q)
        expect.append(r)
    return qs, expect


def make_playlists(rng, ref, x_all, count, lo, hi):
    out = []
    while len(out) < count:
        n = int(rng.integers(lo, hi + 1))
        base = x_all[rng.integers(len(x_all))]
        qs = []
        for _ in range(n):
            r = rng.random()
            if r < 0.25 and qs:
                qs.append(qs[int(rng.integers(len(qs)))].copy())  # the same song again
            elif r < 0.7:
                qs.append(perturb(rng, base, 0.05))  # close to one track: forces second choices
            else:
                qs.append(perturb(rng, x_all[rng.integers(len(x_all))]))
        rows = ref.playlist(qs)
        if rows is None:
            continue
        out.append({"queries": [q.tolist() for q in qs], "rows": rows})
    return out


def random_track(rng):
    t = np.empty(11)
    for k in UNIT:
        t[k] = rng.beta(1.2, 1.5)
    t[3] = rng.beta(0.3, 2.0)  # instrumentalness: mostly near 0
    t[KEY] = rng.integers(-1, 12)
    t[MODE] = rng.integers(0, 2)
    t[LOUDNESS] = -rng.gamma(2.0, 3.5)
    t[TEMPO] = rng.uniform(60, 200)
    return t


def write_synthetic_catalog(rng, path, n=400):
    genres = ["pop", "rock", "acoustic", "edm", "sleep"]
    rows = []
    for i in range(n):
        t = random_track(rng)
        rows.append({"id": f"syn{i:05d}x", "genre": genres[i % len(genres)], "x": f32(t)})
    # Exact duplicates under other ids (ties: the lower row wins) ...
    for i in range(10):
        src = rows[int(rng.integers(n))]
        rows.append({"id": f"dup{i:05d}x", "genre": src["genre"], "x": src["x"].copy()})
    # ... and the same track listed under a second genre, as in the 114k-track dataset.
    for i in range(8):
        src = rows[int(rng.integers(n))]
        g = genres[(genres.index(src["genre"]) + 1) % len(genres)]
        rows.append({"id": src["id"], "genre": g, "x": src["x"].copy()})
    order_ = rng.permutation(len(rows))
    rows = [rows[i] for i in order_]
    header = ["", "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms", "explicit",
              "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
              "instrumentalness", "liveness", "valence", "tempo", "time_signature", "track_genre"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        for i, r in enumerate(rows):
            x = r["x"]
            feat = {n: x[k] for k, n in enumerate(FEATURES)}

            def num(k):
                v = np.float32(feat[k])
                return str(int(v)) if k in ("key", "mode") else repr(float(v))

            w.writerow([i, r["id"], f"Artist {i % 17}, feat. \"Guest\" {i % 5}", f"Album, vol. {i % 3}",
                        f"Track \"{i}\"", int(rng.integers(0, 100)), int(rng.integers(60000, 400000)),
                        "False", num("danceability"), num("energy"), num("key"), num("loudness"), num("mode"),
                        num("speechiness"), num("acousticness"), num("instrumentalness"), num("liveness"),
                        num("valence"), num("tempo"), 4, r["genre"]])


def case(ref, rng, x_all, n_queries, n_playlists):
    qs, rows = make_queries(rng, ref, x_all, n_queries)
    return {
        "queries": [q.tolist() for q in qs],
        "rows": rows,
        "playlists": make_playlists(rng, ref, x_all, n_playlists, 3, 12),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared-data", default=os.environ.get("PLAYAUG_SHARED_DATA",
                                                            os.path.join(ROOT, "..", "shared", "data")))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20241127)

    # Synthetic catalog.
    syn_path = os.path.join(OUT, "synthetic_catalog.csv")
    write_synthetic_catalog(rng, syn_path)
    ids, genres, x = read_catalog(syn_path)
    full = reference(ids, genres, x)
    filt = reference(ids, genres, x, {"pop", "rock"})
    syn = {
        "catalog": "synthetic_catalog.csv",
        "tracks": len(ids),
        "mean": full.mean.tolist(),
        "sd": full.sd.tolist(),
        "all": case(full, rng, x, 300, 25),
        "genres": ["pop", "rock"],
        "filtered": case(filt, rng, x, 200, 15),
    }
    with open(os.path.join(OUT, "nn_synthetic.json"), "w") as f:
        json.dump(syn, f, indent=0)

    # top2018 (read from the shared data; not copied).
    top_path = os.path.join(args.shared_data, "top2018.csv")
    if not os.path.exists(top_path):
        sys.exit(f"missing {top_path}; pass --shared-data")
    ids, genres, x = read_catalog(top_path)
    ref = reference(ids, genres, x)
    top = {
        "catalog": "top2018.csv",
        "tracks": len(ids),
        "mean": ref.mean.tolist(),
        "sd": ref.sd.tolist(),
        "all": case(ref, rng, x, 200, 20),
    }
    with open(os.path.join(OUT, "nn_top2018.json"), "w") as f:
        json.dump(top, f, indent=0)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
