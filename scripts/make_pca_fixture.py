#!/usr/bin/env python3
"""Reference values for playaug's moments and PCA tests, computed with numpy.

Writes, under tests/fixtures/pca/:

  playlists.csv   the 100 tracks of top2018.csv arranged into playlists (fixed seed), with
                  their audio features in the notebook's 11-column order, plus one [null]
                  playlist; the playlist CSV format that `playaug` reads.
  reference.json  float64 references computed from the float32 values of that CSV: mean,
                  covariance, co-moment, eigenvalues and eigenvectors (descending, each
                  vector's largest-magnitude entry positive), explained-variance ratios,
                  the same for the standardized fit (correlation matrix), the number of
                  components kept for several --variance values (scikit-learn's rule),
                  transforms of a few rows, and per-playlist PCA.

Every value is cross-checked against scikit-learn before it is written.

Usage: scripts/make_pca_fixture.py [--top2018 PATH] [--out DIR]
(top2018.csv is the shared data set; it is read, never copied into the repository.)
"""

import argparse
import csv
import io
import json
import os
import sys

import numpy as np
from sklearn.decomposition import PCA

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["acousticness", "danceability", "energy", "instrumentalness", "key", "liveness",
            "loudness", "mode", "speechiness", "tempo", "valence"]
INTEGER_FEATURES = {"key", "mode"}
SEED = 2018
# Playlist sizes (sum 100): full-rank covariances, a rank-1 one and a single song.
SIZES = [24, 18, 14, 12, 16, 13, 2, 1]
VARIANCES = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]
TRANSFORM_ROWS = [0, 1, 37, 50, 99]


def float32_text(v):
    """Shortest decimal that reads back as the float32 nearest to v."""
    return str(np.float32(v))


def canonical(vectors):
    """Rows are eigenvectors; flip each so its largest-magnitude entry (first on a tie) is > 0."""
    out = vectors.copy()
    for i in range(out.shape[0]):
        j = int(np.argmax(np.abs(out[i])))  # argmax returns the first maximum
        if out[i, j] < 0:
            out[i] = -out[i]
    return out


def eig_desc(a):
    values, vectors = np.linalg.eigh(a)
    order = np.argsort(values)[::-1]
    values = np.maximum(values[order], 0.0)  # a covariance is PSD: negatives are rounding
    return values, canonical(vectors[:, order].T)


def keep_for_variance(ratio, f):
    """scikit-learn's rule: the smallest k whose cumulative ratio is strictly greater than f."""
    cumulative = np.cumsum(ratio)
    k = int(np.searchsorted(cumulative, f, side="right")) + 1
    margin = np.min(np.abs(cumulative - f))
    if margin < 1e-9:
        sys.exit(f"variance {f} lies within {margin:g} of a cumulative ratio; pick another")
    return min(k, len(ratio))


def check_against_sklearn(x, values, vectors, ratio, label):
    pca = PCA(svd_solver="full").fit(x)
    if not np.allclose(pca.explained_variance_, values, rtol=1e-9, atol=1e-12 * values[0]):
        sys.exit(f"{label}: eigenvalues disagree with scikit-learn")
    if not np.allclose(pca.explained_variance_ratio_, ratio, rtol=1e-9, atol=1e-15):
        sys.exit(f"{label}: ratios disagree with scikit-learn")
    cos = np.abs(np.sum(pca.components_ * vectors, axis=1))
    if np.min(cos) < 1 - 1e-9:
        sys.exit(f"{label}: components disagree with scikit-learn")
    for f in VARIANCES:
        k_sklearn = PCA(n_components=f, svd_solver="full").fit(x).n_components_
        if k_sklearn != keep_for_variance(ratio, f):
            sys.exit(f"{label}: k for variance {f} disagrees with scikit-learn")


def make_playlists(top2018):
    with open(top2018, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != sum(SIZES):
        sys.exit(f"{top2018}: expected {sum(SIZES)} tracks, found {len(rows)}")
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(rows))
    playlists = []
    start = 0
    for p, size in enumerate(SIZES):
        songs = []
        for r in order[start:start + size]:
            song = []
            for name in FEATURES:
                v = float(rows[r][name])
                song.append(int(round(v)) if name in INTEGER_FEATURES else v)
            songs.append(song)
        start += size
        segments = [sorted(set(int(m) for m in rng.integers(0, 30, size=rng.integers(1, 4))))
                    for _ in range(int(rng.integers(1, 4)))]
        playlists.append((f"pl{p}", segments, songs))
    # A playlist without songs, as the notebook's data has.
    playlists.insert(3, ("empty1", [[3]], None))
    return playlists


def write_csv(path, playlists):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["", "moods_states", "features"])
    for pid, segments, songs in playlists:
        moods = json.dumps(segments)
        if songs is None:
            feats = "[null]"
        else:
            feats = "[" + ", ".join(
                "[" + ", ".join(str(v) if isinstance(v, int) else float32_text(v) for v in song) + "]"
                for song in songs) + "]"
        w.writerow([pid, moods, feats])
    with open(path, "w", newline="") as f:
        f.write(buf.getvalue())


def read_csv_float32(path):
    """The features exactly as playaug holds them: float32, here widened to float64."""
    ids, blocks = [], []
    with open(path, newline="") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            cell = json.loads(row[2])
            ids.append(row[0])
            if cell == [None]:
                blocks.append(np.zeros((0, len(FEATURES))))
            else:
                blocks.append(np.array(cell, dtype=np.float64).astype(np.float32).astype(np.float64))
    return ids, blocks


def tolist(a):
    return np.asarray(a).tolist()


def fit(x, standardize):
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False, ddof=1)
    scale = np.ones(x.shape[1])
    if standardize:
        s = x.std(axis=0, ddof=1)
        scale = np.where(s > 0, s, 1.0)
    z = (x - mean) / scale
    a = np.cov(z, rowvar=False, ddof=1)
    values, vectors = eig_desc(a)
    ratio = values / values.sum()
    check_against_sklearn(z, values, vectors, ratio, "standardized" if standardize else "plain")
    ks = {str(f): keep_for_variance(ratio, f) for f in VARIANCES}
    rows = x[TRANSFORM_ROWS]
    y3 = ((rows - mean) / scale) @ vectors[:3].T
    y_all = ((rows - mean) / scale) @ vectors.T
    out = {
        "mean": tolist(mean),
        "scale": tolist(scale),
        "matrix": tolist(a),
        "eigenvalues": tolist(values),
        "eigenvectors": tolist(vectors),
        "explained_variance_ratio": tolist(ratio),
        "k_for_variance": ks,
        "transform_rows": TRANSFORM_ROWS,
        "transform_k3": tolist(y3),
        "inverse_k3": tolist(y3 @ vectors[:3] * scale + mean),
        "transform_all": tolist(y_all),
    }
    if not standardize:
        out["covariance"] = tolist(cov)
        out["comoment"] = tolist(cov * (x.shape[0] - 1))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top2018", default=os.path.join(ROOT, "..", "shared", "data", "top2018.csv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "pca"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    csv_path = os.path.join(args.out, "playlists.csv")
    write_csv(csv_path, make_playlists(args.top2018))
    ids, blocks = read_csv_float32(csv_path)
    x = np.vstack(blocks)

    per_playlist = []
    for pid, b in zip(ids, blocks):
        n = b.shape[0]
        entry = {"id": pid, "n": n}
        if n >= 2:
            values, vectors = eig_desc(np.cov(b, rowvar=False, ddof=1))
            entry.update(mean=tolist(b.mean(axis=0)), eigenvalues=tolist(values),
                         eigenvectors=tolist(vectors))
        per_playlist.append(entry)

    ref = {
        "generator": "scripts/make_pca_fixture.py",
        "csv": "playlists.csv",
        "feature_names": FEATURES,
        "n": int(x.shape[0]),
        "plain": fit(x, standardize=False),
        "standardized": fit(x, standardize=True),
        "per_playlist": per_playlist,
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"wrote {csv_path} and reference.json ({x.shape[0]} songs, {len(ids)} playlists)")


if __name__ == "__main__":
    main()
