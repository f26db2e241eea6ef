"""The GIL is released while the library works: another Python thread keeps running."""

import threading
import time

import playaug


def test_other_threads_run_during_a_library_call():
    window = {}

    def work():
        window["enter"] = time.perf_counter()
        playaug.synth(100_000, seed=1, threads=1)  # a few hundred ms in C++
        window["exit"] = time.perf_counter()

    ticks = []
    t = threading.Thread(target=work)
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    inside = [x for x in ticks if window["enter"] + 0.02 < x < window["exit"] - 0.02]
    assert window["exit"] - window["enter"] > 0.1, "the call was too short to tell"
    # With the GIL held for the whole call this thread could not have run in between.
    assert len(inside) > 1000
