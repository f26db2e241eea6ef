"""The README's Python example runs as written (from the repository root)."""

import os
import re

import pytest

from conftest import REPO


def test_readme_training_loop_runs(monkeypatch):
    pytest.importorskip("torch")
    text = (REPO / "README.md").read_text()
    section = text.split("## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README's Python section has no python block"
    monkeypatch.chdir(REPO)
    scope = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    assert scope["loss"].item() >= 0 and scope["coords"].shape[-1] == 3
    assert scope["epoch"] == 1
