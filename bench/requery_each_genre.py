#!/usr/bin/env python3
"""`playaug requery --each-genre` against what it replaces: one `requery --genre G` run per
genre followed by a merge of their outputs into the same rows (copies of each playlist in
genre order, ids <id>#rq-G), done here in Python on the CSV text.

Both ways run alternately on the same data, and the script reports the median wall time
(and CPU time of the playaug processes) of each and their ratio, and checks that both
produce the same bytes (with --protuberance 0 the single-genre runs' targets are the
each-genre copies' targets; see docs/requery.md).

    python3 bench/requery_each_genre.py --playaug build/playaug \\
        --playlists ../shared/data/spotify-songs/playlists.csv \\
        --catalog ../shared/data/spotify-songs/tracks.csv --runs 5
"""

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def genres_of(catalog):
    with open(catalog, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        col = "track_genre" if "track_genre" in rows.fieldnames else "genre"
        return sorted({r[col] for r in rows} - {""})


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def each_genre(exe, common, out):
    run([exe, "requery", *common, "--each-genre", "-o", out, "-q"])


def per_genre_and_merge(exe, common, genres, tmp, out):
    lines = {}
    for g in genres:
        path = os.path.join(tmp, "one.csv")
        run([exe, "requery", *common, "--genre", g, "-o", path, "-q"])
        with open(path, encoding="utf-8", newline="") as f:
            lines[g] = f.read().splitlines(keepends=True)
    # One record per line here (ids without line breaks, as in the benchmark's data).
    merged = [lines[genres[0]][0]]
    for i in range(1, len(lines[genres[0]])):
        for g in genres:
            line = lines[g][i]
            at = line.index("#rq,")
            merged.append(line[:at] + "#rq-" + g + line[at + 3:])
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.writelines(merged)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--playaug", required=True)
    ap.add_argument("--playlists", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    genres = genres_of(a.catalog)
    common = [a.playlists, "--catalog", a.catalog, "-p", "0", "--seed", "1", "--device", a.device]
    if a.threads:
        common += ["--threads", str(a.threads)]
    wall = {"each-genre": [], "per-genre + merge": []}
    cpu = {k: [] for k in wall}
    with tempfile.TemporaryDirectory() as tmp:
        outs = {k: os.path.join(tmp, k.replace(" ", "").replace("+", "_") + ".csv") for k in wall}
        for _ in range(a.runs):
            for k in wall:
                c0, t0 = children_cpu(), time.perf_counter()
                if k == "each-genre":
                    each_genre(a.playaug, common, outs[k])
                else:
                    per_genre_and_merge(a.playaug, common, genres, tmp, outs[k])
                wall[k].append(time.perf_counter() - t0)
                cpu[k].append(children_cpu() - c0)
        with open(outs["each-genre"], "rb") as f1, open(outs["per-genre + merge"], "rb") as f2:
            same = f1.read() == f2.read()
    print(f"{len(genres)} genres ({', '.join(genres)}), {a.runs} runs each, alternating; same bytes: {same}")
    for k in wall:
        print(f"  {k:18s} median wall {statistics.median(wall[k]):7.3f} s   playaug CPU {statistics.median(cpu[k]):7.3f} s")
    r = statistics.median(wall["per-genre + merge"]) / statistics.median(wall["each-genre"])
    print(f"  per-genre + merge / each-genre: {r:.2f}x wall")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
