"""Benchmark photo ingest against a plain full decode of the same JPEG.

Run from the project root:  .venv/bin/python bench/photo_ingest.py [--runs 15] [--processes 5]

Generates a 4000x3000 JPEG (quality 90: gradients, blurred structure, luma grain and a
little chroma noise; about 4 MB, like a 12 MP phone photo) carrying EXIF Orientation 6
and GPS tags, then prints the median of N runs of ``ingest(data)`` and of
``Image.open(path).load()``, their ratio (goal <= 0.8) and the peak memory of one ingest.
Exit status 1 when the goal is missed.

Each operation is timed in fresh child processes (first call discarded; several processes
per operation, interleaved, and the median of their medians is used): whether
glibc keeps a big freed buffer or hands it back to the kernel depends on what the
process allocated before, and re-faulting the 48 MB buffer of a full decode costs
~15-20 ms here. A fresh process gives the same state on every run; the same-process
(heap already grown, no page faults) figures are printed as well.

Peak memory is VmHWM from /proc/self/status in the child; ru_maxrss is not used because
Linux carries it over from the parent across fork and exec.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageChops, ImageFilter  # noqa: E402

from fivs.photos.pipeline import ingest, register_heif  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
GOAL = 0.8


def make_photo() -> bytes:
    """A camera-like 12 MP JPEG with EXIF Orientation 6, GPS and a capture time."""
    size = (WIDTH, HEIGHT)
    gradient = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    radial = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    structure = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 60)
    structure = structure.filter(ImageFilter.GaussianBlur(2))
    luma_grain = Image.effect_noise(size, 8)  # centred on 128, shared by R, G and B
    channels = []
    for base in (gradient, radial, ImageChops.invert(gradient)):
        channel = ImageChops.blend(base, structure, 0.4)
        channel = ImageChops.add(channel, luma_grain, scale=1.0, offset=-128)
        chroma_noise = Image.effect_noise(size, 3)
        channels.append(ImageChops.add(channel, chroma_noise, scale=1.0, offset=-128))
    photo = Image.merge("RGB", channels)

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    exif[0x010F] = "BenchCam"
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 16.0, 23.4), 3: "E", 4: (106.0, 11.0, 41.2)})
    exif.get_ifd(0x8769)[0x9003] = "2025:11:03 08:15:00"
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


# ----------------------------------------------------------------- child process side


def _operation(what: str, path: str):
    if what == "ingest":
        data = Path(path).read_bytes()
        return lambda: ingest(data)
    if what == "floor":
        return lambda: _decode_at_one_eighth(path)
    return lambda: Image.open(path).load()


def _decode_at_one_eighth(path: str) -> None:
    """Huffman decoding of every coefficient plus almost nothing else: no scaled decode
    of this file can be faster, whatever the target size."""
    with Image.open(path) as im:
        im.draft("RGB", (im.width // 8, im.height // 8))
        im.load()


def _proc_status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def run_child(what: str, path: str, runs: int) -> None:
    """Time one operation in this (fresh) process and print JSON to stdout."""
    register_heif()
    func = _operation(what, path)
    rss_before = _proc_status_kib("VmRSS")
    func()  # first call: also the memory probe (VmHWM is this process's peak RSS)
    peak = _proc_status_kib("VmHWM")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    rss_growth = None if peak is None or rss_before is None else peak - rss_before
    print(json.dumps({"median": statistics.median(times), "rss_growth_kib": rss_growth}))


def in_child(what: str, path: str, runs: int) -> dict:
    cmd = [sys.executable, __file__, "--child", what, path, "--runs", str(runs)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


# ----------------------------------------------------------------- parent side


def interleaved_children(whats: tuple[str, ...], path: str, runs: int, processes: int) -> list[dict]:
    """Per operation: the median of its per-process medians, and its first process's memory."""
    results: dict[str, list[dict]] = {what: [] for what in whats}
    for _ in range(processes):
        for what in whats:
            results[what].append(in_child(what, path, runs))
    return [{"median": statistics.median(r["median"] for r in results[what]),
             "medians": [r["median"] for r in results[what]],
             "rss_growth_kib": results[what][0]["rss_growth_kib"]} for what in whats]



def same_process(data: bytes, path: str, runs: int) -> tuple[float, float]:
    """Interleaved medians in this process (heap already grown by make_photo)."""
    funcs = (lambda: ingest(data), lambda: Image.open(path).load())
    times: tuple[list[float], list[float]] = ([], [])
    for func in funcs:
        func()
    for _ in range(runs):
        for func, bucket in zip(funcs, times):
            start = time.perf_counter()
            func()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def tracemalloc_peak(data: bytes) -> int:
    tracemalloc.start()
    try:
        ingest(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark fivs photo ingest.")
    parser.add_argument("--runs", type=int, default=15, help="timed calls per process")
    parser.add_argument("--processes", type=int, default=5, help="fresh processes per operation")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], args.child[1], args.runs)
        return 0

    data = make_photo()
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as handle:
        handle.write(data)
        path = handle.name
    try:
        result = ingest(data)
        mb = len(data) / 1e6
        print(f"source: {WIDTH}x{HEIGHT} JPEG q90, {mb:.2f} MB, EXIF Orientation 6 + GPS")
        print(
            f"display: {result.width}x{result.height} ({len(result.display) / 1e3:.0f} kB), "
            f"thumb: {result.thumb_width}x{result.thumb_height} ({len(result.thumb) / 1e3:.0f} kB)"
        )

        # Several fresh processes each, interleaved: a full decode's page faults vary from one
        # process to the next, so one process per side would make the ratio swing by +-0.1.
        ing, dec = interleaved_children(("ingest", "decode"), path, args.runs, args.processes)
        floor = in_child("floor", path, args.runs)
        ratio = ing["median"] / dec["median"]
        spread = lambda r: ", ".join(f"{m * 1000:.0f}" for m in r["medians"])  # noqa: E731
        n = f"N={args.runs} x {args.processes} processes"
        print(f"median ingest(data), {n}: {ing['median'] * 1000:.1f} ms (per process: {spread(ing)})")
        print(f"median Image.open(path).load(), {n}: {dec['median'] * 1000:.1f} ms (per process: {spread(dec)})")
        print(f"ratio ingest/decode: {ratio:.3f} (goal <= {GOAL}) {'OK' if ratio <= GOAL else 'MISSED'}")
        print(
            f"floor: decode at 1/8 scale (entropy decoding only), N={args.runs}: "
            f"{floor['median'] * 1000:.1f} ms = {floor['median'] / dec['median']:.2f} of a full decode"
        )

        warm_ingest, warm_decode = same_process(data, path, args.runs)
        print(
            f"same process, interleaved, heap already grown: ingest {warm_ingest * 1000:.1f} ms, "
            f"decode {warm_decode * 1000:.1f} ms, ratio {warm_ingest / warm_decode:.2f}"
        )

        peak = tracemalloc_peak(data)
        print(f"tracemalloc peak of one ingest: {peak / 2**20:.1f} MiB (Python objects only; Pillow pixel buffers are not traced)")
        if ing["rss_growth_kib"] is not None:
            print(f"peak RSS growth of one ingest (VmHWM, fresh process): {ing['rss_growth_kib'] / 1024:.1f} MiB")
            print(f"peak RSS growth of one full decode (VmHWM, fresh process): {dec['rss_growth_kib'] / 1024:.1f} MiB")
        return 0 if ratio <= GOAL else 1
    finally:
        Path(path).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
