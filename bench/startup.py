#!/usr/bin/env python3
"""Start-up cost of a CUDA build against a CPU-only build of the playaug tool.

Runs the same commands with both executables, alternating, and reports for each the
median wall time and the peak resident memory (the child's ru_maxrss from wait4), and the
CUDA/CPU ratios. On a machine without a GPU (or with --device cpu) the target is a ratio
of at most 1.3 for both. The commands: `--version`, `info SAMPLE`, and `fit-pca SAMPLE`
with --device cpu and with --device auto.

    python3 bench/startup.py --cpu build/playaug --cuda build-cuda/playaug \\
        --sample data/sample/playlists.csv --runs 30 --json docs/benchmarks/startup.json

Extra executables (for example a build from before the change) can be added with
--other NAME=PATH; they are measured and reported beside the two, without ratios.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(argv):
    """Wall seconds and peak RSS (KiB) of one run of argv; raises on a non-zero exit."""
    devnull = os.open(os.devnull, os.O_RDWR)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    os.close(devnull)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")
    return wall, usage.ru_maxrss


def gpu_present(exe, sample, tmp):
    return subprocess.run([exe, "fit-pca", sample, "-o", os.path.join(tmp, "probe.json"), "--device", "cuda"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", required=True, help="playaug of a CPU-only build")
    ap.add_argument("--cuda", required=True, help="playaug of a CUDA build")
    ap.add_argument("--other", action="append", default=[], metavar="NAME=PATH", help="another executable")
    ap.add_argument("--sample", required=True, help="a playlist CSV")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--target", type=float, default=1.3)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    given = {"cpu": args.cpu, "cuda": args.cuda}
    for o in args.other:
        name, _, path = o.partition("=")
        given[name] = path
    exes = {name: os.path.abspath(path) for name, path in given.items()}
    tmp = tempfile.mkdtemp(prefix="playaug-startup-")
    model = os.path.join(tmp, "model.json")
    cases = {
        "--version": ["--version"],
        "info": ["info", args.sample],
        "fit-pca --device cpu": ["fit-pca", args.sample, "-o", model, "--device", "cpu"],
        "fit-pca --device auto": ["fit-pca", args.sample, "-o", model, "--device", "auto"],
    }

    results = {}
    for case, tail in cases.items():
        samples = {name: {"wall_s": [], "maxrss_kib": []} for name in exes}
        for name, exe in exes.items():  # one warm-up run each (page cache)
            run_once([exe] + tail)
        for _ in range(args.runs):
            for name, exe in exes.items():
                wall, rss = run_once([exe] + tail)
                samples[name]["wall_s"].append(wall)
                samples[name]["maxrss_kib"].append(rss)
        row = {}
        for name, s in samples.items():
            row[name] = {"median_wall_ms": 1e3 * statistics.median(s["wall_s"]),
                         "median_maxrss_mib": statistics.median(s["maxrss_kib"]) / 1024.0,
                         "max_maxrss_mib": max(s["maxrss_kib"]) / 1024.0}
        row["ratio_wall"] = row["cuda"]["median_wall_ms"] / row["cpu"]["median_wall_ms"]
        row["ratio_maxrss"] = row["cuda"]["median_maxrss_mib"] / row["cpu"]["median_maxrss_mib"]
        results[case] = row

    out = {
        "what": "start-up wall time and peak RSS of the playaug tool, CUDA build vs CPU-only build",
        "machine": {"node": platform.node(), "cpu_count": os.cpu_count(), "kernel": platform.release()},
        "gpu_present": gpu_present(exes["cuda"], args.sample, tmp),
        "runs": args.runs,
        "sample": args.sample,
        "executables": given,
        "target_ratio": args.target,
        "results": results,
    }
    ok = all(r["ratio_wall"] <= args.target and r["ratio_maxrss"] <= args.target for r in results.values())
    out["within_target"] = ok

    names = list(exes)
    print(f"{'command':24}" + "".join(f"{n + ' ms':>12}{n + ' MiB':>12}" for n in names) +
          f"{'wall x':>9}{'RSS x':>9}")
    for case, r in results.items():
        print(f"{case:24}" + "".join(f"{r[n]['median_wall_ms']:12.1f}{r[n]['median_maxrss_mib']:12.1f}" for n in names) +
              f"{r['ratio_wall']:9.2f}{r['ratio_maxrss']:9.2f}")
    print(f"GPU present: {out['gpu_present']}; target <= {args.target}x: {'met' if ok else 'MISSED'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
