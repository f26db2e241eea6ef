"""Shared pieces of bench/compare: the driver process, round-robin timing, machine facts."""

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time


class DriverError(RuntimeError):
    pass


class Driver:
    """bench_compare_driver as a server: one command per line in, one JSON object per line out.

    The process lives for the whole comparison, so the data it keeps (loaded once, outside
    every timing) is shared by all repetitions.
    """

    def __init__(self, path, threads=0):
        if not os.access(path, os.X_OK):
            raise DriverError(f"{path} is not an executable (build the target bench_compare_driver)")
        self.path = path
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        if threads:
            self.call(f"threads {threads}")

    def call(self, line):
        if self.proc.poll() is not None:
            raise DriverError(f"the driver exited with status {self.proc.returncode}")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise DriverError(f"the driver exited during '{line}' (status {self.proc.wait()})")
        obj = json.loads(reply)
        if "error" in obj:
            raise DriverError(f"driver: {line.split()[0]}: {obj['error']}")
        return obj

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class Contender:
    """One contender of a task: `run()` performs one repetition and returns a dict with at
    least "seconds" (the time of the measured work only)."""

    def __init__(self, name, run, kind, is_playaug=False, note=""):
        self.name = name
        self.run = run
        self.kind = kind  # "in-process" or "command" (process start included)
        self.is_playaug = is_playaug
        self.note = note


def timed(fn):
    """A run() for in-process Python work: collect garbage first, then time fn() alone.
    fn's result is dropped after the clock stops."""

    def run():
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        extra = result if isinstance(result, dict) else {}
        del result
        return dict(extra, seconds=seconds)

    return run


def timed_command(argv, cleanup=None):
    """A run() for a whole command: wall-clock time of the process, start included."""

    def run():
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise DriverError(f"{' '.join(argv)} exited with {proc.returncode}: {proc.stderr.strip()[:500]}")
        if cleanup:
            cleanup()
        return {"seconds": seconds}

    return run


def round_robin(contenders, reps, warmup, log=None):
    """Run every contender `warmup` times (discarded), then `reps` rounds in which each
    contender runs once; the starting contender rotates from round to round, so that no
    contender always follows the same neighbour. Returns {name: [result dicts]}."""
    results = {c.name: [] for c in contenders}
    k = len(contenders)
    for _ in range(warmup):
        for c in contenders:
            c.run()
    for r in range(reps):
        order = contenders[r % k:] + contenders[:r % k]
        for c in order:
            res = c.run()
            results[c.name].append(res)
            if log:
                log(f"    rep {r + 1}/{reps} {c.name}: {fmt_seconds(res['seconds'])}")
    return results


def summarize(times):
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "times": times,
    }


def fmt_seconds(s):
    if s is None:
        return "-"
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def git_commit(root, override=None):
    if override:
        return override, None
    env_commit = os.environ.get("PLAYAUG_COMMIT")
    if env_commit:
        return env_commit, None
    try:
        sha = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True).stdout.strip())
        return sha, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def cpu_facts():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                    break
    except OSError:
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        pass
    simd = [f for f in ("avx512f", "avx2", "fma") if f" {f}" in flags]
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "simd": simd,
        "memory_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def versions(*modules):
    out = {}
    for name in modules:
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "?")
        except Exception:  # noqa: BLE001 - a missing optional module is simply absent
            out[name] = None
    return out


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return [{"api": i.get("internal_api"), "threads": i.get("num_threads"), "version": i.get("version")}
                for i in threadpool_info()]
    except Exception:  # noqa: BLE001
        return None


def log(msg):
    print(msg, file=sys.stderr, flush=True)
