"""playaug info --json against a summary computed here with the standard library only.

Usage: python3 info_json.py PLAYAUG_EXECUTABLE SOURCE_DIR
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

PLAYAUG, SOURCE_DIR = sys.argv[1], sys.argv[2]
KEYS = ["playlists", "empty_playlists", "songs", "features", "feature_names", "min", "mean", "max"]
SPOTIFY = ["acousticness", "danceability", "energy", "instrumentalness", "key", "liveness",
           "loudness", "mode", "speechiness", "tempo", "valence"]
failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def info_json(path):
    r = subprocess.run([PLAYAUG, "info", "--json", path], capture_output=True, text=True)
    check(r.returncode == 0, f"info --json {path} exited {r.returncode}: {r.stderr}")
    text = r.stdout
    obj, end = json.JSONDecoder().raw_decode(text)
    check(text[end:].strip() == "", f"info --json printed more than one JSON object: {text[end:]!r}")
    return obj


def reference(path):
    csv.field_size_limit(1 << 30)
    playlists = empty = songs = 0
    d = 0
    lo, hi, total = [], [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        col = header.index("features")
        for row in rows:
            playlists += 1
            feats = json.loads(row[col])
            if feats == [None] or feats == []:
                empty += 1
                continue
            for song in feats:
                if d == 0:
                    d = len(song)
                    lo, hi, total = list(song), list(song), [0.0] * d
                songs += 1
                for j, v in enumerate(song):
                    lo[j] = min(lo[j], v)
                    hi[j] = max(hi[j], v)
                    total[j] += v
    mean = [t / songs for t in total] if songs else []
    return dict(playlists=playlists, empty_playlists=empty, songs=songs, features=d,
                min=lo, mean=mean, max=hi)


def compare(path, expect_names=None):
    got = info_json(path)
    ref = reference(path)
    check(list(got.keys()) == KEYS, f"keys {list(got.keys())} != {KEYS}")
    for k in ["playlists", "empty_playlists", "songs", "features"]:
        check(got.get(k) == ref[k], f"{path}: {k} = {got.get(k)}, reference {ref[k]}")
    if expect_names is not None:
        check(got.get("feature_names") == expect_names, f"feature_names {got.get('feature_names')}")
    check(len(got.get("feature_names", [])) == ref["features"], "one name per feature")
    for k in ["min", "max"]:
        # The file's decimal values read as float32 and printed in shortest form compare
        # equal to the decimal text as a float64 within float32 rounding.
        for j, (a, b) in enumerate(zip(got[k], ref[k])):
            check(math.isclose(a, b, rel_tol=6e-8, abs_tol=1e-45), f"{k}[{j}] = {a}, reference {b}")
        check(len(got[k]) == len(ref[k]), f"{k} has {len(got[k])} entries")
    for j, (a, b) in enumerate(zip(got["mean"], ref["mean"])):
        check(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9), f"mean[{j}] = {a}, reference {b}")
    check(len(got["mean"]) == len(ref["mean"]), "mean length")
    return got


sample = os.path.join(SOURCE_DIR, "data", "sample", "playlists.csv")
got = compare(sample, SPOTIFY)
check(got["playlists"] >= 200, "the sample has a few hundred playlists")
check(got["empty_playlists"] > 0, "the sample has empty playlists")

with tempfile.TemporaryDirectory() as tmp:
    synth = os.path.join(tmp, "s.csv")
    r = subprocess.run([PLAYAUG, "synth", "-o", synth, "--playlists", "777", "--min-songs", "1",
                        "--max-songs", "5", "--seed", "3", "--empty-fraction", "0.1", "-q"])
    check(r.returncode == 0, "synth")
    got = compare(synth, SPOTIFY)
    check(got["playlists"] == 777, "synth wrote 777 playlists")

    generic = os.path.join(tmp, "g.csv")
    with open(generic, "w") as f:
        f.write(',moods_states,features\n')
        f.write('a,"[[1], [2]]","[[1.5, -2, 1e-07], [0.25, 3, 7]]"\n')
        f.write('b,"[[3]]",[null]\n')
        f.write('c,"[[4]]","[[100000, 0, -1e-07]]"\n')
    got = compare(generic, ["f0", "f1", "f2"])
    check(got["min"] == [0.25, -2, -1e-07] and got["max"] == [100000, 3, 7], f"exact min/max {got}")

    only_empty = os.path.join(tmp, "e.csv")
    with open(only_empty, "w") as f:
        f.write(',moods_states,features\nx,"[[1]]",[null]\n')
    got = info_json(only_empty)
    check(got == {"playlists": 1, "empty_playlists": 1, "songs": 0, "features": 0, "feature_names": [],
                  "min": [], "mean": [], "max": []}, f"a file without songs: {got}")

if failures:
    print(f"{len(failures)} of {checks} checks failed", file=sys.stderr)
    sys.exit(1)
print(f"all {checks} checks passed")
