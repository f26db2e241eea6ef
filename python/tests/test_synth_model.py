"""fit_synth and synth(model=...): the CLI's model and bytes; rule-based options refused; a
bad model is a DataError naming the key; the CUDA engine's bytes equal the CPU's."""

import numpy as np
import pytest

import playaug
from conftest import SAMPLE


def test_fit_synth_is_the_cli_model(cli, tmp_path):
    out = tmp_path / "m.json"
    cli("fit-synth", SAMPLE, "-o", out, "--clusters", 5, "--types", 3, "-q")
    text = playaug.fit_synth(SAMPLE, tmp_path / "py.json", clusters=5, types=3)
    assert text == out.read_text()
    assert (tmp_path / "py.json").read_text() == text


def test_synth_model_is_the_cli_output(cli, tmp_path):
    model = tmp_path / "m.json"
    cli("fit-synth", SAMPLE, "-o", model, "--clusters", 5, "--types", 3, "-q")
    out = tmp_path / "cli.csv"
    cli("synth", "--model", model, "-o", out, "--playlists", 400, "--seed", 9, "-q", "--device", "cpu")
    ds = playaug.synth(400, model=model, seed=9, device="cpu", threads=1)
    py = tmp_path / "py.csv"
    playaug.write_csv(py, ds)
    assert py.read_bytes() == out.read_bytes()
    # The model's text works as well as its path.
    again = playaug.synth(400, model=model.read_text(), seed=9, device="cpu", threads=2)
    assert np.array_equal(again.features, ds.features)
    assert len(ds) == 400


def test_rule_based_options_and_bad_models_are_refused(tmp_path):
    text = playaug.fit_synth(SAMPLE, clusters=3, types=2)
    with pytest.raises(ValueError, match="rule-based generation only"):
        playaug.synth(10, model=text, min_songs=2)
    with pytest.raises(playaug.DataError, match='unsupported "version"'):
        playaug.synth(10, model=text.replace('"version": 2', '"version": 3'))


@pytest.mark.gpu
def test_synth_model_on_the_gpu_equals_the_cpu():
    if not playaug.cuda_available():
        pytest.skip("no CUDA device (or a build without the CUDA engine)")
    text = playaug.fit_synth(SAMPLE, clusters=8, types=4)
    cpu = playaug.synth(3000, model=text, seed=4, device="cpu")
    gpu = playaug.synth(3000, model=text, seed=4, device="cuda")
    assert cpu.features.tobytes() == gpu.features.tobytes()
