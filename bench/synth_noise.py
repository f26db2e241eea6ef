#!/usr/bin/env python3
"""How noisy the held-out fidelity numbers are (docs/benchmarks/synth-noise.md).

For each of several held-out splits (playaug.compare.holdout_split with seeds 0..S-1) the
learned generator is fitted on the training half (`playaug fit-synth`), and synthetic
sets of several sizes (multiples of the held-out half's playlist count) are generated and
scored against the held-out half with playaug.compare(held_out, synthetic, train=train,
seed=split). The real-vs-real row compares the two halves of each split. Every number is
reported as mean and standard deviation over the splits, and the per-feature KS as a
mean over the splits (which feature is really off, and which only by chance).

    PLAYAUG_CLI=build/playaug .venv/bin/python bench/synth_noise.py [--splits 5]
        [--sizes 1,4,8] [--fit-args "--clusters 30"] [--out docs/benchmarks/synth-noise.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import warnings

import numpy as np

import playaug
from playaug.compare import holdout_split, ks_statistic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

METRICS = [
    ("classifier_auc", "classifier AUC", "<= 0.60"),
    ("ks_mean", "mean KS", "<= 0.03"),
    ("ks_max", "max KS", "<= 0.06"),
    ("spearman_max_diff", "max Spearman diff", "<= 0.10"),
    ("icc_mean_abs_diff", "mean ICC diff", "<= 0.06"),
    ("length_ks", "length KS", "<= 0.06"),
    ("copied_share", "copied", "< 2 %"),
]


def run_cli(cli, *args):
    proc = subprocess.run([cli, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"playaug {' '.join(map(str, args))}: exit {proc.returncode}: {proc.stderr.strip()}")


def summarize(reports):
    out = {}
    for key, _, _ in METRICS:
        v = np.array([r[key] for r in reports], dtype=np.float64)
        out[key] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)
    ks = np.array([r["ks"] for r in reports], dtype=np.float64)
    out["ks_per_feature"] = ks.mean(axis=0).tolist()
    return out


def fmt(key, ms):
    m, s = ms
    if key == "copied_share":
        return f"{100 * m:.2f} ± {100 * s:.2f} %"
    return f"{m:.3f} ± {s:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "spotify-songs", "playlists.csv"))
    ap.add_argument("--cli", default=os.environ.get("PLAYAUG_CLI", os.path.join(REPO, "build", "playaug")))
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--sizes", default="1,4,8", help="synthetic playlists as multiples of the held-out half")
    ap.add_argument("--fit-args", default="", help="extra arguments of playaug fit-synth")
    ap.add_argument("--floor-splits", type=int, default=60,
                    help="splits for the real-vs-real playlist-length KS alone (no fit: cheap)")
    ap.add_argument("--out", default=None, help="markdown file to write (default: print only)")
    ap.add_argument("--from-json", default=None, help="only rewrite --out from the raw results of an earlier run")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            raw = json.load(f)
        raw.setdefault("feature_names", list(playaug.read_csv(raw["args"]["data"]).feature_names))
        if os.path.isabs(raw["args"]["data"]):
            raw["args"]["data"] = os.path.relpath(raw["args"]["data"], REPO)
        write(args.out, markdown(raw["summary"], raw["args"], raw["feature_names"]), raw)
        return
    warnings.filterwarnings("ignore")
    sizes = [float(s) for s in args.sizes.split(",")]
    real = playaug.read_csv(args.data)
    rows = {"real vs real (the other half)": []}
    for m in sizes:
        rows[f"learned, {m:g}x held-out playlists"] = []
    names = list(real.feature_names)
    with tempfile.TemporaryDirectory(prefix="synth-noise-") as work:
        for split in range(args.splits):
            train, hold = holdout_split(real, split)
            tp = os.path.join(work, "train.csv")
            mp = os.path.join(work, "model.json")
            playaug.write_csv(tp, train)
            run_cli(args.cli, "fit-synth", tp, "-o", mp, "--seed", split, *shlex.split(args.fit_args), "-q")
            rows["real vs real (the other half)"].append(playaug.compare(hold, train, seed=split).to_dict())
            for m in sizes:
                n = max(1, round(m * len(hold)))
                sp = os.path.join(work, "synth.csv")
                run_cli(args.cli, "synth", "--model", mp, "-o", sp, "--playlists", n, "--seed", 1000 + split, "-q")
                rep = playaug.compare(hold, playaug.read_csv(sp), train=train, seed=split).to_dict()
                rows[f"learned, {m:g}x held-out playlists"].append(rep)
                print(f"split {split} size {m:g}x: AUC {rep['classifier_auc']:.3f} KS {rep['ks_mean']:.3f}/"
                      f"{rep['ks_max']:.3f} len {rep['length_ks']:.3f}", file=sys.stderr)
    summary = {k: summarize(v) for k, v in rows.items()}
    summary["length_floor"] = length_floor(real, args.floor_splits)
    raw = {"args": {**vars(args), "data": os.path.relpath(os.path.abspath(args.data), REPO)}, "feature_names": names,
           "summary": summary}
    md = markdown(summary, vars(args), names)
    print(md)
    if args.out:
        write(args.out, md, raw)


def length_floor(real, splits):
    """The playlist-length KS between the two halves of `splits` held-out splits (seeds
    0..splits-1): what any generator that reproduces its training half's lengths scores in
    expectation. Mean, sd, the mean's standard error, and the mean of the first five."""
    v = []
    for split in range(splits):
        train, hold = holdout_split(real, split)
        v.append(ks_statistic(np.diff(np.asarray(hold.offsets)), np.diff(np.asarray(train.offsets))))
    v = np.array(v)
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"splits": splits, "mean": float(v.mean()), "sd": sd, "sem": sd / np.sqrt(len(v)),
            "first5": float(v[:5].mean())}


def write(out, md, raw):
    from playaug._atomic import atomic_output
    with atomic_output(out) as f:
        f.write(md.encode())
    with atomic_output(os.path.splitext(out)[0] + ".json") as f:
        f.write((json.dumps(raw, indent=1) + "\n").encode())


def markdown(summary, args, names):
    data = os.path.relpath(args["data"], REPO) if os.path.isabs(args["data"]) else args["data"]
    lines = [
        "# Synthetic data: how noisy the held-out numbers are",
        "",
        "`bench/synth_noise.py` fits the learned generator (`playaug fit-synth "
        f"{args['fit_args'] + ' ' if args['fit_args'] else ''}--seed SPLIT`) on the training half of "
        f"{args['splits']} held-out splits",
        f"of `{data}` (`playaug.compare.holdout_split` seeds 0..{args['splits'] - 1}), generates synthetic sets of",
        "several sizes (multiples of the held-out half's playlist count; `playaug synth --seed",
        "1000 + SPLIT`) and scores each with `playaug.compare(held_out, synthetic, train=train,",
        "seed=SPLIT)`. The real-vs-real row compares the two halves of each split. Each cell is",
        "the mean ± standard deviation over the splits.",
        "",
        "The sd of the real-vs-real row is the noise of the split alone; the sd of a 1x row adds",
        "the sampling noise of a synthetic set as small as the held-out half. The split-to-split",
        "noise is what the protocol of [synth.md](synth.md) averages over (5 splits, reported as",
        "mean ± sd), and the synthetic sampling noise what its 8x synthetic sets make small.",
        "",
        "Reproduce:",
        "",
        "```",
        f"PLAYAUG_CLI=build/playaug .venv/bin/python bench/synth_noise.py --splits {args['splits']} --sizes {args['sizes']} "
        f"--out docs/benchmarks/synth-noise.md" + (f" --fit-args \"{args['fit_args']}\"" if args["fit_args"] else ""),
        "```",
        "",
        "| rows | " + " | ".join(label for _, label, _ in METRICS) + " |",
        "| --- |" + " --- |" * len(METRICS),
        "| **target** | " + " | ".join(t for _, _, t in METRICS) + " |",
    ]
    rows = {k: v for k, v in summary.items() if k != "length_floor"}
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(fmt(k, s[k]) for k, _, _ in METRICS) + " |")
    lines += ["", "Per-feature KS, mean over the splits:", "",
              "| rows | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for name, s in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in s["ks_per_feature"]) + " |")
    fl = summary.get("length_floor")
    if fl:
        lines += ["", "**The playlist-length floor.** Over "
                  f"{fl['splits']} splits (seeds 0..{fl['splits'] - 1}), the length KS between the two real halves is "
                  f"{fl['mean']:.4f} ± {fl['sd']:.4f} (standard error of the mean {fl['sem']:.4f}); over the first five, "
                  f"the splits of the table, {fl['first5']:.4f}. A generator that reproduces its training half's "
                  "lengths scores this in expectation: the held-out half is as far from the training half as "
                  "from the generated set, and no estimate from the training half does much better: the empirical "
                  "distribution function is the efficient estimate of a distribution function, so smoothing can "
                  "gain only a second-order term (and these playlists are capped at 100 songs, an atom a "
                  "smoother blurs)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
