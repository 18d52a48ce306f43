r"""Lossless compression of the binarized MNIST test set: the shipped models against the codecs.

For each model: the size of `prt.compression.compress`'s file in bits per
dimension beside the model's NLL in bits per dimension (the limit a coder
driven by it can reach), and encode and decode speed. Beside them, the
standard lossless codecs on the same images:

* PNG and WebP lossless (Pillow);
* JPEG XL lossless, `cjxl -d 0 -e 9` (Debian's `libjxl-tools`);
* JBIG, `pbmtojbg` (Debian's `jbigkit-bin`), the context-model arithmetic
  coder made for bilevel images.

"As one set" codes all images as one 2800x2800 bilevel image for the
codecs (100 x 100 tiles, so headers do not count) and as one file for
ours; "per image" codes `--per_image` images one file each and averages.
A missing codec is skipped with a note: `apt-get install libjxl-tools
jbigkit-bin` installs both.

  .venv/bin/python bench/compression.py --data_dir=../shared/data/binarized_mnist
  .venv/bin/python bench/compression.py --count=500 --models=mnist_pixel_cnn   # a quick run
"""

import argparse
import datetime
import io
import os
import platform
import shutil
import subprocess
import tempfile
import time

import numpy as np
from PIL import Image

import pixel_rnn_tf as prt
from pixel_rnn_tf import compression


def _tile(images):
    """`[N, 28, 28, 1]` binary -> one `[28 * r, 28 * r]` bool mosaic (r = ceil(sqrt(N)))."""
    side = int(np.ceil(np.sqrt(len(images))))
    padded = np.zeros((side * side,) + images.shape[1:3], bool)
    padded[: len(images)] = images[..., 0].astype(bool)
    return padded.reshape(side, side, 28, 28).transpose(0, 2, 1, 3).reshape(side * 28, side * 28)


def _pillow_bytes(bitmap, format, **options):
    buffer = io.BytesIO()
    Image.fromarray(np.where(bitmap, 255, 0).astype(np.uint8)).convert("1" if format == "PNG" else "L").save(
        buffer, format, **options
    )
    return len(buffer.getvalue())


def _tool_bytes(bitmap, tool, command, suffix):
    """Bytes of `command` (input, output) on `bitmap` written as a PBM or PNG file, or None."""
    if shutil.which(tool) is None:
        return None
    with tempfile.TemporaryDirectory() as directory:
        source = os.path.join(directory, "in" + suffix)
        target = os.path.join(directory, "out")
        # PBM's 1 is black; a grayscale PNG's ink is 255.
        pixels = np.where(bitmap, 0, 255) if suffix == ".pbm" else np.where(bitmap, 255, 0)
        image = Image.fromarray(pixels.astype(np.uint8))
        (image.convert("1") if suffix == ".pbm" else image).save(source)
        subprocess.run(command(source, target), check=True, capture_output=True)
        return os.path.getsize(target)


CODECS = {
    "PNG": lambda b: _pillow_bytes(b, "PNG", optimize=True),
    "WebP lossless": lambda b: _pillow_bytes(b, "WEBP", lossless=True, quality=100, method=6),
    "JPEG XL lossless (cjxl -d 0 -e 9)": lambda b: _tool_bytes(
        b, "cjxl", lambda s, t: ["cjxl", "-d", "0", "-e", "9", "--quiet", s, t], ".png"
    ),
    "JBIG (pbmtojbg)": lambda b: _tool_bytes(b, "pbmtojbg", lambda s, t: ["pbmtojbg", s, t], ".pbm"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="../shared/data/binarized_mnist")
    parser.add_argument("--models", default="mnist_diagonal_bilstm_7x16")
    parser.add_argument("--count", type=int, default=10_000, help="Test images, from the first.")
    parser.add_argument("--per_image", type=int, default=50, help="Images coded one file each.")
    parser.add_argument("--batch_size", type=int, default=compression.DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    images = prt.data.load(
        "binarized_mnist", f"test[:{args.count}]", data_dir=args.data_dir, as_numpy=True
    )
    dims = images.size
    one = images[: args.per_image]
    print(f"binarized MNIST test[:{len(images)}], {datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores")
    print("| coder | one set (bits/dim) | per image (bits/dim) | model NLL (bits/dim) "
          "| encode (images/s) | decode (images/s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    mosaic = _tile(images)
    for codec, size in CODECS.items():
        total = size(mosaic)
        if total is None:
            print(f"| {codec} | skipped: not installed | | | | |")
            continue
        each = np.mean([size(image[..., 0].astype(bool)) for image in one])
        print(f"| {codec} | {8 * total / dims:.4f} | {8 * each / one[0].size:.4f} | | | |",
              flush=True)
    for name in filter(None, args.models.split(",")):
        model = prt.pretrained.load(name)
        nll = prt.evaluate(model, images, batch_size=500)["bits_per_dim"]
        start = time.perf_counter()
        data = compression.compress(model, images, batch_size=args.batch_size)
        encode = time.perf_counter() - start
        start = time.perf_counter()
        decoded = compression.decompress(model, data)
        decode = time.perf_counter() - start
        if not np.array_equal(decoded, images):
            raise AssertionError(f"{name}: the round trip is not exact")
        each = np.mean([len(compression.compress(model, image[None])) for image in one])
        print(
            f"| `{name}` (prt.compression) | {8 * len(data) / dims:.4f} | "
            f"{8 * each / one[0].size:.4f} | {nll:.4f} | {len(images) / encode:.1f} | "
            f"{len(images) / decode:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
