#!/usr/bin/env python3
"""playaug.dask on this machine, side by side in one run, rounds interleaved, medians:

  files     fit and augment throughput of the same synthetic dataset split into files:
            the single-process CLI (`playaug fit-pca`, `playaug augment`, all cores) on
            the concatenated CSV, and playaug.dask.fit_pca / augment on a LocalCluster of
            1 and of 2 worker processes (1 thread each), from CSV and from Parquet parts;
  array     the PCA fit of a dask array of N x 11 float32 (default 1e7) already in the
            memory of 2 workers: playaug.dask.fit_pca, a hand-written two-pass dask
            covariance ((X - X.mean(0)).T @ (X - X.mean(0)), then numpy's eigh), and
            dask-ml's PCA(svd_solver="full") when dask-ml is installed
            (scripts/install-deps --pip dask-ml; the row is skipped without it);
  sizes     what the estimate in docs/scale-out.md needs: bytes of one pickled Moments,
            per-worker rates (songs/s) of the moments and augment tasks.

Writes docs/benchmarks/dask.md (and --json). The machine is shared: rows alternate within
each round and the medians are reported.

    python bench/dask_scaleout.py --cli build/playaug [--playlists N] [--files F] [--rows N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import pickle
import platform
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def split_lines(src: pathlib.Path, out: pathlib.Path, files: int):
    lines = src.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    cuts = np.linspace(0, len(rows), files + 1).astype(int)
    paths = []
    for i in range(files):
        p = out / f"in-{i:03d}.csv"
        p.write_text(header + "".join(rows[cuts[i]:cuts[i + 1]]))
        paths.append(p)
    return paths


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default="build/playaug")
    ap.add_argument("--playlists", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rows", type=float, default=1e7, help="rows of the in-memory dask array")
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="docs/benchmarks/dask.md")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import dask
    import dask.array as da
    import distributed

    import playaug
    import playaug.dask as pdask

    try:
        from dask_ml.decomposition import PCA as DaskMLPCA
    except ImportError:
        DaskMLPCA = None

    work = pathlib.Path(tempfile.mkdtemp(prefix="playaug-dask-bench-"))
    try:
        whole = work / "all.csv"
        subprocess.run([args.cli, "synth", "-o", whole, "--playlists", str(args.playlists), "--seed", "1", "-q"],
                       check=True)
        csvs = split_lines(whole, work, args.files)
        parquets = []
        for p in csvs:
            q = p.with_suffix(".parquet")
            playaug.convert(p, q)
            parquets.append(q)
        songs = playaug.Moments.of(whole, device="cpu").n
        csv_bytes = whole.stat().st_size
        pq_bytes = sum(q.stat().st_size for q in parquets)

        def cluster(n):
            c = distributed.LocalCluster(processes=True, n_workers=n, threads_per_worker=1, host="127.0.0.1",
                                         dashboard_address=None)
            return c, distributed.Client(c)

        c1, client1 = cluster(1)
        c2, client2 = cluster(2)
        cli = [args.cli]
        opts = dict(copies=2, seed=7)

        rows = {}

        def add(name, fn):
            rows.setdefault(name, []).append(timed(fn))

        # --- files: fit and augment ------------------------------------------------------------
        file_rows = [
            ("CLI fit-pca, 1 process (all cores), CSV",
             lambda: subprocess.run(cli + ["fit-pca", whole, "-o", work / "m.json", "-q", "--device", "cpu"],
                                    check=True)),
            ("dask fit_pca, 1 worker, CSV parts", lambda: pdask.fit_pca(csvs, client=client1, device="cpu")),
            ("dask fit_pca, 2 workers, CSV parts", lambda: pdask.fit_pca(csvs, client=client2, device="cpu")),
            ("dask fit_pca, 1 worker, Parquet parts", lambda: pdask.fit_pca(parquets, client=client1, device="cpu")),
            ("dask fit_pca, 2 workers, Parquet parts", lambda: pdask.fit_pca(parquets, client=client2, device="cpu")),
            ("CLI augment --copies 2, 1 process (all cores), CSV -> CSV",
             lambda: subprocess.run(cli + ["augment", whole, "-o", work / "aug.csv", "--copies", "2", "--seed", "7",
                                           "-q", "--device", "cpu"], check=True)),
            ("dask augment, 1 worker, CSV -> CSV parts",
             lambda: pdask.augment(csvs, work / "aug1", overwrite=True, client=client1, device="cpu", **opts)),
            ("dask augment, 2 workers, CSV -> CSV parts",
             lambda: pdask.augment(csvs, work / "aug2", overwrite=True, client=client2, device="cpu", **opts)),
            ("dask augment, 1 worker, Parquet -> Parquet parts",
             lambda: pdask.augment(parquets, work / "aug1.parquet", overwrite=True, client=client1, device="cpu",
                                   **opts)),
            ("dask augment, 2 workers, Parquet -> Parquet parts",
             lambda: pdask.augment(parquets, work / "aug2.parquet", overwrite=True, client=client2, device="cpu",
                                   **opts)),
        ]
        for _, fn in file_rows:  # warm-up: imports on the workers, page cache
            fn()
        for r in range(args.rounds):
            order = file_rows if r % 2 == 0 else file_rows[::-1]
            for name, fn in order:
                add(name, fn)

        # --- per-worker task rates for the estimate ---------------------------------------------
        big_csv = csvs[0]
        part_songs = playaug.Moments.of(big_csv, device="cpu").n
        rate_rows = {
            "moments of one CSV part (C++ reader + moments)": lambda: playaug.Moments.of(big_csv, device="cpu",
                                                                                           threads=1),
            "moments of one Parquet part (pyarrow + moments)": lambda: pdask._partial(
                pdask.Partition("parquet", str(parquets[0]), tuple(range(len(playaug._parquet.row_group_rows(
                    parquets[0]))))), None, "cpu", 1),
            "augment of one CSV part, --copies 2, CSV written": lambda: pdask._augment_part(
                pdask.Partition("csv", str(big_csv)), None, 0, str(work / "one.csv"), "csv",
                dict(copies=2, seed=7, device="cpu", threads=1)),
            "augment of one Parquet part, --copies 2, Parquet written": lambda: pdask._augment_part(
                pdask.Partition("parquet", str(parquets[0]),
                                tuple(range(len(playaug._parquet.row_group_rows(parquets[0]))))),
                None, 0, str(work / "one.parquet"), "parquet", dict(copies=2, seed=7, device="cpu", threads=1)),
        }
        rates = {}
        for name, fn in rate_rows.items():
            fn()
            rates[name] = statistics.median(timed(fn) for _ in range(args.rounds))
        m = playaug.Moments.of(big_csv, device="cpu")
        moments_bytes = len(pickle.dumps(m))

        # --- the in-memory array --------------------------------------------------------------------
        n = int(args.rows)
        X = da.random.default_rng(3).standard_normal((n, 11), chunks=(args.chunk_rows, 11), dtype=np.float32)
        X = (X * np.float32(3) + np.float32(1)).astype(np.float32)
        X = client2.persist(X)
        distributed.wait(X)

        def two_pass():
            mu = X.mean(axis=0)
            xc = X - mu
            cov = (xc.T @ xc).compute() / (n - 1)
            np.linalg.eigh(cov)

        array_rows = [
            ("playaug.dask.fit_pca", lambda: pdask.fit_pca(X, client=client2, device="cpu")),
            ("two-pass dask (X - X.mean(0)).T @ (X - X.mean(0)), eigh", two_pass),
        ]
        if DaskMLPCA is not None:
            array_rows.append(('dask-ml PCA(svd_solver="full")', lambda: DaskMLPCA(svd_solver="full").fit(X)))
        for _, fn in array_rows:
            fn()
        arr = {}
        for r in range(args.rounds):
            order = array_rows if r % 2 == 0 else array_rows[::-1]
            for name, fn in order:
                arr.setdefault(name, []).append(timed(fn))
        # the check that the fit is right, against the two-pass float64 covariance
        pca = pdask.fit_pca(X, client=client2, device="cpu")
        x64 = X.astype(np.float64)
        mu = x64.mean(axis=0)
        cov = ((x64 - mu).T @ (x64 - mu)).compute() / (n - 1)
        w = np.linalg.eigvalsh(cov)[::-1]
        fit_error = float(np.max(np.abs(pca.eigenvalues_ - w)) / w[0])

        client1.close(), c1.close(), client2.close(), c2.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in rows.items()}
    amed = {k: statistics.median(v) for k, v in arr.items()}
    result = dict(machine=f"{os.cpu_count()} cores, {cpu_model()}", dask=dask.__version__,
                  distributed=distributed.__version__, playlists=args.playlists, songs=songs, files=args.files,
                  csv_bytes=csv_bytes, parquet_bytes=pq_bytes, rounds=args.rounds, files_s=med, array_rows=n,
                  array_s=amed, rates_s=rates, part_songs=part_songs, moments_bytes=moments_bytes,
                  fit_error_vs_float64=fit_error, dask_ml=DaskMLPCA is not None)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(pathlib.Path(args.out), result)
    print(pathlib.Path(args.out).read_text())


def write_markdown(path: pathlib.Path, r: dict) -> None:
    songs, mb = r["songs"], r["csv_bytes"] / 1e6
    L = []
    L.append("# playaug.dask on one machine\n")
    L.append(f"`bench/dask_scaleout.py`, {r['machine']}, dask {r['dask']}, distributed {r['distributed']}; "
             f"medians of {r['rounds']} rounds, rows alternating within each round, on a machine shared with "
             "other jobs. Workers are `distributed.LocalCluster(processes=True, threads_per_worker=1)` processes "
             "on 127.0.0.1; the CLI uses all cores.\n")
    L.append(f"## Files: {r['playlists']:,} synthetic playlists, {songs:,} songs\n")
    L.append(f"The same data as one CSV ({mb:.0f} MB) for the CLI and as {r['files']} part files for Dask "
             f"(CSV, or Parquet: {r['parquet_bytes'] / 1e6:.0f} MB in all). Augment writes 3x the playlists "
             "(original + 2 copies).\n")
    L.append("| run | time | songs/s | vs the CLI |")
    L.append("| --- | ---: | ---: | ---: |")
    med = r["files_s"]
    for kind in ("fit", "augment"):
        cli_key = next(k for k in med if k.startswith("CLI") and kind in k)
        for k, v in med.items():
            if (kind == "fit") != ("fit" in k):
                continue
            L.append(f"| {k} | {v:.3f} s | {songs / v / 1e6:.2f} M | {med[cli_key] / v:.2f}x |")
    L.append("")
    L.append(f"## A dask array of {r['array_rows']:.0e} x 11 float32 in the memory of 2 workers\n")
    L.append("| fit | time | playaug.dask.fit_pca is |")
    L.append("| --- | ---: | ---: |")
    amed = r["array_s"]
    ours = amed["playaug.dask.fit_pca"]
    for k, v in amed.items():
        L.append(f"| {k} | {v:.3f} s | {v / ours:.1f}x faster |" if k != "playaug.dask.fit_pca"
                 else f"| {k} | {v:.3f} s | |")
    if not r["dask_ml"]:
        L.append('| dask-ml PCA(svd_solver="full") | not installed (`scripts/install-deps --pip dask-ml`) | |')
    L.append("")
    L.append(f"The fit's eigenvalues differ from a float64 two-pass covariance's by at most "
             f"{r['fit_error_vs_float64']:.1e} of the largest.\n")
    L.append("## Per-worker rates (one task on one core, one part file)\n")
    L.append(f"One part holds {r['part_songs']:,} songs. A pickled `Moments` (d = 11) is "
             f"{r['moments_bytes']:,} bytes.\n")
    L.append("| task | time | songs/s |")
    L.append("| --- | ---: | ---: |")
    for k, v in r["rates_s"].items():
        L.append(f"| {k} | {v * 1e3:.1f} ms | {r['part_songs'] / v / 1e6:.2f} M |")
    L.append("")
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
