r"""Images per second the input pipeline delivers vs what a training step consumes.

Both on the shared MNIST split (binarized, 8,000 training images), batch 16,
in one run; the ratio should be >= 10 so the pipeline is never the
bottleneck.

  .venv/bin/python bench/input_pipeline.py
"""

import argparse
import os
import time

import pixel_rnn_tf as prt
from pixel_rnn_tf import training


def pipeline_rate(dataset, batch_size, batches):
    iterator = iter(dataset)
    next(iterator)  # Start the prefetch threads.
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batch_size * batches / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument(
        "--data_dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
    )
    args = parser.parse_args()
    images = prt.data.load("mnist_idx", "test[:8000]", data_dir=args.data_dir, as_numpy=True)
    rows = [
        ("epoch_batches (numpy, resumable)", training.epoch_batches(images, args.batch_size, seed=0)),
        ("pairs (tf.data, cache + shuffle)", training.pairs(images, args.batch_size, 0).repeat()),
    ]
    # PixelCNN has the fastest training step (BENCHMARKS.md): the hungriest consumer.
    model = training.compile_model(prt.build_model("mnist_small_pixel_cnn"))
    batch = images[: args.batch_size]
    for _ in range(3):
        model.train_on_batch(batch, batch)
    start = time.perf_counter()
    for _ in range(20):
        model.train_on_batch(batch, batch)
    consumed = 20 * args.batch_size / (time.perf_counter() - start)
    print("| pipeline | images/s delivered | mnist_small_pixel_cnn step, images/s | ratio |")
    print("| --- | --- | --- | --- |")
    for name, dataset in rows:
        rate = pipeline_rate(dataset, args.batch_size, args.batches)
        print(f"| {name} | {rate:,.0f} | {consumed:,.0f} | {rate / consumed:.1f}x |")


if __name__ == "__main__":
    main()
