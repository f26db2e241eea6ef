"""Framework-neutral array handling: NumPy, PyTorch (CPU and CUDA) and CuPy.

The compiled module takes any array through DLPack or the buffer protocol without a
copy. This file decides, for an array of any of those frameworks, which device it lives
on, which CUDA stream work on it must be ordered on, and how to make arrays of the same
kind (for results and scratch), so that every operation returns the caller's type on the
caller's device.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# cudaStreamLegacy, and the DLPack protocol's number for the legacy default stream.
_LEGACY_DEFAULT_STREAM = 1


def _module_of(x: Any) -> str:
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("torch", "cupy", "numpy"):
        return mod
    return "other"


def is_torch(x: Any) -> bool:
    return "torch" in sys.modules and _module_of(x) == "torch"


def is_cupy(x: Any) -> bool:
    return "cupy" in sys.modules and _module_of(x) == "cupy"


def is_cuda(x: Any) -> bool:
    """True for an array in CUDA device memory."""
    if is_torch(x):
        return x.is_cuda
    if is_cupy(x):
        return True
    return False


def current_stream(x: Any, stream: Any = None) -> int:
    """The cudaStream_t (as an integer) that work on `x` is ordered on.

    `stream` wins when given (an integer handle, or a torch/CuPy stream object); otherwise
    torch's current stream for torch tensors and CuPy's current stream for CuPy arrays.
    0 for host arrays (no stream); 1 (cudaStreamLegacy) for the legacy default stream.
    """
    if stream is not None:
        for attr in ("cuda_stream", "ptr"):
            if hasattr(stream, attr):
                stream = getattr(stream, attr)
                break
        return _LEGACY_DEFAULT_STREAM if int(stream) == 0 else int(stream)
    if not is_cuda(x):
        return 0
    if is_torch(x):
        import torch

        handle = int(torch.cuda.current_stream(x.device).cuda_stream)
    else:
        import cupy

        handle = int(cupy.cuda.get_current_stream().ptr)
    # Handle 0 is the legacy default stream (torch's and CuPy's default): name it
    # explicitly (cudaStreamLegacy), since the library's own streams do not wait for it.
    return _LEGACY_DEFAULT_STREAM if handle == 0 else handle


def for_core(x: Any, stream: int) -> Any:
    """What to hand to the compiled module for `x`: the array itself (NumPy, CPU tensors),
    or, for CUDA arrays, a DLPack capsule exported on `stream`, so that the producer
    orders its pending work before ours without a device synchronisation."""
    if is_cuda(x) and hasattr(x, "__dlpack__"):
        return x.__dlpack__(stream=stream)
    if is_torch(x):
        return x.detach()
    return x


def check_matrix(x: Any, name: str, dtype: str = "float32") -> None:
    """TypeError/ValueError for an array that is not a C-contiguous [n, d] `dtype` matrix."""
    _check(x, name, dtype, 2)


def check_vector(x: Any, name: str, dtype: str) -> None:
    _check(x, name, dtype, 1)


def _check(x: Any, name: str, dtype: str, ndim: int) -> None:
    shape = getattr(x, "shape", None)
    if shape is None or not hasattr(x, "dtype"):
        raise TypeError(f"{name}: expected a NumPy array, torch tensor or CuPy array, got {type(x).__name__}")
    if len(shape) != ndim:
        want = "[n, d] matrix" if ndim == 2 else "vector"
        raise ValueError(f"{name}: expected a {want}, got an array of shape {tuple(shape)}")
    got = str(x.dtype).replace("torch.", "")
    if got != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {got}")
    if is_torch(x):
        contiguous = x.is_contiguous()
    elif is_cupy(x) or isinstance(x, np.ndarray):
        contiguous = bool(x.flags.c_contiguous)
    else:
        contiguous = True
    if not contiguous:
        raise ValueError(f"{name}: the array must be C-contiguous (call .contiguous() / np.ascontiguousarray)")


def same_device(a: Any, b: Any) -> bool:
    if is_torch(a) and is_torch(b):
        return a.device == b.device
    if is_cuda(a) != is_cuda(b):
        return False
    if is_cupy(a) and is_cupy(b):
        return a.device == b.device
    return _module_of(a) == _module_of(b) or not (is_cuda(a) or is_cuda(b))


def copy_of(x: Any) -> Any:
    """A new C-contiguous array of x's kind, device and values (on x's current stream)."""
    if is_torch(x):
        return x.detach().clone(memory_format=__import__("torch").contiguous_format)
    if is_cupy(x):
        import cupy

        return cupy.array(x, copy=True, order="C")
    return np.array(x, copy=True, order="C")


def empty_like(x: Any, shape: tuple, dtype: str) -> Any:
    """An uninitialised array of `shape` and `dtype` of x's kind on x's device."""
    if is_torch(x):
        import torch

        return torch.empty(shape, dtype=getattr(torch, dtype), device=x.device)
    if is_cupy(x):
        import cupy

        with x.device:
            return cupy.empty(shape, dtype=dtype)
    return np.empty(shape, dtype=dtype)


def asarray_like(values: np.ndarray, like: Any) -> Any:
    """`values` (host NumPy) as an array of like's kind on like's device."""
    if is_torch(like):
        import torch

        return torch.from_numpy(np.ascontiguousarray(values)).to(like.device, non_blocking=False)
    if is_cupy(like):
        import cupy

        with like.device:
            return cupy.asarray(values)
    return np.ascontiguousarray(values)
