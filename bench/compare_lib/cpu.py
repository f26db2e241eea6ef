"""CPU rows of bench/compare.

Every task runs its contenders on the same data, alternating repetition by repetition
(common.round_robin). playaug's in-process timings come from the driver process, which
holds its own copy of the data; the Python contenders time the same work in this process.
"""

import gc
import itertools
import json
import os
import shutil
import subprocess

import numpy as np

from . import common

D = 11
# The Spotify schema of playaug (include/playaug/dataset.hpp): key (4) and mode (7) are
# kept, the unit-interval features are clamped to [0, 1], loudness and tempo are free.
KEEP = np.array([4, 7])
UNIT = np.array([0, 1, 2, 3, 5, 8, 10])
LO = np.full(D, -np.inf, dtype=np.float32)
HI = np.full(D, np.inf, dtype=np.float32)
LO[UNIT] = 0.0
HI[UNIT] = 1.0
P_MAX = 0.15   # --protuberance
PHI = 0.5      # --phi
R_REV = 0.5    # --reverse

TASKS = ("read", "fit", "protrev", "augment", "nn")

TASK_TITLES = {
    "read": "Load the playlist CSV",
    "fit": "PCA fit (all 11 components)",
    "protrev": "Reversal + protuberance of every playlist (in memory)",
    "augment": "Whole augment command, file to file (originals + 1 copy)",
    "nn": "Catalog nearest neighbour (top-1, exact)",
}

NOTES = [
    "Notes:",
    "",
    "- in-process: only the operation is timed, inside a process that already holds the data "
    "(playaug: bench/bench_compare_driver; the others: this Python process, garbage collected "
    "before each repetition). command: the wall-clock time of the whole `playaug` process, "
    "start, reading and writing included.",
    "- The pandas/numpy contenders are written in their fastest idiomatic form: vectorised numpy "
    "over all songs, one json.loads per cell, float64 where the data arrives as float64 from JSON "
    "(np.cov converts to float64 anyway), float32 for scikit-learn (its fastest input).",
    "- playaug uses all cores (--threads 0); numpy's BLAS uses its default threads (all cores).",
    "- Random numbers differ (playaug: Philox words addressed per element; numpy: PCG64), the "
    "semantics (probabilities, ranges, schema rules) are the same.",
]


# ---------------------------------------------------------------------------------------
# The notebook's loader and the pandas/numpy pipeline
# ---------------------------------------------------------------------------------------

def pandas_load(path):
    """The notebook's loader in its fastest idiomatic form: pandas.read_csv, json.loads of
    every cell, the songs stacked into one float32 matrix (what playaug's read_csv returns:
    flat float32 features, playlist offsets, mood segments)."""
    import pandas as pd
    df = pd.read_csv(path, index_col=0)
    df = df[df["features"] != "[null]"]  # the notebook drops empty playlists
    feats = [json.loads(c) for c in df["features"].tolist()]
    moods = [json.loads(c) for c in df["moods_states"].tolist()]
    counts = np.fromiter(map(len, feats), dtype=np.int64, count=len(feats))
    x = np.array(list(itertools.chain.from_iterable(feats)), dtype=np.float32)
    return {"songs": int(x.shape[0]), "playlists": len(moods), "counts": int(counts.sum())}


def reversed_rows(offsets, flags):
    """Index that reverses the rows of every flagged group (offsets: int64 [G + 1])."""
    n = int(offsets[-1])
    counts = np.diff(offsets)
    group = np.repeat(np.arange(counts.size), counts)
    j = np.arange(n)
    return np.where(flags[group], offsets[:-1][group] + offsets[1:][group] - 1 - j, j)


def protuberate(y, rng, dtype):
    """Protuberance with playaug's semantics, vectorised: each component is chosen with
    probability PHI and multiplied by 1 + u, u uniform in (-P, P]; key and mode kept,
    unit-interval features clamped to [0, 1]. In place."""
    r = rng.random(y.shape, dtype=dtype)
    f = np.where(r <= PHI, (1.0 - P_MAX) + (2.0 * P_MAX / PHI) * r, 1.0).astype(dtype, copy=False)
    f[:, KEEP] = 1.0
    y *= f
    np.clip(y, LO.astype(dtype), HI.astype(dtype), out=y)
    return y


def numpy_protrev(x, so, go, mo, moods, rng):
    """Reversal (probability R_REV per playlist: songs and mood segments) then protuberance,
    on the flat arrays of playaug's dataset layout, vectorised with numpy."""
    playlists = so.size - 1
    flags = rng.random(playlists, dtype=np.float32) < R_REV
    y = x[reversed_rows(so, flags)]
    # Mood segments: new segment k is old segment sidx[k]; its moods move with it.
    sidx = reversed_rows(go, flags)
    lengths = np.diff(mo)[sidx]
    new_mo = np.zeros(sidx.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_mo[1:])
    within = np.arange(int(new_mo[-1])) - np.repeat(new_mo[:-1], lengths)
    new_moods = moods[np.repeat(mo[:-1][sidx], lengths) + within]
    protuberate(y, rng, np.float32)
    return {"reversed": int(flags.sum()), "moods": int(new_moods.size)}


def pandas_augment(src, dst, seed):
    """The augment command written with pandas and numpy: read the CSV, parse the cells,
    reverse + protuberate one copy of every playlist (vectorised over all songs), write the
    originals and the copies <id>#aug1 as CSV in the same format."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    df = pd.read_csv(src, index_col=0)
    ids = df.index.astype(str).tolist()
    fcells = df["features"].tolist()
    mcells = df["moods_states"].tolist()
    playlists = len(ids)
    null = np.fromiter((c == "[null]" for c in fcells), dtype=bool, count=playlists)
    feats = [[] if n else json.loads(c) for c, n in zip(fcells, null)]
    counts = np.fromiter(map(len, feats), dtype=np.int64, count=playlists)
    x = np.array(list(itertools.chain.from_iterable(feats)), dtype=np.float64)
    offsets = np.zeros(playlists + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    flags = (rng.random(playlists) < R_REV) & ~null
    y = x[reversed_rows(offsets, flags)]
    protuberate(y, rng, np.float64)
    rows = y.tolist()

    out_ids, out_moods, out_feats = [], [], []
    for p in range(playlists):
        out_ids.append(ids[p])
        out_moods.append(mcells[p])
        out_feats.append(fcells[p])
        if null[p]:
            continue  # [null] playlists are passed through once, never copied
        out_ids.append(ids[p] + "#aug1")
        out_moods.append(json.dumps(json.loads(mcells[p])[::-1]) if flags[p] else mcells[p])
        out_feats.append(json.dumps(rows[offsets[p]:offsets[p + 1]]))
    out = pd.DataFrame({"moods_states": out_moods, "features": out_feats}, index=out_ids)
    out.to_csv(dst)
    return {"rows": len(out_ids)}


# ---------------------------------------------------------------------------------------
# PCA fits
# ---------------------------------------------------------------------------------------

def notebook_fit(x64):
    """The notebook's code, verbatim apart from names."""
    mdf = x64 - np.mean(x64, axis=0)
    covar = np.cov(mdf.T)
    eigval, eigvec = np.linalg.eig(covar)
    pcomp = np.real(eigval) / sum(np.real(eigval))
    return {"ratio0": float(np.max(pcomp))}


def numpy_eigh_fit(x64):
    cov = np.cov(x64, rowvar=False)
    w, v = np.linalg.eigh(cov)
    w = w[::-1]
    v = v[:, ::-1]
    return {"eigenvalues": w.tolist(), "ratio": (w / w.sum()).tolist()}


def numpy_gram_fit(x64):
    """The fastest covariance numpy offers for a tall matrix: one X^T X product (BLAS) and
    the column sums, then eigh."""
    n = x64.shape[0]
    s = x64.sum(axis=0)
    cov = (x64.T @ x64 - np.outer(s, s) / n) / (n - 1)
    w, v = np.linalg.eigh(cov)
    return {"ratio0": float(w[-1] / w.sum())}


def sklearn_solver():
    import sklearn
    major, minor = (int(t) for t in sklearn.__version__.split(".")[:2])
    return "covariance_eigh" if (major, minor) >= (1, 5) else "full"


def sklearn_fit(x, solver):
    from sklearn.decomposition import PCA
    pca = PCA(svd_solver=solver).fit(x)
    return {"ratio0": float(pca.explained_variance_ratio_[0])}


# ---------------------------------------------------------------------------------------
# Nearest neighbour
# ---------------------------------------------------------------------------------------

def standardise(cat, queries):
    """playaug's catalog standardisation (catalog.hpp): mean and population sd in float64,
    z rounded to float32; squared norms in float64 rounded once."""
    c64 = cat.astype(np.float64)
    mean = c64.mean(axis=0)
    sd = c64.std(axis=0)
    sd[~(sd > 0)] = 1.0
    zc = ((c64 - mean) / sd).astype(np.float32)
    zq = ((queries.astype(np.float64) - mean) / sd).astype(np.float32)
    norms = (zc.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    return zc, norms, zq


def numpy_nn(zc, norms, zq, chunk_values=1 << 22):
    """Brute force with numpy: ||t||^2 - 2 q.t for a block of queries (one float32 matrix
    product), argmin per query."""
    m = zc.shape[0]
    q = zq.shape[0]
    out = np.empty(q, dtype=np.int64)
    step = max(1, chunk_values // m)
    zct = np.ascontiguousarray(zc.T)
    for a in range(0, q, step):
        dist = zq[a:a + step] @ zct
        dist *= -2.0
        dist += norms
        out[a:a + step] = dist.argmin(axis=1)
    return out


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------

def load_arrays(prefix, dim=D):
    x = np.fromfile(prefix + ".features.f32", dtype="<f4").reshape(-1, dim)
    so = np.fromfile(prefix + ".song_offsets.u64", dtype="<u8").astype(np.int64)
    go = np.fromfile(prefix + ".segment_offsets.u64", dtype="<u8").astype(np.int64)
    mo = np.fromfile(prefix + ".mood_offsets.u64", dtype="<u8").astype(np.int64)
    moods = np.fromfile(prefix + ".moods.i32", dtype="<i4")
    return x, so, go, mo, moods


def make_rows(task, n, songs, contenders, results, extra=None):
    rows = []
    for c in contenders:
        res = results[c.name]
        times = [r["seconds"] for r in res]
        row = {"task": task, "n": n, "songs": songs, "contender": c.name, "kind": c.kind,
               "playaug": c.is_playaug}
        if c.note:
            row["note"] = c.note
        row.update(common.summarize(times))
        rows.append(row)
    if extra:
        for row in rows:
            row.update(extra.get(row["contender"], {}))
    return rows


def run(args, out_rows, log):
    """Run the CPU comparison for every size; append result rows to out_rows."""
    build = args.build
    playaug = os.path.join(build, "playaug")
    driver_path = os.path.join(build, "bench", "bench_compare_driver")
    for path in (playaug, driver_path):
        if not os.access(path, os.X_OK):
            raise common.DriverError(f"{path} not found: build the targets playaug_cli and bench_compare_driver "
                                     f"in {build} (Release)")
    tasks = args.tasks
    drv = common.Driver(driver_path, threads=args.threads)
    solver = sklearn_solver()
    try:
        for n in args.sizes:
            n = int(n)
            reps = args.reps if args.reps else (5 if n <= 1_000_000 else 3)
            warmup = args.warmup if args.warmup is not None else (1 if n <= 1_000_000 else 0)
            wdir = os.path.join(args.work, f"n{n}")
            os.makedirs(wdir, exist_ok=True)
            csv = os.path.join(wdir, "playlists.csv")
            prefix = os.path.join(wdir, "arrays")
            playlists = max(1, round(n / 12))  # synth: 4..20 songs per playlist, 12 on average
            log(f"N = {n:,}: playaug synth --playlists {playlists:,}")
            subprocess.run([playaug, "synth", "-o", csv, "--playlists", str(playlists), "--seed", "1", "-q"],
                           check=True)
            info = drv.call(f"export {csv} {prefix}")
            songs = info["songs"]
            file_mb = os.path.getsize(csv) / 1e6
            log(f"  {songs:,} songs, {file_mb:.0f} MB; {reps} reps, {warmup} warm-up")
            x, so, go, mo, moods = load_arrays(prefix)
            size_extra = {"file_mb": round(file_mb, 1), "playlists": info["playlists"]}

            if "read" in tasks:
                log("  read")
                cs = [
                    common.Contender("playaug read_csv", lambda: drv.call(f"read_csv {csv}"), "in-process", True),
                    common.Contender("playaug info (command)", common.timed_command([playaug, "info", csv, "--json"]),
                                     "command", True, "process start included; streams, bounded memory"),
                    common.Contender("pandas read_csv + json.loads", common.timed(lambda: pandas_load(csv)),
                                     "in-process", False, "the notebook's loader, songs stacked to one float32 matrix"),
                ]
                res = common.round_robin(cs, reps, warmup, log if args.verbose else None)
                out_rows += [dict(r, **size_extra) for r in make_rows("read", n, songs, cs, res)]

            if "fit" in tasks:
                log("  fit")
                x64 = x.astype(np.float64)
                cs = [
                    common.Contender("playaug fit_pca", lambda: drv.call("fit"), "in-process", True,
                                     "float32 input, float64 moments, LAPACK dsyevd"),
                    common.Contender("numpy, notebook (np.cov + np.linalg.eig)", common.timed(lambda: notebook_fit(x64)),
                                     "in-process", False, "float64 input, as json.loads gives"),
                    common.Contender("numpy np.cov + np.linalg.eigh", common.timed(lambda: numpy_eigh_fit(x64)),
                                     "in-process", False, "float64 input"),
                    common.Contender("numpy gram form (X^T X) + eigh", common.timed(lambda: numpy_gram_fit(x64)),
                                     "in-process", False, "float64; cancels digits when a mean dwarfs its spread"),
                    common.Contender(f"scikit-learn PCA ({solver})", common.timed(lambda: sklearn_fit(x, solver)),
                                     "in-process", False, "float32 input (its fastest)"),
                ]
                res = common.round_robin(cs, reps, warmup, log if args.verbose else None)
                ev_pa = np.array(res["playaug fit_pca"][-1]["eigenvalues"])
                ev_np = np.array(res["numpy np.cov + np.linalg.eigh"][-1]["eigenvalues"])
                check = float(np.max(np.abs(ev_pa - ev_np) / np.maximum(np.abs(ev_np), 1e-300)))
                rows = make_rows("fit", n, songs, cs, res)
                for r in rows:
                    if r["playaug"]:
                        r["check"] = f"eigenvalues vs np.linalg.eigh: max relative difference {check:.1e}"
                        r["check_value"] = check
                out_rows += rows
                del x64
                gc.collect()

            if "protrev" in tasks:
                log("  protrev")
                seeds = itertools.count(1)
                rng = np.random.default_rng(1)
                cs = [
                    common.Contender("playaug reverse_playlists + protuberance",
                                     lambda: drv.call(f"protrev {next(seeds)}"), "in-process", True,
                                     "float32 in place on a fresh copy; Philox words, schema-aware"),
                    common.Contender("numpy, vectorised", common.timed(lambda: numpy_protrev(x, so, go, mo, moods, rng)),
                                     "in-process", False, "float32, default_rng (PCG64), same semantics"),
                ]
                res = common.round_robin(cs, reps, warmup, log if args.verbose else None)
                out_rows += make_rows("protrev", n, songs, cs, res)

            if "augment" in tasks:
                log("  augment")
                out_pa = os.path.join(wdir, "aug-playaug.csv")
                out_pd = os.path.join(wdir, "aug-pandas.csv")

                def rm(path):
                    return lambda: os.path.exists(path) and os.remove(path)

                def pandas_run():
                    r = common.timed(lambda: pandas_augment(csv, out_pd, 1))()
                    rm(out_pd)()
                    return r

                cs = [
                    common.Contender("playaug augment (command)",
                                     common.timed_command([playaug, "augment", csv, "-o", out_pa, "-k", "1",
                                                           "--seed", "1", "-q"], cleanup=rm(out_pa)),
                                     "command", True, "process start included"),
                    common.Contender("pandas + numpy pipeline", pandas_run, "in-process", False,
                                     "read_csv, json.loads, vectorised augment, json.dumps, to_csv; "
                                     "interpreter start and imports not counted"),
                ]
                res = common.round_robin(cs, reps, warmup, log if args.verbose else None)
                out_rows += [dict(r, **size_extra) for r in make_rows("augment", n, songs, cs, res)]

            if "nn" in tasks and n <= args.nn_max:
                q = min(args.nn_queries, songs // 2)
                m = songs - q
                log(f"  nn (Q = {q}, M = {m:,})")
                zc, norms, zq = standardise(x[:m], x[songs - q:])
                cs = [
                    common.Contender("playaug nearest", lambda: drv.call(f"nn {m} {q}"), "in-process", True,
                                     "exact, AVX2 FMA, prepared catalog"),
                    common.Contender("numpy brute force", common.timed(lambda: {"rows": numpy_nn(zc, norms, zq)}),
                                     "in-process", False, "float32 matrix product + argmin, blocks of queries"),
                ]
                res = common.round_robin(cs, reps, warmup, log if args.verbose else None)
                pa_rows = np.array(res["playaug nearest"][-1]["rows"])
                np_rows = np.array(res["numpy brute force"][-1]["rows"])
                agree = float(np.mean(pa_rows == np_rows))
                rows = make_rows("nn", n, songs, cs, res)
                for r in rows:
                    r["queries"] = q
                    r["catalog"] = m
                    if r["playaug"]:
                        r["check"] = f"same track as numpy for {agree * 100:.1f}% of queries"
                        r["check_value"] = agree
                out_rows += rows
                del zc, norms, zq

            del x, so, go, mo, moods
            gc.collect()
            if not args.keep:
                shutil.rmtree(wdir, ignore_errors=True)
    finally:
        drv.close()
