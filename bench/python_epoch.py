#!/usr/bin/env python3
"""A training-style epoch over a seed-format CSV, side by side in one run:

  notebook  the notebook's way: pandas.read_csv, json.loads per row in __getitem__,
            torch transforms (FeatureProtuberance as its prose says, Reverse with
            np.flipud), a pad_sequence collate;
  playaug   playaug.torch.PlaylistDataset (one C++ read) with playaug.torch's
            Reverse and FeatureProtuberance and playaug.torch.collate.

Both iterate a DataLoader (batch 32, num_workers 0) over every playlist; reading the file
is part of each epoch (a fresh Dataset per round), as a job that starts would. Rounds
alternate between the two and the medians are compared. With --gpu (on a CUDA machine):
the batch path, playaug.torch.augment_batch on a padded CUDA batch, against the same
reversal and protuberance in eager torch, timed with CUDA events.

    python bench/python_epoch.py [--playlists N] [--rounds R] [--gpu [--skip-cpu]] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

import playaug
import playaug.torch as pt


# --- the notebook's pipeline ---------------------------------------------------------------------

class NotebookProtuberance:
    """The notebook's class with its prose's semantics (uniform u in (-p, p], probability phi)."""

    def __init__(self, max_protuberance, phi):
        self.protuberance = max_protuberance
        self.phi = phi

    def __call__(self, features):
        pct = (torch.rand(features.size()) * 2 - 1) * self.protuberance
        aug = torch.rand(features.size()) < self.phi
        return features + aug * pct * features


class NotebookReverse:
    def __init__(self, phi):
        self.phi = phi

    def __call__(self, moods, features):
        if random.random() > self.phi:
            return moods, features
        return (torch.from_numpy(np.flipud(moods).copy()), torch.from_numpy(np.flipud(features).copy()))


class NotebookDataset(torch.utils.data.Dataset):
    def __init__(self, path):
        import pandas as pd

        data = pd.read_csv(path, index_col=0)
        self.data = data[data["features"] != "[null]"]
        self.reverse = NotebookReverse(0.5)
        self.protuberance = NotebookProtuberance(0.15, 0.5)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        row = self.data.iloc[i]
        moods = json.loads(row["moods_states"])
        width = max(len(s) for s in moods)
        moods = np.array([s + [-1] * (width - len(s)) for s in moods], dtype=np.int64)
        features = np.array(json.loads(row["features"]), dtype=np.float32)
        moods, features = self.reverse(moods, features)
        features = self.protuberance(torch.as_tensor(features))
        return torch.as_tensor(moods), features


def notebook_collate(batch):
    feats = [f for _, f in batch]
    moods = [m for m, _ in batch]
    width = max(m.shape[1] for m in moods)
    moods = [torch.nn.functional.pad(m, (0, width - m.shape[1]), value=-1) for m in moods]
    return (pad_sequence(feats, batch_first=True), torch.tensor([f.shape[0] for f in feats]),
            pad_sequence(moods, batch_first=True, padding_value=-1))


def epoch(make_dataset, collate):
    t0 = time.perf_counter()
    ds = make_dataset()
    n = 0
    for batch in torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=0, collate_fn=collate):
        n += batch[0].shape[0]
    return n, time.perf_counter() - t0


# --- GPU batch path --------------------------------------------------------------------------------

def eager_batch(features, lengths, p, phi, r):
    """Reversal of each playlist's first `length` rows and protuberance, in eager torch."""
    B, L, d = features.shape
    idx = torch.arange(L, device=features.device).expand(B, L)
    flip = torch.rand(B, device=features.device) < r
    rev = torch.where(idx < lengths[:, None], lengths[:, None] - 1 - idx, idx)
    idx = torch.where(flip[:, None], rev, idx)
    x = torch.gather(features, 1, idx[..., None].expand(B, L, d))
    u = (torch.rand_like(x) * 2 - 1) * p
    mask = torch.rand_like(x) < phi
    return x + mask * u * x


def time_cuda(fn, reps=50):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3)  # microseconds
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--playlists", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gpu", action="store_true", help="also time the batch path on the GPU")
    ap.add_argument("--skip-cpu", action="store_true", help="only the GPU batch path (no pandas needed)")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)

    result = {"playaug": playaug.__version__, "torch": torch.__version__, "playlists": args.playlists}
    if not args.skip_cpu:
        cpu_epochs(args, result)
    if args.gpu:
        gpu_batch(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


def cpu_epochs(args, result):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.csv")
        playaug.write_csv(path, playaug.synth(args.playlists, seed=1))
        transform = pt.Compose([pt.Reverse(0.5, seed=1), pt.FeatureProtuberance(0.15, 0.5, seed=1)])
        rates = {"notebook": [], "playaug": []}
        for _ in range(args.rounds):
            n, t = epoch(lambda: NotebookDataset(path), notebook_collate)
            rates["notebook"].append(n / t)
            n, t = epoch(lambda: pt.PlaylistDataset(path, transform=transform), pt.collate)
            rates["playaug"].append(n / t)
    med = {k: statistics.median(v) for k, v in rates.items()}
    result["cpu_epoch_samples_per_s"] = med
    result["cpu_epoch_speedup"] = med["playaug"] / med["notebook"]
    print(f"CPU epoch over {args.playlists} playlists (median of {args.rounds} alternating rounds):")
    print(f"  notebook (pandas + json.loads + torch transforms): {med['notebook']:10.0f} samples/s")
    print(f"  playaug  (PlaylistDataset + playaug.torch)        : {med['playaug']:10.0f} samples/s")
    print(f"  speed-up: {result['cpu_epoch_speedup']:.1f}x")


def gpu_batch(result):
    if not playaug.cuda_available():
        raise SystemExit("--gpu: no CUDA device or no CUDA engine in this build")
    ds = playaug.synth(4096, seed=2)
    items = pt.PlaylistDataset(ds)
    batch = pt.collate([items[i] for i in range(len(items))])
    feats, lengths = batch.features.cuda(), batch.lengths.cuda()
    ours = time_cuda(lambda: pt.augment_batch(feats, lengths, seed=3))
    eager = time_cuda(lambda: eager_batch(feats, lengths, 0.15, 0.5, 0.5))
    result["gpu_batch_us"] = {"playaug": ours, "eager_torch": eager, "batch": list(feats.shape)}
    result["gpu_batch_speedup"] = eager / ours
    print(f"GPU batch augmentation, padded {tuple(feats.shape)}: playaug {ours:.0f} us, eager torch {eager:.0f} us,"
          f" {eager / ours:.1f}x")


if __name__ == "__main__":
    main()
