"""playaug: augmentation of music-playlist datasets on NVIDIA GPUs, with a CPU fallback.

The Python face of the C++ library (``include/playaug/``): read and write the notebook's
CSV format, fit PCA models, augment by reversal and random protuberance, re-query similar
tracks from a catalog, and make synthetic playlists. Array operations take NumPy arrays,
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
from ._pca import PCA, Moments

__all__ = [
    "CudaUnavailableError",
    "DataError",
    "Dataset",
    "Moments",
    "PCA",
    "TrackCatalog",
    "__version__",
    "augment",
    "cuda_available",
    "fit_synth",
    "protuberance",
    "read_catalog",
    "read_csv",
    "requery",
    "reverse",
    "reverse_flags",
    "synth",
    "write_csv",
]
