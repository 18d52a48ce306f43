"""Splits in tfds's slicing syntax, for every data set, and slicing by them.

`"train"`, `"test[:8000]"`, `"test[8000:]"`, `"train[10%:]"`, `"train[:50%]"`:
a split's name with an optional slice of image counts or percentages.
"""

import re

_SPLIT_PATTERN = re.compile(r"(\w+)(?:\[((?:-?\d+)?)(%?):((?:-?\d+)?)(%?)\])?")
_SPLIT_EXAMPLES = "'train', 'test[:8000]', 'test[8000:]', 'train[10%:]' or 'train[:50%]'"


def parse_split(split):
    """Parses a split in tfds's slicing syntax.

    Args:
      split: a split name with an optional slice of image counts or
        percentages, e.g. "test", "test[:8000]", "test[8000:]", "train[10%:]".

    Returns:
      `(name, start, stop, unit)`: the split's name, the slice's bounds (ints,
      or None where left out) and its unit, "abs" for image counts or "%".
    """
    match = _SPLIT_PATTERN.fullmatch(split) if isinstance(split, str) else None
    if match is None:
        raise ValueError(f"Expected `split` like {_SPLIT_EXAMPLES}. Received: split={split!r}")
    name, start, start_percent, stop, stop_percent = match.groups()
    start = int(start) if start else None
    stop = int(stop) if stop else None
    # A bare '%' ("train[%:]") or mixed units ("train[10%:500]") is ambiguous.
    if (start_percent and start is None) or (stop_percent and stop is None):
        raise ValueError(f"Expected a number before '%'. Received: split={split!r}")
    if start is not None and stop is not None and start_percent != stop_percent:
        raise ValueError(f"Expected both slice bounds in the same unit. Received: split={split!r}")
    unit = "%" if start_percent or stop_percent else "abs"
    if unit == "%" and any(abs(bound) > 100 for bound in (start, stop) if bound is not None):
        raise ValueError(f"Expected percentages in [-100, 100]. Received: split={split!r}")
    return name, start, stop, unit


def parse_split_of(name, split, split_names):
    """`parse_split` of a split of a locally read data set, its name checked.

    Args:
      name: the data set's name, for the message.
      split: as in `parse_split`.
      split_names: the split names the data set has.
    """
    split_name, start, stop, unit = parse_split(split)
    expected = sorted(split_names)
    if split_name not in expected:
        # A folder's one split is all of its images: slicing is how to hold some out.
        hint = (
            " (all of the folder's images; slice it, e.g. 'train[:90%]' and 'train[90%:]')"
            if expected == ["train"] else ""
        )
        raise ValueError(
            f"Unknown split name for name={name!r}. Expected one of {expected}{hint}. "
            f"Received: split={split!r}"
        )
    return split_name, start, stop, unit


def slice_split(images, start, stop, unit):
    """Slices `images` `[num_images, ...]` along the first axis as tfds does.

    Args:
      images: an array `[num_images, ...]`, a whole split.
      start, stop, unit: as `parse_split` returns them.

    Returns:
      The array `[num_sliced, ...]`.
    """
    if unit == "%":
        # tfds's "closest" rounding, so that a slice selects what tfds would.
        start = None if start is None else round(start * len(images) / 100)
        stop = None if stop is None else round(stop * len(images) / 100)
    return images[start:stop]
