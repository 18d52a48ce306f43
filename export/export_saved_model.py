r"""The export CLI at its older path: `pixel_rnn_tf/cli/export.py`, same flags.

  python export/export_saved_model.py --model=runs/demo \
      --export_base=runs/demo/export

is `pixel-rnn-export` (or `python -m pixel_rnn_tf.cli.export`) with the same
flags; see that module and `export/README.md`.
"""

from pixel_rnn_tf.cli import export

if __name__ == "__main__":
    export.run()
