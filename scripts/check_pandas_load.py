#!/usr/bin/env python3
"""Check that playaug's CSV files and the research notebook's loader agree, both ways.

1. playaug writes a dataset with awkward ids, [null] and [] playlists, track ids and
   float32 values of every kind (tests/pandas_writer.cpp), plus a JSON sidecar with the
   exact values. This script loads the CSV the notebook's way -- pd.read_csv(path,
   index_col=0) and json.loads on every cell -- and compares every id, mood and feature
   (as float32 bits) with the sidecar.
2. Rewriting the loaded frame with pandas (cells made by json.dumps) must give back the
   file byte for byte: playaug writes what pandas writes.
3. pandas writes a CSV (json.dumps cells, float64 digits of the float32 values); playaug
   reads it and must get exactly the expected float32 values.

Usage: check_pandas_load.py --tool PATH/playaug_pandas_writer --workdir DIR
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def f32_bits(x):
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def bits_f64(bits):
    """The float32 with these bits, as the exact Python float."""
    return float(np.array([bits], dtype=np.uint32).view(np.float32)[0])


def load_notebook_way(path):
    df = pd.read_csv(path, index_col=0)
    rows = []
    for pid, row in df.iterrows():
        rows.append({
            "id": pid,
            "moods": json.loads(row["moods_states"]),
            "features": json.loads(row["features"]),
            "track_ids": json.loads(row["track_ids"]) if "track_ids" in df.columns else None,
        })
    return df, rows


def compare(expected, rows, what):
    pls = expected["playlists"]
    if len(rows) != len(pls):
        fail(f"{what}: {len(rows)} playlists, expected {len(pls)}")
    for n, (exp, got) in enumerate(zip(pls, rows)):
        where = f"{what}: playlist {n} ({exp['id']!r})"
        if got["id"] != exp["id"]:
            fail(f"{where}: id {got['id']!r}")
        if got["moods"] != exp["moods"]:
            fail(f"{where}: moods {got['moods']!r}, expected {exp['moods']!r}")
        feats = got["features"]
        if exp["null"]:
            if feats != [None]:
                fail(f"{where}: features {feats!r}, expected [None]")
        else:
            if len(feats) != len(exp["features"]):
                fail(f"{where}: {len(feats)} songs, expected {len(exp['features'])}")
            for s, (fs, es) in enumerate(zip(feats, exp["features"])):
                if len(fs) != expected["dim"]:
                    fail(f"{where}: song {s} has {len(fs)} features")
                for j, (v, bits) in enumerate(zip(fs, es)):
                    if not isinstance(v, float):
                        fail(f"{where}: song {s} feature {j} is {type(v).__name__} {v!r}, expected a float")
                    if f32_bits(v) != bits:
                        fail(f"{where}: song {s} feature {j} = {v!r}, expected {bits_f64(bits)!r}")
        if "track_ids" in exp:
            if got["track_ids"] != exp["track_ids"]:
                fail(f"{where}: track_ids {got['track_ids']!r}, expected {exp['track_ids']!r}")


def pandas_rewrite(df, rows, path):
    """Write the loaded data back with pandas, cells made by json.dumps."""
    out = pd.DataFrame(index=pd.Index([r["id"] for r in rows]))
    out["moods_states"] = [json.dumps(r["moods"]) for r in rows]
    out["features"] = [json.dumps(r["features"]) for r in rows]
    if "track_ids" in df.columns:
        out["track_ids"] = [json.dumps(r["track_ids"], ensure_ascii=False) for r in rows]
    out.to_csv(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="the playaug_pandas_writer executable")
    ap.add_argument("--workdir", required=True, help="directory for the files of the check")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    ours = os.path.join(args.workdir, "playaug.csv")
    expected_json = os.path.join(args.workdir, "expected.json")
    subprocess.run([args.tool, "write", ours, expected_json], check=True)
    with open(expected_json, encoding="utf-8") as f:
        expected = json.load(f)

    # 1. The notebook's loader reads exactly what playaug wrote.
    df, rows = load_notebook_way(ours)
    compare(expected, rows, "pandas reading playaug's file")

    # 2. pandas writes the same bytes.
    again = os.path.join(args.workdir, "pandas_rewrite.csv")
    pandas_rewrite(df, rows, again)
    with open(ours, "rb") as f:
        a = f.read()
    with open(again, "rb") as f:
        b = f.read()
    if a != b:
        for n, (la, lb) in enumerate(zip(a.split(b"\n"), b.split(b"\n"))):
            if la != lb:
                fail(f"pandas rewrites playaug's file differently; first difference in line {n + 1}:\n"
                     f"  playaug: {la[:200]!r}\n  pandas:  {lb[:200]!r}")
        fail(f"pandas rewrites playaug's file with another length ({len(b)} bytes, playaug {len(a)})")

    # 3. playaug reads what pandas wrote from float64 values (17 significant digits).
    theirs = os.path.join(args.workdir, "pandas.csv")
    frame = pd.DataFrame(index=pd.Index([p["id"] for p in expected["playlists"]]))
    frame["moods_states"] = [json.dumps(p["moods"]) for p in expected["playlists"]]
    frame["features"] = [json.dumps([None] if p["null"] else [[bits_f64(b) for b in s] for s in p["features"]])
                         for p in expected["playlists"]]
    frame["track_ids"] = [json.dumps(p["track_ids"]) for p in expected["playlists"]]
    frame.to_csv(theirs)
    got_json = os.path.join(args.workdir, "got.json")
    subprocess.run([args.tool, "read", theirs, got_json], check=True)
    with open(got_json, encoding="utf-8") as f:
        got = json.load(f)
    if got != expected:
        for n, (g, e) in enumerate(zip(got["playlists"], expected["playlists"])):
            if g != e:
                fail(f"playaug reading pandas' file: playlist {n} differs:\n  got      {g}\n  expected {e}")
        fail(f"playaug reading pandas' file: {got.get('dim')} / {len(got['playlists'])} playlists differ")

    print(f"pandas {pd.__version__}: {len(rows)} playlists agree both ways; rewrite is byte-identical")


if __name__ == "__main__":
    main()
