#!/usr/bin/env python3
"""Baseline for bench_nearest_gpu: torch.cdist + argmin on the GPU, same sizes and data
distribution (standard normal, 11 features), float32, timed with CUDA events.

torch.cdist materialises the [chunk x M] distance matrix, so queries go in chunks; the
chunk that runs fastest is reported. TF32 is left off (torch's default for float32 matmul),
as in the fused kernel, which uses plain float32 FMAs.

Usage: python3 bench/nearest_torch.py [--q 100000] [--m 1000000] [--repeat 5]
Prints one line per size: pairs/s of the fastest chunking and its time.
"""

import argparse

import torch


def time_cdist_argmin(cat, z, chunk, repeat):
    def once():
        out = torch.empty(z.shape[0], dtype=torch.int64, device=z.device)
        for b in range(0, z.shape[0], chunk):
            d = torch.cdist(z[b:b + chunk], cat)
            out[b:b + chunk] = d.argmin(dim=1)
        return out

    once()  # warm-up
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        once()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--q", type=int, nargs="+", default=[100000, 10000])
    ap.add_argument("--m", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator(device="cuda").manual_seed(1)
    cat = torch.randn(args.m, 11, device="cuda", generator=g)
    free = torch.cuda.mem_get_info()[0]
    for q in args.q:
        z = torch.randn(q, 11, device="cuda", generator=g)
        best = None
        for chunk in (1024, 2048, 4096, 8192):
            if chunk * args.m * 4 * 3 > free:  # the distance matrix and its temporaries
                continue
            t = time_cdist_argmin(cat, z, chunk, args.repeat)
            if best is None or t < best[0]:
                best = (t, chunk)
        t, chunk = best
        pairs = q * args.m
        print(f"torch.cdist+argmin Q={q} M={args.m} chunk={chunk}: {t * 1e3:.1f} ms, {pairs / t:.3e} pairs/s")


if __name__ == "__main__":
    main()
