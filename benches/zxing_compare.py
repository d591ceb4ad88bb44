#!/usr/bin/env python3
"""Compare scanstation's rxing decoder with zxing-cpp on one manifest, in one run.

Usage: benches/zxing_compare.py MANIFEST [--bin target/release/scanstation] [--formats LIST]
       [--limit N] [--json-out FILE]

zxing-cpp (PyPI `zxing-cpp`) reads the same grey images with its defaults, restricted to the same
formats; only `read_barcodes` is timed. Then `scanstation bench decode` runs on the same manifest
and both sets of figures are printed, with the ratio of the median times. The benchmarks are dev
tooling behind the `lab` feature, so the binary must be built with it:
`cargo build --release --features lab`.

The matching rule is the one in src/decode/bench.rs: same format and same text, or the same after
removing a leading AIM identifier, GS (0x1D) separators and GS1 HRI parentheses; raw bytes equal to
`bytes_hex`; an EAN-13 "0"+12 digits equals that UPC-A. A false positive is a symbol reported on an
image whose `expected` list is empty.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import zxingcpp
except ImportError:
    print("zxing-cpp is not installed: pip install zxing-cpp", file=sys.stderr)
    sys.exit(2)
try:
    import numpy as np
    from PIL import Image
except ImportError:
    print("numpy and Pillow are needed: pip install numpy pillow", file=sys.stderr)
    sys.exit(2)

LABEL_DEFAULT = "Code128,DataMatrix,QRCode,EAN13,EAN8,UPCA,UPCE,Code39,PDF417,ITF"

# Manifest names (as in src/decode/mod.rs) to zxing-cpp formats and back.
TO_ZX = {
    "code128": "Code128",
    "datamatrix": "DataMatrix",
    "qrcode": "QRCode",
    "qr": "QRCode",
    "ean13": "EAN13",
    "ean8": "EAN8",
    "upca": "UPCA",
    "upce": "UPCE",
    "code39": "Code39",
    "pdf417": "PDF417",
    "itf": "ITF",
    "aztec": "Aztec",
    "code93": "Code93",
    "codabar": "Codabar",
}
FROM_ZX = {
    "Code128": "Code128",
    "DataMatrix": "DataMatrix",
    "QRCode": "QRCode",
    "MicroQRCode": "QRCode",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "UPCE": "UPCE",
    "Code39": "Code39",
    "Code39Std": "Code39",
    "Code39Ext": "Code39",
    "PDF417": "PDF417",
    "CompactPDF417": "PDF417",
    "ITF": "ITF",
    "ITF14": "ITF",
    "Aztec": "Aztec",
    "AztecCode": "Aztec",
    "Code93": "Code93",
    "Codabar": "Codabar",
}


def fold(name):
    return "".join(c for c in name.lower() if c.isalnum())


def parse_formats(text):
    out = []
    for name in text.split(","):
        name = name.strip()
        if not name:
            continue
        zx = TO_ZX.get(fold(name))
        if zx is None:
            sys.exit(f"unknown format {name!r}")
        if zx not in out:
            out.append(zx)
    return out


def normalise(text):
    if len(text) >= 3 and text[0] == "]" and text[1].isalpha() and text[2].isalnum():
        text = text[3:]
    hri = text.startswith("(")
    return "".join(c for c in text if c != "\x1d" and not (hri and c in "()"))


def matches(expected, found):
    ef, ff = expected["format"], found["format"]
    if ef == ff and expected.get("bytes_hex") and found.get("bytes_hex"):
        if expected["bytes_hex"].lower() == found["bytes_hex"].lower():
            return True
    et, ft = expected["text"], found["text"]
    if ef == ff:
        return et == ft or normalise(et) == normalise(ft)
    if ef == "UPCA" and ff == "EAN13":
        return ft == "0" + et
    if ef == "EAN13" and ff == "UPCA":
        return et == "0" + ft
    return False


def pct(a, b):
    return 100.0 * a / b if b else 0.0


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    rank = round((len(sorted_values) - 1) * p)
    return sorted_values[min(rank, len(sorted_values) - 1)]


# Tags that name a kind of frame worth its own line (the generated sets' tags; the corpus has
# its own, which are shown too when they hold enough symbols).
SKIP_TAGS = {"synth", "two-labels", "negative"}


def kinds_of(im):
    """The kinds an image's symbols count under: its difficulty, its tags and its size."""
    kinds = []
    if im.get("difficulty"):
        kinds.append("difficulty " + im["difficulty"])
    for t in im.get("tags", []):
        if t in SKIP_TAGS or (t.startswith("rot") and t[3:].isdigit()):
            continue
        kinds.append(t)
    if im.get("width") and im.get("height"):
        size = f"{im['width']}x{im['height']}"
        if size not in kinds:
            kinds.append(size)
    return kinds


def score(images, wanted_formats):
    """Recall, false positives and times from per-image {file, found, expected, ms} records."""
    exp_total = matched_total = extra = 0
    negatives = neg_fp = fp_symbols = 0
    per_format = {}
    per_kind = {}
    times, times_1080 = [], []
    for im in images:
        wanted = [e for e in im["expected"] if e["format"] in wanted_formats]
        if im["expected"] and not wanted:
            continue
        times.append(im["ms"])
        if im.get("height", 0) >= 1080:
            times_1080.append(im["ms"])
        used = [False] * len(im["found"])
        for e in wanted:
            m, n = per_format.get(e["format"], (0, 0))
            hit = next(
                (i for i, f in enumerate(im["found"]) if not used[i] and matches(e, f)), None
            )
            if hit is not None:
                used[hit] = True
                m += 1
                matched_total += 1
            per_format[e["format"]] = (m, n + 1)
            for k in kinds_of(im) + ["format " + e["format"]]:
                km, kn = per_kind.get(k, (0, 0))
                per_kind[k] = (km + (hit is not None), kn + 1)
        exp_total += len(wanted)
        if not im["expected"]:
            negatives += 1
            if im["found"]:
                neg_fp += 1
                fp_symbols += len(im["found"])
        else:
            extra += used.count(False)
    times.sort()
    times_1080.sort()
    return {
        "images": len(times),
        "expected": exp_total,
        "matched": matched_total,
        "recall": pct(matched_total, exp_total),
        "negatives": negatives,
        "negatives_with_fp": neg_fp,
        "fp_symbols": fp_symbols,
        "extra": extra,
        "median_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        "median_1080_ms": percentile(times_1080, 0.5),
        "p95_1080_ms": percentile(times_1080, 0.95),
        "n_1080": len(times_1080),
        "per_format": per_format,
        "per_kind": per_kind,
    }


def run_zxing(entries, base, zx_formats):
    formats = zxingcpp.barcode_formats_from_str(",".join(zx_formats))
    images = []
    warmed = False
    for e in entries:
        path = os.path.join(base, e["file"])
        try:
            with Image.open(path) as pil:
                grey = np.ascontiguousarray(np.asarray(pil.convert("L")))
        except Exception as err:  # noqa: BLE001 - an unreadable image is reported and skipped
            print(f"zxing-cpp: cannot read {path}: {err}", file=sys.stderr)
            continue
        if not warmed:
            zxingcpp.read_barcodes(grey, formats=formats)
            warmed = True
        t0 = time.perf_counter()
        results = zxingcpp.read_barcodes(grey, formats=formats)
        ms = (time.perf_counter() - t0) * 1000.0
        found = []
        for r in results:
            name = FROM_ZX.get(r.format.name, r.format.name)
            found.append({"format": name, "text": r.text, "bytes_hex": bytes(r.bytes).hex()})
        images.append(
            {
                "file": e["file"],
                "found": found,
                "expected": e.get("expected", []),
                "ms": ms,
                "height": grey.shape[0],
                "width": grey.shape[1],
                "tags": e.get("tags", []),
                "difficulty": e.get("difficulty", ""),
            }
        )
    return images


def print_scores(name, s):
    print(f"{name}: {s['images']} images, {s['expected']} expected symbols, {s['negatives']} negative images")
    print(
        f"  recall {s['recall']:.1f} % ({s['matched']}/{s['expected']}); false positives: "
        f"{s['fp_symbols']} symbols on {s['negatives_with_fp']}/{s['negatives']} negative images; "
        f"{s['extra']} extra symbols on positive images"
    )
    line = f"  time per frame: median {s['median_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms"
    if s["n_1080"]:
        line += (
            f"; 1080p ({s['n_1080']}): median {s['median_1080_ms']:.2f} ms, "
            f"p95 {s['p95_1080_ms']:.2f} ms"
        )
    print(line)
    for f in sorted(s["per_format"]):
        m, n = s["per_format"][f]
        print(f"  {f:<11} {pct(m, n):5.1f} % ({m}/{n})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest")
    ap.add_argument("--bin", default="target/release/scanstation")
    ap.add_argument("--formats", default=LABEL_DEFAULT)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--json-out", help="write zxing-cpp's per-image results here")
    ap.add_argument("--tune", help="passed to scanstation bench decode --tune")
    ap.add_argument("--min-symbols", type=int, default=20,
                    help="show a kind of frame only when it holds this many symbols")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate the two decoders this many times; each image keeps its "
                         "fastest time on each side")
    args = ap.parse_args()

    zx_formats = parse_formats(args.formats)
    wanted = set(FROM_ZX.get(f, f) for f in zx_formats)
    base = os.path.dirname(os.path.abspath(args.manifest))
    entries = []
    with open(args.manifest, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                entries.append(json.loads(line))
            if args.limit and len(entries) >= args.limit:
                break
    # Images whose expected symbols are all of unrequested formats are skipped by both sides.
    entries = [
        e
        for e in entries
        if not e.get("expected") or any(x["format"] in wanted for x in e["expected"])
    ]

    # The machine is shared and its load shifts within minutes, so one pass of each decoder
    # after the other can put them under different loads. With --rounds N the two alternate N
    # times and each image keeps its fastest time on each side (what it read is the same in
    # every round: both decoders are deterministic).
    zx_images, rx_images = None, None
    for _ in range(max(1, args.rounds)):
        zx_round = run_zxing(entries, base, zx_formats)
        rx_round = run_station(args)
        zx_images = keep_fastest(zx_images, zx_round)
        rx_images = keep_fastest(rx_images, rx_round)
    by_file = {im["file"]: im for im in zx_images}
    for im in rx_images:
        zx_im = by_file.get(im["file"], {})
        for key in ("height", "width", "tags", "difficulty"):
            im[key] = zx_im.get(key, im.get(key))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            for im in zx_images:
                fh.write(json.dumps(im) + "\n")
    zx = score(zx_images, wanted)

    rx = score(rx_images, wanted)

    print(f"manifest {args.manifest}, formats {args.formats}")
    print_scores("zxing-cpp " + getattr(zxingcpp, "__version__", ""), zx)
    print_scores("scanstation (rxing)", rx)
    ratio = rx["median_ms"] / zx["median_ms"] if zx["median_ms"] else float("nan")
    line = f"median time ratio rxing/zxing-cpp: {ratio:.2f}x"
    if zx["n_1080"] and rx["n_1080"]:
        line += f"; 1080p: {rx['median_1080_ms'] / zx['median_1080_ms']:.2f}x"
    print(line)
    print(f"recall: rxing {rx['recall']:.1f} % vs zxing-cpp {zx['recall']:.1f} %")
    print_kinds(rx, zx, args.min_symbols)


def run_station(args):
    """One `scanstation bench decode` pass over the manifest: its per-image results."""
    with tempfile.TemporaryDirectory() as tmp:
        rx_json = os.path.join(tmp, "rxing.jsonl")
        cmd = [args.bin, "bench", "decode", "--manifest", args.manifest, "--formats", args.formats,
               "--json-out", rx_json]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        if args.tune:
            cmd += ["--tune", args.tune]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout)
            print(proc.stderr, file=sys.stderr)
            sys.exit(f"scanstation bench decode failed with {proc.returncode}")
        with open(rx_json, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def keep_fastest(best, images):
    """Per image, the results of the first round with the fastest time of all rounds."""
    if best is None:
        return images
    ms = {im["file"]: im["ms"] for im in images}
    for im in best:
        im["ms"] = min(im["ms"], ms.get(im["file"], im["ms"]))
    return best


def print_kinds(rx, zx, min_symbols):
    """Recall by kind of frame, side by side; a kind where the station reads less is marked."""
    print(f"by kind of frame (kinds with at least {min_symbols} symbols; < marks a loss):")
    print(f"  {'kind':<22} {'symbols':>7} {'station':>8} {'zxing-cpp':>9}")
    losses = 0
    for kind in sorted(rx["per_kind"], key=lambda k: (k.split(" ")[0] != "difficulty", k)):
        m, n = rx["per_kind"][kind]
        zm, zn = zx["per_kind"].get(kind, (0, n))
        if n < min_symbols:
            continue
        mark = " <" if m < zm else ""
        losses += m < zm
        print(f"  {kind:<22} {n:>7} {pct(m, n):>7.1f}% {pct(zm, zn):>8.1f}%{mark}")
    print(f"kinds where the station reads less than zxing-cpp: {losses}")


if __name__ == "__main__":
    main()
