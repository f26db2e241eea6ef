"""Moments (mergeable float64 first and second moments) and PCA (scikit-learn's contract)."""

from __future__ import annotations

import numbers
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _arrays, _core
from ._dataset import Dataset

_DEVICES = ("auto", "cpu", "cuda")
# Songs per chunk when fitting on files: what the command-line tool streams.
_CHUNK_SONGS = 1 << 16


def _check_device(device: str) -> str:
    if device not in _DEVICES:
        raise ValueError(f"device must be one of 'auto', 'cpu', 'cuda', got {device!r}")
    return device


def _is_paths(x: Any) -> bool:
    if isinstance(x, (str, os.PathLike)):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(p, (str, os.PathLike)) for p in x)


def _as_paths(x: Any) -> List[str]:
    return [os.fspath(x)] if isinstance(x, (str, os.PathLike)) else [os.fspath(p) for p in x]


class Moments:
    """Count, mean and co-moment matrix ``C = sum (x - mean)(x - mean)^T`` of feature rows,
    accumulated in float64 by the library (``playaug::moments``).

    Moments of any split of the rows merge into the moments of all of them (Chan, Golub
    and LeVeque's update): ``Moments.of(a).merge(Moments.of(b))`` equals ``Moments.of(X)``
    to about 1e-12 relative for ``X = [a; b]``. ``a + b`` is the same merge. They pickle
    exactly (shortest round-trip text), so they travel between processes: this is the seam
    for distributed fitting. ``PCA.from_moments`` fits from them.
    """

    __slots__ = ("_c",)

    def __init__(self, dim: int = 0) -> None:
        """The moments of no rows in ``dim`` dimensions."""
        self._c = _core.Moments(int(dim))

    @classmethod
    def _wrap(cls, c: "_core.Moments") -> "Moments":
        m = cls.__new__(cls)
        m._c = c
        return m

    @classmethod
    def of(cls, x: Any, *, device: str = "auto", threads: int = 0, stream: Any = None) -> "Moments":
        """The moments of ``x``: a float32 ``[n, d]`` array (NumPy, torch CPU or CUDA, CuPy;
        CUDA arrays are read in place on the caller's stream), a :class:`Dataset`, or a path
        or list of paths (streamed in bounded memory, like ``playaug fit-pca``).
        Other array-likes are converted to float32 first (a copy)."""
        _check_device(device)
        if isinstance(x, Dataset):
            return cls._wrap(_core.compute_moments(x.features, 0, device, threads))
        if _is_paths(x):
            return cls._wrap(_core.moments_of_files(_as_paths(x), _CHUNK_SONGS, device, threads))
        x = _as_float32_matrix(x)
        s = _arrays.current_stream(x, stream)
        return cls._wrap(_core.compute_moments(_arrays.for_core(x, s), s, device, threads))

    @property
    def n(self) -> int:
        return self._c.n

    @property
    def dim(self) -> int:
        return self._c.dim

    @property
    def mean(self) -> np.ndarray:
        return self._c.mean

    @property
    def comoment(self) -> np.ndarray:
        return self._c.comoment

    def covariance(self) -> np.ndarray:
        """The unbiased covariance ``C / (n - 1)`` (as ``np.cov``); needs n >= 2."""
        return self._c.covariance()

    def merge(self, other: "Moments") -> "Moments":
        """The moments of the union of both row sets (a new object)."""
        if not isinstance(other, Moments):
            raise TypeError(f"merge: expected playaug.Moments, got {type(other).__name__}")
        return Moments._wrap(self._c.merged(other._c))

    def __add__(self, other: "Moments") -> "Moments":
        if not isinstance(other, Moments):
            return NotImplemented
        return self.merge(other)

    def __getstate__(self) -> str:
        return self._c.to_json()

    def __setstate__(self, state: str) -> None:
        self._c = _core.Moments.from_json(state)

    def to_json(self) -> str:
        return self._c.to_json()

    @classmethod
    def from_json(cls, text: str) -> "Moments":
        return cls._wrap(_core.Moments.from_json(text))

    def __repr__(self) -> str:
        return f"playaug.Moments(n={self.n}, dim={self.dim})"


def _as_float32_matrix(x: Any) -> Any:
    """NumPy inputs and other array-likes are converted to a C-contiguous float32 matrix
    (a copy when they are not one already); torch and CuPy arrays must already be float32,
    C-contiguous and 2-D (no hidden device copies)."""
    if _arrays.is_torch(x) or _arrays.is_cupy(x):
        _arrays.check_matrix(x, "X")
        return x
    x = np.ascontiguousarray(np.asarray(x), dtype=np.float32)
    _arrays.check_matrix(x, "X")
    return x


class PCA:
    """Principal component analysis of song features by the C++ engine (float64 moments,
    Jacobi's method on the CPU, cuSOLVER ``syevd`` on a GPU: docs/pca.md), with scikit-learn's
    estimator conventions.

    Parameters
    ----------
    n_components : int, float or None
        ``int``: keep that many components (1..d); ``float`` in (0, 1): keep the fewest
        whose cumulative explained-variance ratio is strictly above it (the CLI's
        ``--variance``, scikit-learn's rule); ``None``: all d.
    standardize : bool
        Fit on z-scores (the correlation matrix), like ``fit-pca --standardize``.
    per_playlist : None, "projector" or "pooled"
        ``None``: one PCA of every song stacked. Otherwise one model aggregated from a PCA
        of every playlist (``fit-pca --per-playlist --aggregate``; :meth:`fit` then needs
        playlists: a :class:`Dataset` or paths). ``"projector"``: the average of the
        playlists' rank-k projectors (k from ``n_components``, required; a float picks each
        playlist's own k); ``"pooled"``: the average of their covariances, each about its
        own mean. See docs/pca.md for the definitions.
    weight : "playlists" or "songs"
        With ``per_playlist``: every playlist counts once, or by its size.
    device : "auto", "cpu" or "cuda"
        Where fitting runs. Transforms run where their input lives.

    Attributes (set by :meth:`fit`)
    -------------------------------
    mean_, scale_ : float64 ``[d]``; components_ : float64 ``[k, d]`` (unit rows, each
    with its largest-magnitude entry positive); eigenvalues_ : ``[d]``, all eigenvalues of
    the matrix diagonalised; explained_variance_ : ``[k]``, its first k;
    explained_variance_ratio_ : ``[k]``, the share of the songs' variance along each
    component; n_components_, n_samples_, n_features_in_, feature_names_in_. With
    ``per_playlist``: the eigenvalues are the averaged projector's (in [0, 1]: how far the
    playlists agree on each direction) or the pooled covariance's, and ``aggregate_`` is a
    dict of counts: playlists, aggregated, songs (of the aggregated playlists), empty,
    too_few_songs, low_rank.

    ``save(path)`` writes, and ``PCA.load(path)`` reads, the command-line tool's MODEL.json.
    """

    def __init__(self, n_components: Union[int, float, None] = None, *, standardize: bool = False,
                 per_playlist: Optional[str] = None, weight: str = "playlists", device: str = "auto") -> None:
        self.n_components = n_components
        self.standardize = standardize
        self.per_playlist = per_playlist
        self.weight = weight
        self.device = device

    # --- scikit-learn's parameter protocol -------------------------------------------------
    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {"n_components": self.n_components, "standardize": self.standardize,
                "per_playlist": self.per_playlist, "weight": self.weight, "device": self.device}

    def set_params(self, **params: Any) -> "PCA":
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for PCA; valid parameters: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"PCA({args})"

    def _options(self):
        k = self.n_components
        if k is None:
            return None, None
        if isinstance(k, bool):
            raise TypeError("n_components must be an int, a float in (0, 1) or None, got a bool")
        if isinstance(k, numbers.Integral):
            if k < 1:
                raise ValueError(f"n_components must be >= 1, got {k}")
            return int(k), None
        if isinstance(k, numbers.Real):
            if not 0.0 < float(k) < 1.0:
                raise ValueError(f"n_components as a float must be strictly between 0 and 1, got {k}")
            return None, float(k)
        raise TypeError(f"n_components must be an int, a float in (0, 1) or None, got {type(k).__name__}")

    # --- fitting -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "PCA":
        """Fit on ``X``: an ``[n, d]`` array of any framework, a :class:`Dataset`, or a path
        or list of paths (streamed chunk by chunk in bounded memory). Returns ``self``."""
        _check_device(self.device)
        if self.per_playlist is not None:
            return self._fit_aggregate(X)
        names: Sequence[str] = ()
        if isinstance(X, Dataset):
            names = X.feature_names
        m = Moments.of(X, device=self.device)
        if _is_paths(X) and m.dim:
            names = _default_names(m.dim)  # what the reader names d columns
        return self._fit_moments(m, names)

    @classmethod
    def from_moments(cls, moments: Moments, n_components: Union[int, float, None] = None, *,
                     standardize: bool = False, feature_names: Optional[Sequence[str]] = None,
                     device: str = "auto") -> "PCA":
        """A fitted PCA from accumulated :class:`Moments` (e.g. merged across workers)."""
        if not isinstance(moments, Moments):
            raise TypeError(f"from_moments: expected playaug.Moments, got {type(moments).__name__}")
        return cls(n_components, standardize=standardize, device=device)._fit_moments(moments, feature_names or ())

    def _fit_moments(self, m: Moments, names: Sequence[str]) -> "PCA":
        components, variance = self._options()
        _check_device(self.device)
        if m.n < 2:
            raise ValueError(f"a PCA needs at least 2 samples, got {m.n}")
        if components is not None and components > m.dim:
            raise ValueError(f"n_components={components} exceeds the number of features ({m.dim})")
        self._set_model(_core.fit_pca(m._c, components, variance, bool(self.standardize), list(names), self.device))
        return self

    def _fit_aggregate(self, X: Any) -> "PCA":
        if self.per_playlist not in ("projector", "pooled"):
            raise ValueError(f"per_playlist must be None, 'projector' or 'pooled', got {self.per_playlist!r}")
        if self.weight not in ("playlists", "songs"):
            raise ValueError(f"weight must be 'playlists' or 'songs', got {self.weight!r}")
        if self.standardize:
            raise ValueError("standardize=True is not available with per_playlist (no standardized aggregate)")
        components, variance = self._options()
        if self.per_playlist == "projector" and components is None and variance is None:
            raise ValueError("per_playlist='projector' needs n_components: the rank of every playlist's projector")
        if isinstance(X, Dataset):
            if components is not None and components > X.dim:
                raise ValueError(f"n_components={components} exceeds the number of features ({X.dim})")
            model, summary = _core.fit_pca_aggregate(X.features, X.offsets, self.per_playlist, self.weight,
                                                     components, variance, list(X.feature_names), self.device, 0)
        elif _is_paths(X):
            model, summary = _core.fit_pca_aggregate_files(_as_paths(X), _CHUNK_SONGS, self.per_playlist,
                                                           self.weight, components, variance, self.device, 0)
        else:
            raise TypeError("per_playlist needs playlists: pass a playaug.Dataset or CSV paths, "
                            f"not {type(X).__name__}")
        self._set_model(model)
        self.aggregate_ = {name: getattr(summary, name) for name in
                           ("playlists", "aggregated", "songs", "empty", "too_few_songs", "low_rank")}
        return self

    def _set_model(self, model: "_core.PCAModel") -> None:
        self._model = model
        k = model.n_components
        self.mean_ = model.mean
        self.scale_ = model.scale
        self.components_ = model.components
        self.eigenvalues_ = model.eigenvalues
        self.explained_variance_ = model.eigenvalues[:k].copy()
        self.explained_variance_ratio_ = model.explained_variance_ratio[:k].copy()
        self.n_components_ = k
        self.n_samples_ = model.n_samples
        self.n_features_in_ = len(model.mean)
        self.feature_names_in_ = np.asarray(model.feature_names, dtype=object)

    def _check_fitted(self) -> None:
        if not hasattr(self, "_model"):
            raise AttributeError("This PCA instance is not fitted yet: call fit() or load() first")

    # --- projection ------------------------------------------------------------------------------
    def transform(self, X: Any, *, stream: Any = None) -> Any:
        """``Y = (X - mean_) / scale_ @ components_.T`` in float64, rounded to float32.
        ``X`` float32 ``[n, d]`` of any framework; ``Y`` is a new array of the same kind on the
        same device (CUDA arrays: computed on the caller's stream, no synchronisation)."""
        return self._apply(X, self.n_features_in_ if hasattr(self, "_model") else 0, False, stream)

    def inverse_transform(self, Y: Any, *, stream: Any = None) -> Any:
        """``X = Y @ components_ * scale_ + mean_`` (``Y`` float32 ``[n, k]``)."""
        return self._apply(Y, self.n_components_ if hasattr(self, "_model") else 0, True, stream)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        if isinstance(X, Dataset):
            return self.fit(X).transform(X.features)
        return self.fit(X).transform(X)

    def _apply(self, X: Any, width: int, inverse: bool, stream: Any) -> Any:
        self._check_fitted()
        if isinstance(X, Dataset):
            X = X.features
        X = _as_float32_matrix(X)
        if X.shape[1] != width:
            what = "components" if inverse else "features"
            raise ValueError(f"X has {X.shape[1]} columns, the model expects {width} {what}")
        out_cols = self.n_features_in_ if inverse else self.n_components_
        out = _arrays.empty_like(X, (X.shape[0], out_cols), "float32")
        s = _arrays.current_stream(X, stream)
        device = "cuda" if _arrays.is_cuda(X) else "cpu"
        _core.transform(self._model, _arrays.for_core(X, s), _arrays.for_core(out, s), inverse, s, device, 0)
        return out

    # --- MODEL.json ------------------------------------------------------------------------------
    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the command-line tool's MODEL.json (atomically)."""
        self._check_fitted()
        self._model.save(os.fspath(path))

    @classmethod
    def load(cls, path: Union[str, os.PathLike], *, device: str = "auto") -> "PCA":
        """A fitted PCA from a MODEL.json written by ``playaug fit-pca`` or :meth:`save`."""
        model = _core.PCAModel.load(os.fspath(path))
        k = model.n_components
        aggregate = model.method != "covariance"
        pca = cls(None if k == len(model.mean) and not aggregate else k, standardize=bool(np.any(model.scale != 1.0)),
                  per_playlist=model.method if aggregate else None, weight=model.weight, device=device)
        pca._set_model(model)
        return pca

    def to_json(self) -> str:
        self._check_fitted()
        return self._model.to_json()


def principal_angles(a: "PCA", b: "PCA") -> np.ndarray:
    """The principal angles (radians, ascending) between the spans of two fitted models'
    components: ``min(k_a, k_b)`` angles in [0, pi/2]; all 0 when one span holds the other.
    Small angles keep their precision (computed from sines as well as cosines)."""
    for m in (a, b):
        if not isinstance(m, PCA):
            raise TypeError(f"principal_angles: expected playaug.PCA, got {type(m).__name__}")
        m._check_fitted()
    if a.n_features_in_ != b.n_features_in_:
        raise ValueError(f"the models have {a.n_features_in_} and {b.n_features_in_} features")
    return np.asarray(_core.principal_angles(a._model, b._model), dtype=np.float64)


def _default_names(dim: int) -> List[str]:
    """Spotify's 11 names when dim == 11, else f0, f1, ... (as the reader assigns them)."""
    ds = Dataset(np.zeros((1, dim), np.float32), [0, 1], [[[0]]])
    return ds.feature_names
