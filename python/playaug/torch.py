"""playaug for PyTorch training loops: the notebook's transforms done as its prose says,
a ``torch.utils.data.Dataset`` over the C++ reader, a padding ``collate``, and a batch
augmentation that runs on the GPU inside the training step.

Randomness is a pure function of (seed, epoch, sample index): sample ``i`` at epoch ``e``
draws from the same counter-based Philox stream as copy ``e + 1`` of playlist ``i`` in
``playaug augment`` (the transforms with one seed, composed as ``Compose([Reverse(r, s),
FeatureProtuberance(p, phi, s)])``, give exactly that copy). So a DataLoader yields the
same batches for any ``num_workers``, and CPU and CUDA tensors get identical values.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from . import _arrays, _core
from ._dataset import Dataset, read_csv
from ._ops import _count, _magnitude, _prob, _seed, reverse_flags

__all__ = [
    "Batch",
    "Compose",
    "FeatureProtuberance",
    "PlaylistDataset",
    "Reverse",
    "augment_batch",
    "collate",
    "ops",
]

MOOD_PAD = -1  # the value of padding entries in mood tensors


# --- custom operators (torch.compile traces through them) ----------------------------------------

def _protuberance_impl(x: torch.Tensor, offsets: torch.Tensor, p: float, phi: float, seed: int, copy: int,
                       first_playlist: int, raw: bool) -> torch.Tensor:
    out = x.detach().clone(memory_format=torch.contiguous_format)
    s = _arrays.current_stream(out)
    _core.protuberance(_arrays.for_core(out, s), _arrays.for_core(offsets.contiguous(), s), [], p, phi, seed, raw,
                       copy, first_playlist, s, 0)
    return out


def _reverse_rows_impl(x: torch.Tensor, offsets: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    out = x.detach().clone(memory_format=torch.contiguous_format)
    P = offsets.shape[0] - 1
    seg = torch.zeros(P + 1, dtype=torch.int64, device=x.device)
    mo = torch.zeros(1, dtype=torch.int64, device=x.device)
    moods = torch.zeros(0, dtype=torch.int32, device=x.device)
    s = _arrays.current_stream(out)
    fc = _arrays.for_core
    _core.reverse_playlists(fc(out, s), fc(offsets.contiguous(), s), fc(seg, s), fc(mo, s), fc(moods, s),
                            fc(flags.contiguous(), s), s, 0)
    return out


class _Ops:
    """``playaug.torch.ops.protuberance(x, offsets, p, phi, seed, copy, first_playlist, raw)``
    and ``ops.reverse_rows(x, offsets, flags)``: functional (out-of-place) operators,
    registered with ``torch.library.custom_op`` where the installed torch has it (2.4+),
    so a ``torch.compile``d step keeps them in its graph. Seeds must be below 2^63 here
    (torch's int)."""

    def __init__(self) -> None:
        self.registered = False
        self.protuberance = _protuberance_impl
        self.reverse_rows = _reverse_rows_impl
        lib = getattr(torch, "library", None)
        if lib is None or not hasattr(lib, "custom_op"):
            return

        @lib.custom_op("playaug::protuberance", mutates_args=())
        def protuberance(x: torch.Tensor, offsets: torch.Tensor, p: float, phi: float, seed: int, copy: int,
                         first_playlist: int, raw: bool) -> torch.Tensor:
            return _protuberance_impl(x, offsets, p, phi, seed, copy, first_playlist, raw)

        @protuberance.register_fake
        def _(x, offsets, p, phi, seed, copy, first_playlist, raw):
            return torch.empty_like(x, memory_format=torch.contiguous_format)

        @lib.custom_op("playaug::reverse_rows", mutates_args=())
        def reverse_rows(x: torch.Tensor, offsets: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
            return _reverse_rows_impl(x, offsets, flags)

        @reverse_rows.register_fake
        def _(x, offsets, flags):
            return torch.empty_like(x, memory_format=torch.contiguous_format)

        self.protuberance = protuberance
        self.reverse_rows = reverse_rows
        self.registered = True


ops = _Ops()


# --- the notebook's transforms -------------------------------------------------------------------

class _Keyed:
    """Transforms take (moods, features) and, optionally, the sample's index and epoch.
    Without an index they number their calls (reproducible in one process only)."""

    def __init__(self) -> None:
        self._calls = itertools.count()

    def _key(self, index: Optional[int], epoch: int) -> Tuple[int, int]:
        if index is None:
            index = next(self._calls)
        return _count(index, "index", 0, (1 << 64) - 1), _count(epoch + 1, "epoch + 1", 1)


class FeatureProtuberance(_Keyed):
    """Each feature component is, with probability ``phi``, multiplied by ``1 + u``, ``u``
    uniform in ``(-max_protuberance, max_protuberance]`` (the notebook's prose; its code drew
    from a normal distribution and inverted the probability). Key and mode are left alone
    and unit-interval features stay in [0, 1] unless ``raw`` (11 Spotify features; other
    widths are changed freely). Works on CPU and CUDA tensors alike, with identical values.
    """

    def __init__(self, max_protuberance: float = 0.15, phi: float = 0.5, seed: int = 0, *, raw: bool = False) -> None:
        super().__init__()
        self.max_protuberance = _magnitude(max_protuberance, "max_protuberance")
        self.phi = _prob(phi, "phi")
        self.seed = _seed(seed)
        self.raw = bool(raw)

    def __call__(self, moods: Any, features: torch.Tensor, *, index: Optional[int] = None,
                 epoch: int = 0) -> Tuple[Any, torch.Tensor]:
        playlist, copy = self._key(index, epoch)
        x = _as_feature_tensor(features)
        offsets = torch.tensor([0, x.shape[0]], dtype=torch.int64, device=x.device)
        out = _protuberance_impl(x, offsets, self.max_protuberance, self.phi, self.seed, copy, playlist, self.raw)
        return moods, out

    def __repr__(self) -> str:
        return f"FeatureProtuberance(max_protuberance={self.max_protuberance}, phi={self.phi}, seed={self.seed})"


class Reverse(_Keyed):
    """With probability ``phi``, reverse the order of the mood segments and of the songs
    (segment contents kept). ``moods`` may be a tensor ``[segments, ...]`` (flipped along
    its first dimension) or a list of segments."""

    def __init__(self, phi: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        self.phi = _prob(phi, "phi")
        self.seed = _seed(seed)

    def __call__(self, moods: Any, features: torch.Tensor, *, index: Optional[int] = None,
                 epoch: int = 0) -> Tuple[Any, torch.Tensor]:
        playlist, copy = self._key(index, epoch)
        if not reverse_flags(1, r=self.phi, seed=self.seed, copy=copy, first_playlist=playlist)[0]:
            return moods, features
        if isinstance(moods, torch.Tensor):
            moods = torch.flip(moods, dims=(0,))
        else:
            moods = list(reversed(moods))
        return moods, torch.flip(features, dims=(0,))

    def __repr__(self) -> str:
        return f"Reverse(phi={self.phi}, seed={self.seed})"


class Compose:
    """Apply transforms in order; each gets the sample's index and epoch when it takes them."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, moods: Any, features: Any, *, index: Optional[int] = None, epoch: int = 0):
        for t in self.transforms:
            if isinstance(t, (_Keyed, Compose)):
                moods, features = t(moods, features, index=index, epoch=epoch)
            else:
                moods, features = t(moods, features)
        return moods, features

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


def _as_feature_tensor(features: Any) -> torch.Tensor:
    x = features if isinstance(features, torch.Tensor) else torch.as_tensor(np.asarray(features, dtype=np.float32))
    if x.dtype != torch.float32 or x.dim() != 2:
        raise TypeError(f"features: expected a float32 [songs, d] tensor, got {x.dtype} of shape {tuple(x.shape)}")
    return x.contiguous()


# --- Dataset and collate --------------------------------------------------------------------------

class PlaylistDataset(torch.utils.data.Dataset):
    """A ``torch.utils.data.Dataset`` of playlists read once by the C++ reader.

    Item ``i`` is ``(moods, features)``: an int64 tensor ``[segments, max_moods]`` (padded
    with -1 to the widest segment of the data) and a float32 tensor ``[songs, d]``, after
    ``transform(moods, features, index=p, epoch=self.epoch)`` where ``p`` is the playlist's
    index in the data. ``skip_empty`` drops playlists without songs (the notebook drops
    ``[null]`` ones). Call ``set_epoch(e)`` each epoch for fresh randomness.

    When the transform is made of playaug's own (``Reverse``, ``FeatureProtuberance``,
    ``Compose`` of them), the whole epoch is transformed at once, in C++, on first access
    (per DataLoader worker), and items are views into that epoch's arrays: the same values
    as transforming each item, at a fraction of the cost. Any other transform is applied
    item by item. Items are read-only views; clone one to modify it in place.
    """

    def __init__(self, source: Union[str, Dataset], transform: Optional[Callable] = None, *,
                 skip_empty: bool = True, epoch: int = 0) -> None:
        self.data = source if isinstance(source, Dataset) else read_csv(source)
        self.transform = transform
        self.epoch = epoch
        d = self.data
        self._offsets = d.offsets
        self._seg = d.segment_offsets
        counts = np.diff(self._offsets)
        self.indices = np.flatnonzero(counts > 0) if skip_empty else np.arange(len(d))
        # Every segment's moods as one padded row: [n_segments, width], -1 padding.
        mo = d.mood_offsets
        seg_len = np.diff(mo)
        self._width = max(int(seg_len.max()) if len(seg_len) else 1, 1)
        padded = np.full((len(seg_len), self._width), MOOD_PAD, dtype=np.int64)
        col = np.arange(len(d.mood_values)) - np.repeat(mo[:-1], seg_len)
        padded[np.repeat(np.arange(len(seg_len)), seg_len), col] = d.mood_values
        self._moods0 = padded
        self._plan = _epoch_plan(transform)
        self._cached_epoch = None
        self._feats_np, self._moods_np = d.features, self._moods0
        self._feats_t = torch.from_numpy(self._feats_np)
        self._moods_t = torch.from_numpy(self._moods_np)
        # Python ints for the per-item path (indexing NumPy scalars costs more).
        self._index_list = self.indices.tolist()
        self._song_list = self._offsets.tolist()
        self._seg_list = self._seg.tolist()

    def __getitems__(self, indices: List[int]) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """A batch of items at once (DataLoader's batched fetch, torch >= 2.1): a list of
        items that also remembers where they came from, so that :func:`collate` pads the
        batch in a few vectorised gathers instead of item by item."""
        items = _Items(self[i] for i in indices)
        items.source = self
        items.playlists = [self._index_list[i] for i in indices]
        return items

    def _collate(self, playlists: List[int]) -> "Batch":
        p = np.asarray(playlists, dtype=np.int64)
        a, n = self._offsets[p], self._offsets[p + 1] - self._offsets[p]
        g, m = self._seg[p], self._seg[p + 1] - self._seg[p]
        features = _gather_padded(self._feats_np, a, n, 0.0)
        moods = _gather_padded(self._moods_np, g, m, MOOD_PAD)
        return Batch(torch.from_numpy(features), torch.from_numpy(n), torch.from_numpy(moods), torch.from_numpy(m))


    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def _epoch_arrays(self) -> None:
        """Transform the whole data for self.epoch (playaug's transforms only)."""
        copy = _count(self.epoch + 1, "epoch + 1", 1)
        x = self.data.features.copy()
        moods = self._moods0
        P = len(self.data)
        for t in self._plan:
            if isinstance(t, Reverse):
                flags = reverse_flags(P, r=t.phi, seed=t.seed, copy=copy)
                _reverse_in_place(x, self._offsets, flags)
                moods = moods[_segment_order(self._seg, flags)]
            else:
                _core.protuberance(x, self._offsets, [], t.max_protuberance, t.phi, t.seed, t.raw, copy, 0, 0, 0)
        self._feats_np, self._moods_np = x, np.ascontiguousarray(moods)
        self._feats_t = torch.from_numpy(self._feats_np)
        self._moods_t = torch.from_numpy(self._moods_np)
        self._cached_epoch = self.epoch

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, torch.Tensor]:
        p = self._index_list[i]
        a, b = self._song_list[p], self._song_list[p + 1]
        g0, g1 = self._seg_list[p], self._seg_list[p + 1]
        if self._plan is not None:
            if self._cached_epoch != self.epoch:
                self._epoch_arrays()
            return self._moods_t[g0:g1], self._feats_t[a:b]
        moods, features = self._moods_t[g0:g1].clone(), self._feats_t[a:b].clone()
        if self.transform is not None:
            if isinstance(self.transform, (_Keyed, Compose)):
                moods, features = self.transform(moods, features, index=p, epoch=self.epoch)
            else:
                moods, features = self.transform(moods, features)
        return moods, features


def _epoch_plan(transform: Optional[Callable]) -> Optional[List[Any]]:
    """The list of playaug transforms `transform` consists of, or None when it holds others."""
    if transform is None:
        return []
    if isinstance(transform, (Reverse, FeatureProtuberance)):
        return [transform]
    if isinstance(transform, Compose):
        plan: List[Any] = []
        for t in transform.transforms:
            sub = _epoch_plan(t)
            if sub is None:
                return None
            plan += sub
        return plan
    return None


def _reverse_in_place(x: np.ndarray, offsets: np.ndarray, flags: np.ndarray) -> None:
    P = len(offsets) - 1
    _core.reverse_playlists(x, offsets, np.zeros(P + 1, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int32),
                            flags, 0, 0)


def _segment_order(seg_offsets: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Row order of the segments after reversing the flagged playlists' segment order."""
    counts = np.diff(seg_offsets)
    owner = np.repeat(np.arange(len(counts)), counts)
    s = np.arange(int(seg_offsets[-1]))
    g0, g1 = seg_offsets[owner], seg_offsets[owner + 1]
    return np.where(flags[owner].astype(bool), g0 + g1 - 1 - s, s)


class _Items(list):
    """Items of one PlaylistDataset batch, with the playlists they are (see __getitems__)."""

    source: Optional[PlaylistDataset] = None
    playlists: List[int] = []


def _gather_padded(rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray, fill: float) -> np.ndarray:
    """[B, max(lengths), ...] of rows[starts[b] : starts[b] + lengths[b]], padded with fill."""
    L = int(lengths.max()) if len(lengths) else 0
    col = np.arange(L)
    mask = col[None, :] < lengths[:, None]
    out = np.full((len(starts), L) + rows.shape[1:], fill, dtype=rows.dtype)
    out[mask] = rows[(starts[:, None] + col[None, :])[mask]]
    return out


class Batch(NamedTuple):
    """A padded batch: features ``[B, L, d]`` (zeros past each length), lengths ``[B]``,
    moods ``[B, S, M]`` (-1 padding) and mood_lengths ``[B]`` (segments per playlist)."""

    features: torch.Tensor
    lengths: torch.Tensor
    moods: torch.Tensor
    mood_lengths: torch.Tensor


def collate(batch: List[Tuple[torch.Tensor, torch.Tensor]]) -> Batch:
    """Pad a list of ``(moods, features)`` items into a :class:`Batch`, as the notebook's
    project does with ``pad_sequence`` (batch first)."""
    from torch.nn.utils.rnn import pad_sequence

    if isinstance(batch, _Items) and batch.source is not None and batch.source._plan is not None:
        return batch.source._collate(batch.playlists)  # items are views of the epoch's arrays
    moods = [m for m, _ in batch]
    feats = [f for _, f in batch]
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.int64)
    mood_lengths = torch.tensor([m.shape[0] for m in moods], dtype=torch.int64)
    widths = [m.shape[1] for m in moods]
    width = max(widths, default=1)
    if min(widths, default=width) < width:  # items from different datasets
        moods = [torch.nn.functional.pad(m, (0, width - m.shape[1]), value=MOOD_PAD) for m in moods]
    return Batch(pad_sequence(feats, batch_first=True), lengths,
                 pad_sequence(moods, batch_first=True, padding_value=MOOD_PAD), mood_lengths)


# --- the batch path ---------------------------------------------------------------------------------

def augment_batch(features: torch.Tensor, lengths: Optional[torch.Tensor] = None, *,
                  offsets: Optional[torch.Tensor] = None, p: float = 0.15, phi: float = 0.5,
                  reverse: float = 0.5, seed: int = 0, copy: int = 1, first_playlist: int = 0,
                  raw: bool = False) -> torch.Tensor:
    """Reverse and protuberate a whole batch where it lives (a CUDA batch stays on the GPU;
    work is ordered on torch's current stream, no synchronisation), out of place.

    Either padded ``features [B, L, d]`` with ``lengths [B]`` (rows past a length are left
    as they are), or ragged ``features [N, d]`` with ``offsets [B + 1]``. Playlist ``b`` of
    the batch draws from the stream of playlist ``first_playlist + b``, copy ``copy`` (the
    same decisions and values as ``playaug.augment``'s copy ``copy`` of those playlists):
    advance ``first_playlist`` (e.g. by ``step * B``) or ``copy`` (the epoch) for fresh
    randomness. Uses ``ops``, so it stays in a ``torch.compile`` graph.
    """
    p = _magnitude(p, "p")
    phi = _prob(phi, "phi")
    reverse = _prob(reverse, "reverse")
    seed = _seed(seed)
    copy = _count(copy, "copy")
    device = features.device
    if offsets is None:
        if lengths is None or features.dim() != 3:
            raise ValueError("augment_batch: pass padded features [B, L, d] with lengths, or ragged [N, d] with offsets")
        B, L, d = features.shape
    else:
        if features.dim() != 2:
            raise ValueError("augment_batch: ragged features must be [N, d]")
        B = offsets.shape[0] - 1
    flags = _to_device(torch.from_numpy(reverse_flags(B, r=reverse, seed=seed, copy=copy,
                                                      first_playlist=first_playlist)), device)
    if offsets is not None:
        offsets = offsets.to(device=device, dtype=torch.int64)
        values = ops.reverse_rows(features.contiguous(), offsets, flags)
        return ops.protuberance(values, offsets, p, phi, seed, copy, first_playlist, raw)
    # Padded: reverse each playlist's first lengths[b] rows with a gather, then protuberate
    # every row of the [B * L, d] view (row j of playlist b is song j, as in the ragged form)
    # and keep the padding rows as they were. No step needs the lengths on the host.
    lengths = lengths.to(device=device, dtype=torch.int64)
    j = torch.arange(L, device=device).unsqueeze(0)
    valid = j < lengths.unsqueeze(1)
    rev = torch.where(valid & flags.bool().unsqueeze(1), lengths.unsqueeze(1) - 1 - j, j.expand(B, L))
    x = torch.gather(features, 1, rev.unsqueeze(2).expand(B, L, d)).contiguous()
    rows = torch.arange(B + 1, device=device, dtype=torch.int64) * L
    y = ops.protuberance(x.view(B * L, d), rows, p, phi, seed, copy, first_playlist, raw).view(B, L, d)
    return torch.where(valid.unsqueeze(2), y, features)


def _to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small host tensor on `device`: through pinned memory, ordered on the current
    stream, without waiting for the device."""
    if device.type != "cuda":
        return t
    return t.pin_memory().to(device, non_blocking=True)
