"""python/playaug/_core.pyi is what nanobind's stub generator makes of the built module."""

import subprocess
import sys

import pytest

from conftest import REPO


def test_core_stub_is_current(tmp_path):
    pytest.importorskip("nanobind.stubgen")
    out = tmp_path / "_core.pyi"
    subprocess.run([sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "playaug._core", "-o", str(out)],
                   check=True, capture_output=True)
    committed = (REPO / "python" / "playaug" / "_core.pyi").read_text()
    assert out.read_text() == committed, (
        "regenerate the stub: python -m nanobind.stubgen -m playaug._core -o python/playaug/_core.pyi")
