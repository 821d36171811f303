"""Frames per second of gmmkit_image.BackgroundModel on 320 x 240 video.

Generates a video (static textured background, noise, two moving objects;
gmmkit_image.synthetic.moving_objects_video), then times ``apply`` per
frame for colour and grey frames, 3 and 5 Gaussians per pixel, with and
without shadow detection. The reference is OpenCV's
BackgroundSubtractorMOG2 when ``cv2`` is installed (it is not a gmmkit
dependency); otherwise only gmmkit's figures are printed. Target: 25+
frames/s for 320 x 240 colour video with the defaults.

    python benchmarks/bench_image_background.py             # 150 frames a case
    python benchmarks/bench_image_background.py --frames 60 --repeat 1
    python benchmarks/bench_image_background.py --json

Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

TARGET_FPS = 25.0
WARMUP = 30  # frames before timing starts (the model's modes fill up)


def frames_per_second(apply, frames, repeat):
    """Best of ``repeat`` timings of apply over the frames after the warm-up."""
    best = np.inf
    for _ in range(repeat):
        model = apply()
        for frame in frames[:WARMUP]:
            model(frame)
        start = time.perf_counter()
        for frame in frames[WARMUP:]:
            model(frame)
        best = min(best, time.perf_counter() - start)
    return (len(frames) - WARMUP) / best


def gmmkit_case(n_components, shadows):
    from gmmkit_image import BackgroundModel

    def make():
        return BackgroundModel(n_components, shadows=shadows).apply

    return make


def opencv_case(n_components, shadows):
    import cv2

    def make():
        subtractor = cv2.createBackgroundSubtractorMOG2(detectShadows=shadows)
        subtractor.setNMixtures(n_components)
        return subtractor.apply

    return make


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from gmmkit_image.synthetic import moving_objects_video

    print(f"generating {args.frames} frames of 320 x 240 ...", file=sys.stderr)
    colour, _ = moving_objects_video(args.frames, (240, 320), warmup=WARMUP)
    grey = [np.ascontiguousarray(frame[..., 0]) for frame in colour]
    try:
        import cv2  # noqa: F401

        has_opencv = True
    except ImportError:
        has_opencv = False
    rows = []
    for frames, kind in ((colour, "colour"), (grey, "grey")):
        for n_components, shadows in ((5, False), (3, False), (5, True)):
            label = f"{kind}, K={n_components}, shadows={'on' if shadows else 'off'}"
            print(f"timing {label} ...", file=sys.stderr)
            row = {"frames": kind, "n_components": n_components, "shadows": shadows,
                   "gmmkit_fps": frames_per_second(gmmkit_case(n_components, shadows),
                                                   frames, args.repeat)}
            if has_opencv:
                row["opencv_fps"] = frames_per_second(opencv_case(n_components, shadows),
                                                      frames, args.repeat)
            rows.append(row)
    if args.json:
        print(json.dumps({"target_fps": TARGET_FPS, "opencv": has_opencv, "rows": rows},
                         indent=2))
        return 0
    print(f"BackgroundModel on 320 x 240 video, {args.frames - WARMUP} timed frames, "
          f"best of {args.repeat}")
    header = "| frames | K | shadows | gmmkit frames/s |" + (" OpenCV MOG2 frames/s | ratio |"
                                                           if has_opencv else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in rows:
        cells = [row["frames"], row["n_components"], "on" if row["shadows"] else "off",
                 f"{row['gmmkit_fps']:.1f}"]
        if has_opencv:
            cells += [f"{row['opencv_fps']:.1f}", f"{row['gmmkit_fps'] / row['opencv_fps']:.2f}"]
        print("| " + " | ".join(map(str, cells)) + " |")
    default = rows[0]["gmmkit_fps"]
    verdict = "PASS" if default >= TARGET_FPS else "FAIL"
    print(f"\ntarget: colour, K=5, no shadows >= {TARGET_FPS:.0f} frames/s: "
          f"{default:.1f} {verdict}")
    if not has_opencv:
        print("OpenCV (cv2) is not installed: no reference timing (pip install "
              "opencv-python-headless to compare).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
