"""playaug: augmentation of music-playlist datasets on NVIDIA GPUs, with a CPU fallback.

The Python face of the C++ library (``include/playaug/``): read and write the notebook's
CSV format, fit PCA models, augment by reversal and random protuberance, re-query similar
tracks from a catalog, make synthetic playlists, and compare synthetic with real ones
(``playaug.compare``, the fidelity report). Datasets are also read and written as Parquet
(``read_parquet``, ``write_parquet``, ``convert``; pyarrow), and ``playaug.dask`` fits and
augments them on a Dask cluster (docs/scale-out.md). Array operations take NumPy arrays,
PyTorch tensors (CPU and CUDA) and CuPy arrays without copying; ``playaug.torch`` has the
notebook's transforms and a ``Dataset`` for ``torch.utils.data``. The GIL is released
during every call into the library.

See docs/python.md for the API, the stream and memory rules, and the map to the C++ API.
"""

from ._core import CudaUnavailableError, DataError, __version__
from ._dataset import Dataset, read_csv, write_csv
from ._ops import (
    TrackCatalog,
    augment,
    cuda_available,
    fit_synth,
    protuberance,
    read_catalog,
    requery,
    reverse,
    reverse_flags,
    synth,
)
from ._parquet import convert, read_parquet, write_parquet
from ._pca import PCA, Moments, principal_angles


__all__ = [
    "CudaUnavailableError",
    "DataError",
    "Dataset",
    "FidelityReport",
    "Moments",
    "PCA",
    "TrackCatalog",
    "__version__",
    "augment",
    "compare",
    "convert",
    "cuda_available",
    "fit_synth",
    "principal_angles",
    "protuberance",
    "read_catalog",
    "read_csv",
    "read_parquet",
    "requery",
    "reverse",
    "reverse_flags",
    "synth",
    "write_csv",
    "write_parquet",
]


def __getattr__(name: str):
    # Submodules loaded on first use (``import playaug.dask`` or ``playaug.dask``):
    # playaug.dask imports dask, so that ``import playaug`` needs neither dask nor pyarrow;
    # playaug.compare (the fidelity report, a callable module) so that
    # ``python -m playaug.compare`` runs it fresh and ``import playaug`` stays light.
    import importlib

    if name == "dask":
        return importlib.import_module(".dask", __name__)
    if name in ("compare", "FidelityReport"):
        mod = importlib.import_module(".compare", __name__)
        return mod if name == "compare" else mod.FidelityReport
    raise AttributeError(f"module 'playaug' has no attribute {name!r}")
