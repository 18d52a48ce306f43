r"""The paper's Table 4 with the shipped models: test NLL on binarized MNIST beside the paper's.

Evaluates every model of `prt.pretrained` on the whole test split of the
paper's benchmark (10,000 images of Salakhutdinov & Murray's binarized
MNIST) and prints a markdown table: NLL in nats per image with its standard
error, the paper's number and the gap, parameters, and the training each
model got (images seen, wall-clock, from its record).

  .venv/bin/python bench/paper_table.py --data_dir=../shared/data/binarized_mnist
"""

import argparse
import datetime
import platform

import pixel_rnn_tf as prt

# Table 4 of the paper, nats per image on the test split.
PAPER_NATS = {
    "mnist_pixel_cnn": 81.30,
    "mnist_row_lstm": 80.54,
    "mnist_diagonal_bilstm_1x32": 80.75,
    "mnist_diagonal_bilstm_7x16": 79.20,
    "mnist_gated_pixel_cnn": None,  # Not in the paper.
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="../shared/data/binarized_mnist")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    images = prt.data.load("binarized_mnist", args.split, data_dir=args.data_dir, as_numpy=True)
    print(f"binarized MNIST {args.split} ({len(images)} images), "
          f"{datetime.date.today()}, {platform.machine()}")
    print("| model | NLL (nats) | paper | gap | parameters | images seen | wall-clock (h) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in [name for name in PAPER_NATS if name in prt.pretrained.available()]:
        model = prt.pretrained.load(name)
        result = prt.evaluate(model, images, batch_size=500)
        record = prt.pretrained.record(name)
        paper = PAPER_NATS.get(name)
        gap = f"{result['nats'] - paper:+.2f}" if paper else "-"
        print(
            f"| `{name}` | {result['nats']:.2f} ± {result['nats_std_error']:.2f} | "
            f"{paper if paper else '-'} | {gap} | {model.count_params():,} | "
            f"{record['images_seen']:,} | {record['train_seconds'] / 3600:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
