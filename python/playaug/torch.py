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
    with -1) and a float32 tensor ``[songs, d]``, after ``transform(moods, features,
    index=i, epoch=self.epoch)``. ``skip_empty`` drops playlists without songs (the
    notebook drops ``[null]`` ones). Call ``set_epoch(e)`` each epoch for fresh randomness.
    """

    def __init__(self, source: Union[str, Dataset], transform: Optional[Callable] = None, *,
                 skip_empty: bool = True, epoch: int = 0) -> None:
        self.data = source if isinstance(source, Dataset) else read_csv(source)
        self.transform = transform
        self.epoch = epoch
        offs = self.data.offsets
        counts = np.diff(offs)
        self.indices = np.flatnonzero(counts > 0) if skip_empty else np.arange(len(self.data))
        self._features = torch.from_numpy(self.data.features)
        self._offsets = offs
        # Moods, padded per segment to the widest segment of the file.
        mo = self.data.mood_offsets
        self._width = int(np.max(np.diff(mo))) if len(mo) > 1 else 1
        self._seg = self.data.segment_offsets
        self._mood_off = mo
        self._moods = self.data.mood_values

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def moods_tensor(self, p: int) -> torch.Tensor:
        s0, s1 = int(self._seg[p]), int(self._seg[p + 1])
        out = np.full((s1 - s0, self._width), MOOD_PAD, dtype=np.int64)
        for j, s in enumerate(range(s0, s1)):
            a, b = int(self._mood_off[s]), int(self._mood_off[s + 1])
            out[j, : b - a] = self._moods[a:b]
        return torch.from_numpy(out)

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, torch.Tensor]:
        p = int(self.indices[i])
        a, b = int(self._offsets[p]), int(self._offsets[p + 1])
        moods = self.moods_tensor(p)
        features = self._features[a:b].clone()
        if self.transform is not None:
            if isinstance(self.transform, (_Keyed, Compose)):
                moods, features = self.transform(moods, features, index=p, epoch=self.epoch)
            else:
                moods, features = self.transform(moods, features)
        return moods, features


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

    moods = [m for m, _ in batch]
    feats = [f for _, f in batch]
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.int64)
    mood_lengths = torch.tensor([m.shape[0] for m in moods], dtype=torch.int64)
    width = max((m.shape[1] for m in moods if m.dim() == 2), default=1)
    moods = [torch.nn.functional.pad(m, (0, width - m.shape[1]), value=MOOD_PAD) if m.shape[1] < width else m
             for m in moods]
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
    padded = offsets is None
    if padded:
        if lengths is None or features.dim() != 3:
            raise ValueError("augment_batch: pass padded features [B, L, d] with lengths, or ragged [N, d] with offsets")
        B, L, d = features.shape
        lengths = lengths.to(device=features.device, dtype=torch.int64)
        mask = torch.arange(L, device=features.device).unsqueeze(0) < lengths.unsqueeze(1)
        values = features[mask]  # [N, d], playlists in order
        offsets = torch.zeros(B + 1, dtype=torch.int64, device=features.device)
        offsets[1:] = torch.cumsum(lengths, 0)
    else:
        if features.dim() != 2:
            raise ValueError("augment_batch: ragged features must be [N, d]")
        values = features
        offsets = offsets.to(device=features.device, dtype=torch.int64)
        B = offsets.shape[0] - 1
    values = values.contiguous()
    flags_np = reverse_flags(B, r=reverse, seed=seed, copy=copy, first_playlist=first_playlist)
    flags = torch.from_numpy(flags_np).to(features.device)
    values = ops.reverse_rows(values, offsets, flags)
    values = ops.protuberance(values, offsets, p, phi, seed, copy, first_playlist, raw)
    if not padded:
        return values
    out = features.clone()
    out[mask] = values
    return out
