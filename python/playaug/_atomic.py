"""Atomic file output for the Python-only writers (Parquet, the fidelity plot), as the C++
writers do it: a temporary file beside the destination (``.NAME.tmp-PID-...``), fsynced,
given the destination's mode (or the umask's default for a new file) and renamed into
place on success; removed on any failure, so no run leaves litter or half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO, Iterator


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; ``path`` is replaced when the
    block ends without an exception."""
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.tmp-{os.getpid()}-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
