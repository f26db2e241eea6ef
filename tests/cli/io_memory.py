"""Peak memory of one huge record: augment of a single 64 MB playlist stays within about
3x the record (the reader's buffer, the parsed and the augmented floats; the writer
formats a huge playlist piece by piece), and the output is the same with 1 and 2 threads.

Usage: python3 io_memory.py PLAYAUG_EXECUTABLE SOURCE_DIR
"""
import os
import resource
import subprocess
import sys
import tempfile

PLAYAUG = sys.argv[1]
SONG = "[0.5, 0.5, 0.5, 0.0, 5, 0.1, -7.0, 1, 0.05, 120.0, 0.4]"
SONGS = 1_150_000  # about 64 MB of text


def main():
    with tempfile.TemporaryDirectory(prefix="playaug-io-memory-") as work:
        path = os.path.join(work, "huge.csv")
        with open(path, "w") as f:
            f.write(",moods_states,features\n")
            f.write('small,[[1]],"[' + SONG + ']"\n')
            f.write('huge,"[[1, 2]]","[' + ", ".join([SONG] * SONGS) + ']"\n')
        size = os.path.getsize(path)
        outputs = []
        for threads in ("1", "2"):
            out = os.path.join(work, "out%s.csv" % threads)
            r = subprocess.run([PLAYAUG, "augment", path, "-o", out, "-q", "--threads", threads, "--seed", "7"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print("FAIL: augment exited %d: %s" % (r.returncode, r.stderr), file=sys.stderr)
                return 1
            # The largest peak of the children run so far (KiB on Linux): an upper bound.
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
            ratio = peak / size
            print("augment of a %d-byte record, %s threads: peak RSS %d bytes (%.2fx)" % (size, threads, peak, ratio))
            if ratio > 3.5:
                print("FAIL: peak RSS is %.2fx the record" % ratio, file=sys.stderr)
                return 1
            with open(out, "rb") as f:
                outputs.append(f.read())
        if outputs[0] != outputs[1]:
            print("FAIL: the output depends on the thread count", file=sys.stderr)
            return 1
        if outputs[0].count(b"\n") != 5:  # header, 2 originals, 2 copies
            print("FAIL: expected 4 playlists in the output", file=sys.stderr)
            return 1
    print("all checks passed")
    return 0


sys.exit(main())
