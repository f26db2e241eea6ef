"""GPU rows of bench/compare: playaug (through the driver, device memory) vs PyTorch and CuPy.

Timing: CUDA events around `inner` back-to-back calls after warm-up; each call takes the
next of several copies of the input (together at least three times the L2 cache), so no
contender finds its input in L2. A repetition is one such timed batch; contenders alternate
repetition by repetition (common.round_robin). The ceiling is a device-to-device
cudaMemcpyAsync of the same bytes (the N x 11 float32 input), timed the same way; each
row's copy_frac is copy time / row time.

Everything is skipped cleanly (a result file that says why) when PyTorch or a CUDA device
is missing; playaug's rows are skipped when the driver was built without CUDA.
"""

import datetime
import gc
import itertools
import math
import os
import subprocess
import time

import numpy as np

from . import common
from .cpu import HI, KEEP, LO, P_MAX, PHI

D = 11
K = 3  # components kept for the projection row (the notebook keeps 3)

TASKS = ("copy", "cov", "fit", "protuberance", "transform", "nn")

TASK_TITLES = {
    "copy": "Device-to-device copy of the N x 11 float32 input (the ceiling)",
    "cov": "Covariance pass (moments / cov)",
    "fit": "PCA fit (covariance + 11 x 11 eigendecomposition)",
    "protuberance": "Protuberance of every song, in place (p = 0.15, phi = 0.5, schema-aware)",
    "transform": f"Projection onto {K} components",
    "nn": "Top-1 nearest neighbour (exact, standardised features)",
}

NOTES = [
    "Notes:",
    "",
    "- All contenders work on the same songs (made by playaug's synthesizer), already in device "
    "memory; PyTorch and CuPy get float32 (their natural dtype for this data; CuPy's cov is asked "
    "for float32), playaug reads float32 and accumulates moments in float64.",
    "- playaug's cov/fit rows return their d x d result to the host (the call synchronises); the "
    "peers' results stay on the device. Both are timed to completion by the CUDA events.",
    "- The projection peer uses one fused torch.addmm (x P^T - mu P^T): its fastest form.",
    "- cupy.cov is slow on this tall, narrow matrix: the column means (a reduction along axis 0 of an "
    "[N x 11] array, or axis 1 of its transpose) take most of its time; the gram-form rows show what "
    "torch and cupy reach with two matrix products instead.",
    "- Nearest neighbour: playaug's fused kernel vs torch.cdist + argmin in blocks of queries (the "
    "block size that ran fastest in the warm-up is used).",
    "- copy_frac = (time of cudaMemcpyAsync of the same input bytes) / (row time). Rows that only "
    "read their input (cov, fit) can exceed 1.",
]


GRAM_TORCH = "torch gram form (x^T x, 1^T x)"
GRAM_CUPY = "cupy gram form (x^T x, 1^T x)"
GRAM_NOTE = ("the fastest form found: two matrix products, cov = (x^T x - s s^T / n) / (n - 1) in float32 "
             "(cancels digits when a mean dwarfs its spread)")


def _nbuf(nbytes, l2):
    return int(min(8, max(2, math.ceil(3 * l2 / max(nbytes, 1)))))


class _Timer:
    """CUDA-event timing of `inner` calls of fn, for torch or cupy."""

    def __init__(self, torch, cupy):
        self.torch = torch
        self.cupy = cupy

    def torch_time(self, fn, inner):
        t = self.torch
        start = t.cuda.Event(enable_timing=True)
        stop = t.cuda.Event(enable_timing=True)
        t.cuda.synchronize()
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) * 1e-3 / inner

    def cupy_time(self, fn, inner):
        cp = self.cupy
        start = cp.cuda.Event()
        stop = cp.cuda.Event()
        cp.cuda.runtime.deviceSynchronize()
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        return cp.cuda.get_elapsed_time(start, stop) * 1e-3 / inner


def _inner_for(estimate, target):
    return int(min(200, max(1, math.ceil(target / max(estimate, 1e-7)))))


def _make_contender(name, kind_fn, timer_fn, fn, warm, target, is_playaug=False, note=""):
    """A Contender whose run() times `inner` calls; inner is chosen after `warm` untimed calls
    and one probe so that a repetition lasts about `target` seconds."""
    for _ in range(warm):
        fn()
    est = timer_fn(fn, 1)
    inner = _inner_for(est, target)
    return common.Contender(name, lambda: {"seconds": timer_fn(fn, inner), "inner": inner}, kind_fn, is_playaug,
                            note)


def _driver_contender(drv, op, warm, target, name, note=""):
    est = drv.call(f"gpu_time {op} {warm} 1")["seconds"]
    inner = _inner_for(est, target)
    return common.Contender(name, lambda: drv.call(f"gpu_time {op} 0 {inner}"), "device", True, note)


def _skipped_result(result, reason, log):
    result["skipped"] = reason
    log(f"GPU comparison skipped: {reason}")
    return result


def run(args, commit, dirty, log):
    result = {
        "format": "playaug-compare", "version": 1, "kind": "gpu",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit, "dirty": dirty, "machine": common.cpu_facts(),
        "versions": common.versions("torch", "cupy", "numpy"),
        "params": {"sizes": args.sizes, "tasks": args.tasks, "quick": args.quick, "reps": args.reps,
                   "reps_desc": f"{args.reps}", "components": K},
        "rows": [],
    }
    try:
        import torch
    except ImportError:
        return _skipped_result(result, "PyTorch is not installed", log)
    if not torch.cuda.is_available():
        return _skipped_result(result, "torch.cuda is not available (no CUDA device or driver)", log)
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CuPy is optional
        cupy = None
        result["cupy_skipped"] = f"CuPy unavailable: {e}"
        log(f"  CuPy unavailable ({e}); its rows are skipped")
    t_start = time.time()
    timer = _Timer(torch, cupy)
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 * 2**20)
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
        driver_version = smi[0] if smi else "?"
    except (OSError, subprocess.SubprocessError):
        driver_version = "?"
    result["gpu"] = {"name": torch.cuda.get_device_name(0), "sm_count": props.multi_processor_count,
                     "l2_bytes": l2, "memory_bytes": props.total_memory, "driver": driver_version,
                     "torch_cuda": torch.version.cuda}

    driver_path = os.path.join(args.build, "bench", "bench_compare_driver")
    if not os.access(driver_path, os.X_OK) and os.path.exists(os.path.join(args.build, "CMakeCache.txt")):
        log(f"  building bench_compare_driver in {args.build}")
        subprocess.run(["cmake", "--build", args.build, "--target", "bench_compare_driver", "-j",
                        str(os.cpu_count() or 2)], check=False)
    try:
        drv = common.Driver(driver_path)
    except common.DriverError as e:
        return _skipped_result(result, f"{e}", log)
    target = 0.004 if args.quick else 0.01
    warm = 2
    try:
        ginfo = drv.call("gpu_info")
        have_pa = bool(ginfo.get("available"))
        result["gpu"].update({k: ginfo[k] for k in ("runtime_version", "cc") if k in ginfo})
        if not have_pa:
            result["playaug_skipped"] = ginfo.get("reason", "no CUDA engine")
            log(f"  playaug GPU rows skipped: {result['playaug_skipped']}")
        sizes = sorted(int(n) for n in args.sizes)
        nn_q = args.nn_queries_gpu
        nn_ms = [m for m in ([1_000_000] if args.quick else [100_000, 1_000_000, 10_000_000])]
        nn_ms = [m for m in nn_ms if m + nn_q <= max(sizes)] if "nn" in args.tasks else []
        total = max(sizes + [m + nn_q for m in nn_ms])
        prefix = os.path.join(args.work, "gpu")
        log(f"GPU: {result['gpu']['name']}; synthesising {total:,} songs")
        info = drv.call(f"synth {int(total * 1.02) + 64} 1 {prefix}")  # at least `total` songs
        x_all = np.fromfile(prefix + ".features.f32", dtype="<f4").reshape(-1, D)
        songs = info["songs"]
        log(f"  {songs:,} songs ready ({time.time() - t_start:.0f} s)")

        change = torch.ones(D, dtype=torch.bool, device=dev)
        change[torch.as_tensor(KEEP)] = False
        lo_t = torch.as_tensor(LO, device=dev)
        hi_t = torch.as_tensor(HI, device=dev)

        def torch_gram_cov(x, ones):
            n_rows = x.shape[0]
            s = ones @ x
            return (x.T @ x - torch.outer(s, s) / n_rows) / (n_rows - 1)

        def torch_prot(x):
            r = torch.rand_like(x)
            f = torch.where((r <= PHI) & change, (1.0 - P_MAX) + (2.0 * P_MAX / PHI) * r, 1.0)
            x.mul_(f)
            x.clamp_(min=lo_t, max=hi_t)

        compiled_prot = None
        if not args.quick:
            try:
                def _prot(x):
                    r = torch.rand_like(x)
                    f = torch.where((r <= PHI) & change, (1.0 - P_MAX) + (2.0 * P_MAX / PHI) * r, 1.0)
                    return torch.clamp(x * f, min=lo_t, max=hi_t)
                compiled_prot = torch.compile(_prot)
            except Exception as e:  # noqa: BLE001
                log(f"  torch.compile unavailable: {e}")

        if cupy is not None:
            change_cp = cupy.asarray(change.cpu().numpy())
            lo_cp = cupy.asarray(LO)
            hi_cp = cupy.asarray(HI)

            def cupy_prot(x):
                r = cupy.random.random_sample(x.shape, dtype=cupy.float32)
                f = cupy.where((r <= PHI) & change_cp, (1.0 - P_MAX) + (2.0 * P_MAX / PHI) * r, cupy.float32(1.0))
                x *= f
                cupy.clip(x, lo_cp, hi_cp, out=x)

            def cupy_gram_cov(x, ones):
                n_rows = x.shape[0]
                s = ones @ x
                return (x.T @ x - cupy.outer(s, s) / n_rows) / (n_rows - 1)

            def cupy_cov(x):
                try:
                    return cupy.cov(x, rowvar=False, dtype=cupy.float32)
                except TypeError:
                    return cupy.cov(x, rowvar=False)

        for n in sizes:
            if args.time_limit and time.time() - t_start > args.time_limit:
                log(f"  N = {n:,} skipped: time limit of {args.time_limit:.0f} s reached")
                result.setdefault("skipped_sizes", []).append({"n": n, "reason": "time limit"})
                continue
            if n > songs:
                continue
            nbytes = n * D * 4
            nbuf = _nbuf(nbytes, l2)
            free, _ = torch.cuda.mem_get_info()
            need = nbytes * ((nbuf + 1 + nbuf * K / D) * (1 if have_pa else 0) + nbuf + 1 + 6)
            if need > 0.85 * free:
                log(f"  N = {n:,} skipped: needs about {need / 2**30:.1f} GiB of device memory, "
                    f"{free / 2**30:.1f} GiB free")
                result.setdefault("skipped_sizes", []).append({"n": n, "reason": "device memory"})
                continue
            try:
                log(f"  N = {n:,}: {nbuf} buffers of {nbytes / 2**20:.0f} MiB")
                setup = drv.call(f"gpu_setup {n} {nbuf} {K}") if have_pa else None
                host = torch.from_numpy(x_all[:n])
                xs = [host.to(dev) for _ in range(nbuf)]
                dst = torch.empty_like(xs[0])
                xs_cp = [cupy.from_dlpack(t) for t in xs] if cupy is not None else None
                dst_cp = cupy.from_dlpack(dst) if cupy is not None else None
                if setup:
                    model = setup["model"]
                    mu = torch.tensor(model["mean"], dtype=torch.float32, device=dev)
                    pk = torch.tensor(model["components"], dtype=torch.float32, device=dev)  # [K x D]
                else:
                    c = torch.cov(xs[0].T.double())
                    w, v = torch.linalg.eigh(c)
                    mu = xs[0].double().mean(0).float()
                    pk = v[:, -K:].flip(1).T.float().contiguous()
                pkt = pk.T.contiguous()
                bias = -(mu @ pkt)
                ones = torch.ones(n, dtype=torch.float32, device=dev)
                if cupy is not None:
                    mu_cp = cupy.from_dlpack(mu)
                    pkt_cp = cupy.from_dlpack(pkt)
                    ones_cp = cupy.from_dlpack(ones)
                ctr = itertools.count()

                def nxt(bufs):
                    return bufs[next(ctr) % len(bufs)]

                errors = result.setdefault("errors", [])

                def add(cs, factory):
                    """Build a contender (its warm-up runs now); an error is recorded, not fatal."""
                    try:
                        cs.append(factory())
                    except Exception as e:  # noqa: BLE001 - one broken contender must not stop the run
                        msg = f"N = {n}: {type(e).__name__}: {str(e)[:300]}"
                        log("    error: " + msg)
                        errors.append(msg)

                ops = {}
                if "copy" in args.tasks:
                    cs = []
                    if have_pa:
                        add(cs, lambda: _driver_contender(drv, "copy", warm, target, "cudaMemcpyAsync D2D (driver)"))
                    add(cs, lambda: _make_contender("torch copy_", "device", timer.torch_time,
                                              lambda: dst.copy_(nxt(xs)), warm, target))
                    if cupy is not None:
                        add(cs, lambda: _make_contender("cupy.copyto", "device", timer.cupy_time,
                                                  lambda: cupy.copyto(dst_cp, nxt(xs_cp)), warm, target))
                    ops["copy"] = cs
                if "cov" in args.tasks:
                    cs = []
                    if have_pa:
                        add(cs, lambda: _driver_contender(drv, "moments", warm, target, "playaug compute_moments",
                                                    "float64 co-moments, d x d result on the host"))
                    add(cs, lambda: _make_contender("torch.cov", "device", timer.torch_time,
                                              lambda: torch.cov(nxt(xs).T), warm, target))
                    add(cs, lambda: _make_contender(GRAM_TORCH, "device", timer.torch_time,
                                                    lambda: torch_gram_cov(nxt(xs), ones), warm, target,
                                                    note=GRAM_NOTE))
                    if cupy is not None:
                        add(cs, lambda: _make_contender("cupy.cov", "device", timer.cupy_time,
                                                  lambda: cupy_cov(nxt(xs_cp)), warm, target))
                        add(cs, lambda: _make_contender(GRAM_CUPY, "device", timer.cupy_time,
                                                        lambda: cupy_gram_cov(nxt(xs_cp), ones_cp), warm, target,
                                                        note=GRAM_NOTE))
                    ops["cov"] = cs
                if "fit" in args.tasks:
                    cs = []
                    if have_pa:
                        add(cs, lambda: _driver_contender(drv, "fit", warm, target, "playaug fit_pca",
                                                    "moments + cuSOLVER syevd (float64), model on the host"))
                    add(cs, lambda: _make_contender("torch.cov + torch.linalg.eigh", "device", timer.torch_time,
                                              lambda: torch.linalg.eigh(torch.cov(nxt(xs).T)), warm, target))
                    add(cs, lambda: _make_contender(GRAM_TORCH + " + eigh", "device", timer.torch_time,
                                                    lambda: torch.linalg.eigh(torch_gram_cov(nxt(xs), ones)), warm,
                                                    target, note=GRAM_NOTE))
                    if cupy is not None:
                        add(cs, lambda: _make_contender("cupy.cov + cupy.linalg.eigh", "device", timer.cupy_time,
                                                  lambda: cupy.linalg.eigh(cupy_cov(nxt(xs_cp))), warm, target))
                        add(cs, lambda: _make_contender(GRAM_CUPY + " + eigh", "device", timer.cupy_time,
                                                        lambda: cupy.linalg.eigh(cupy_gram_cov(nxt(xs_cp), ones_cp)),
                                                        warm, target, note=GRAM_NOTE))
                    ops["fit"] = cs
                if "protuberance" in args.tasks:
                    cs = []
                    if have_pa:
                        add(cs, lambda: _driver_contender(drv, "protuberance", warm, target, "playaug protuberance",
                                                    "one pass, Philox words, bit-identical to the CPU"))
                    add(cs, lambda: _make_contender("torch (rand_like, mask, multiply)", "device", timer.torch_time,
                                              lambda: torch_prot(nxt(xs)), warm, target))
                    if compiled_prot is not None:
                        add(cs, lambda: _make_contender("torch.compile of the same", "device", timer.torch_time,
                                                        lambda: compiled_prot(nxt(xs)), warm, target,
                                                        note="out of place; compile time not counted"))
                    if cupy is not None:
                        add(cs, lambda: _make_contender("cupy (random, where, multiply)", "device", timer.cupy_time,
                                                  lambda: cupy_prot(nxt(xs_cp)), warm, target))
                    ops["protuberance"] = cs
                if "transform" in args.tasks:
                    cs = []
                    if have_pa:
                        add(cs, lambda: _driver_contender(drv, "transform", warm, target, "playaug transform",
                                                    "float64 arithmetic, float32 out"))
                    add(cs, lambda: _make_contender("torch.addmm", "device", timer.torch_time,
                                              lambda: torch.addmm(bias, nxt(xs), pkt), warm, target))
                    if cupy is not None:
                        add(cs, lambda: _make_contender("cupy (x - mu) @ P^T", "device", timer.cupy_time,
                                                  lambda: (nxt(xs_cp) - mu_cp) @ pkt_cp, warm, target))
                    ops["transform"] = cs

                copy_t = None
                for task, cs in ops.items():
                    if not cs:
                        continue
                    try:
                        res = common.round_robin(cs, args.reps, 0, log if args.verbose else None)
                    except Exception as e:  # noqa: BLE001
                        msg = f"N = {n}: {task}: {type(e).__name__}: {str(e)[:300]}"
                        log("    error: " + msg)
                        errors.append(msg)
                        continue
                    rows = []
                    for c in cs:
                        times = [r["seconds"] for r in res[c.name]]
                        row = {"task": task, "n": n, "songs": n, "contender": c.name, "kind": c.kind,
                               "playaug": c.is_playaug or task == "copy" and c.name.startswith("cudaMemcpyAsync"),
                               "inner": res[c.name][0].get("inner"), "buffers": nbuf, "bytes": nbytes}
                        if c.note:
                            row["note"] = c.note
                        row.update(common.summarize(times))
                        rows.append(row)
                    if task == "copy":
                        copy_t = rows[0]["median"]
                        for r in rows:
                            r["GBps"] = round(2 * nbytes / r["median"] * 1e-9, 1)
                    result["rows"] += rows
                    line = ", ".join(f"{r['contender']} {common.fmt_seconds(r['median'])}" for r in rows)
                    log(f"    {task}: {line}")
                if copy_t:
                    for r in result["rows"]:
                        if r["n"] == n and r["task"] != "nn":
                            r["copy_frac"] = round(copy_t / r["median"], 3)
                del xs, dst, xs_cp, dst_cp, host, ops, ones
                gc.collect()
                torch.cuda.empty_cache()
                if cupy is not None:
                    cupy.get_default_memory_pool().free_all_blocks()
                if have_pa:
                    drv.call("gpu_free")

            except Exception as e:  # noqa: BLE001 - record the failure, go on with the next size
                msg = f"N = {n}: {type(e).__name__}: {str(e)[:300]}"
                log("    error: " + msg)
                result.setdefault("errors", []).append(msg)
                xs = dst = xs_cp = dst_cp = host = ops = ones = None
                gc.collect()
                torch.cuda.empty_cache()
                if have_pa:
                    drv.call("gpu_free")
        for m in nn_ms:
            if args.time_limit and time.time() - t_start > args.time_limit:
                log(f"  nn M = {m:,} skipped: time limit")
                result.setdefault("skipped_sizes", []).append({"n": m, "task": "nn", "reason": "time limit"})
                continue
            try:
                q = nn_q
                log(f"  nn: Q = {q:,}, M = {m:,}")
                cat = x_all[:m].astype(np.float64)
                mean = cat.mean(0)
                sd = cat.std(0)
                sd[~(sd > 0)] = 1.0
                zc = torch.from_numpy(((cat - mean) / sd).astype(np.float32)).to(dev)
                zq = torch.from_numpy(((x_all[songs - q:].astype(np.float64) - mean) / sd).astype(np.float32)).to(dev)
                del cat
                cs = []
                if have_pa:
                    drv.call(f"gpu_nn_setup {m} {q}")
                    cs.append(_driver_contender(drv, "nn", 1, target, "playaug nearest",
                                                "fused kernel, no distance matrix"))
                free, _ = torch.cuda.mem_get_info()
                out = torch.empty(q, dtype=torch.int64, device=dev)
                best = None
                # The [chunk x M] distance matrix and argmin's temporaries must fit.
                chunks = [c for c in (256, 1024, 4096, 16384) if c * m * 12 <= 0.5 * free and c <= 4 * q]
                if not chunks:
                    chunks = [max(1, int(0.5 * free / (m * 12)))]
                for chunk in chunks:

                    def cdist_argmin(chunk=chunk):
                        for a in range(0, q, chunk):
                            out[a:a + chunk] = torch.cdist(zq[a:a + chunk], zc).argmin(dim=1)

                    cdist_argmin()
                    t = timer.torch_time(cdist_argmin, 1)
                    if best is None or t < best[0]:
                        best = (t, chunk, cdist_argmin)
                cs.append(_make_contender("torch.cdist + argmin", "device", timer.torch_time, best[2], 0, target,
                                          note=f"blocks of {best[1]} queries at M = {m:,} (the fastest in the "
                                               f"warm-up)"))
                res = common.round_robin(cs, args.reps, 0, log if args.verbose else None)
                agree = None
                if have_pa:
                    pa_rows = np.array(res["playaug nearest"][-1]["rows"] if "rows" in res["playaug nearest"][-1]
                                       else drv.call("gpu_time nn 0 1")["rows"])
                    agree = float(np.mean(pa_rows == out[:pa_rows.size].cpu().numpy()))
                for c in cs:
                    times = [r["seconds"] for r in res[c.name]]
                    row = {"task": "nn", "n": m, "songs": m, "queries": q, "catalog": m, "contender": c.name,
                           "kind": c.kind, "playaug": c.is_playaug, "inner": res[c.name][0].get("inner"),
                           "pairs_per_s": None}
                    row.update(common.summarize(times))
                    row["pairs_per_s"] = q * m / row["median"]
                    if c.note:
                        row["note"] = c.note
                    if c.is_playaug and agree is not None:
                        row["check"] = f"same track as torch for {agree * 100:.1f}% of the first {pa_rows.size} queries"
                        row["check_value"] = agree
                    result["rows"].append(row)
                log("    nn: " + ", ".join(f"{c.name} {common.fmt_seconds(common.summarize([r['seconds'] for r in res[c.name]])['median'])}"
                                          for c in cs))
                del zc, zq, out
                gc.collect()
                torch.cuda.empty_cache()
                if have_pa:
                    drv.call("gpu_free")
            except Exception as e:  # noqa: BLE001 - record the failure, go on with the next size
                msg = f"nn M = {m}: {type(e).__name__}: {str(e)[:300]}"
                log("    error: " + msg)
                result.setdefault("errors", []).append(msg)
                torch.cuda.empty_cache()
    finally:
        drv.close()
    result["seconds"] = round(time.time() - t_start, 1)
    return result
