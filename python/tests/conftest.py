"""Shared fixtures: the repository's sample, the real data beside the checkout, the
command-line tool built by scripts/test (PLAYAUG_CLI overrides), and a GPU marker."""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

import playaug

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "playlists.csv"
SHARED = REPO.parent / "shared" / "data"
REAL_PLAYLISTS = SHARED / "spotify-songs" / "playlists.csv"
REAL_TRACKS = SHARED / "spotify-songs" / "tracks.csv"
TOP2018 = SHARED / "top2018.csv"


def _cli() -> pathlib.Path | None:
    env = os.environ.get("PLAYAUG_CLI")
    path = pathlib.Path(env) if env else REPO / os.environ.get("PLAYAUG_BUILD_DIR", "build") / "playaug"
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def cli():
    """run(*args) -> CompletedProcess of the playaug tool (fails the test on a non-zero exit)."""
    exe = _cli()
    if exe is None:
        pytest.skip("the playaug command-line tool is not built (scripts/test builds it; or set PLAYAUG_CLI)")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"playaug {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def sample():
    return playaug.read_csv(SAMPLE)


@pytest.fixture(scope="session")
def real_playlists():
    if not REAL_PLAYLISTS.is_file():
        pytest.skip(f"{REAL_PLAYLISTS} (real playlists) is not beside this checkout")
    return REAL_PLAYLISTS


@pytest.fixture(scope="session")
def top2018():
    if not TOP2018.is_file():
        pytest.skip(f"{TOP2018} (a real track catalog) is not beside this checkout")
    return TOP2018


def pytest_collection_modifyitems(config, items):
    if playaug.cuda_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device (or a build without the CUDA engine)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
