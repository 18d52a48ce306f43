"""Lossless image compression with a model's exact likelihood.

An exact likelihood is a code length: a range coder driven by the model's
conditionals writes each value in about `-log2 p(value | past)` bits, so a
file of images takes about the model's NLL (in bits) and no less. The coder
is `constriction`'s range coder (a queue: values are decoded in the order
they were encoded); the probabilities it is given are quantized by it,
deterministically, from float64 softmaxes of the model's logits.

The decoder must see the very probabilities the encoder saw, to the last
bit. A full forward pass and the one-pixel steps differ in their last float
bits (convolutions mix neighbouring inputs in other orders), so both sides
run the same thing: the model's one-pixel step protocol (`layers.stepping`,
the cached sampler's), over the same batches, on images that hold exactly
the values decoded so far and zeros after them. The encoder is the decoder
fed with the true values. Composite models (the Multi-Scale PixelRNN) are
coded in their own order through `fill_in_order`, as they are sampled.

The bytes describe themselves: a format version, the image shape, count and
`num_levels`, the batch size and XLA setting of the steps, a fingerprint of
the model's weights and of the condition, a checksum of the images and a
CRC32 of the whole. Decoding with another model or condition, or damaged or
truncated bytes, raises a `ValueError`; a wrong image is never returned.

Bit-exactness holds where the steps compute the same floats: the same
weights, software and kind of processor. Bytes are not meant to move
between machines whose kernels round differently.

```python
import pixel_rnn_tf as prt

model = prt.pretrained.load("mnist_diagonal_bilstm_7x16")
images = prt.data.load("binarized_mnist", "test[:100]", data_dir=..., as_numpy=True)
data = prt.compression.compress(model, images)       # bytes
assert (prt.compression.decompress(model, data) == images).all()
8 * len(data) / images.size                          # bits/dim, about the NLL's
```
"""

import hashlib
import json
import struct
import weakref
import zlib

import numpy as np
import tensorflow as tf

from pixel_rnn_tf import conditioning
from pixel_rnn_tf import validation
from pixel_rnn_tf.layers.stepping import pixel_at
from pixel_rnn_tf.layers.stepping import write_at

FORMAT_VERSION = 1
MAGIC = b"PRTC"
DEFAULT_BATCH_SIZE = 500
# magic, version, flags, num_levels, height, width, channels, count, batch
# size, model fingerprint, condition fingerprint, images checksum, metadata
# bytes, payload words; then the metadata, the payload, and the CRC32 of all
# before it.
_HEADER = struct.Struct("<4sBBHHHHII16s16s16sIQ")
_CRC = struct.Struct("<I")
_FLAG_JIT_COMPILE = 1
_DIGEST_BYTES = 16


def _function_config(config):
    """`config`'s dict without the recurrent layers' path: the coder runs the one-pixel
    steps, which are the same arithmetic whichever path `call` takes."""
    if isinstance(config, dict):
        return {k: _function_config(v) for k, v in config.items() if k != "implementation"}
    return config


def fingerprint(model):
    """16 bytes that identify `model`'s configuration and weights (SHA-256)."""
    config = _function_config(model.config.to_dict())
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for weight in model.weights:
        value = np.ascontiguousarray(np.asarray(weight.numpy(), np.float32))
        digest.update(weight.path.encode())
        digest.update(value.tobytes())
    return digest.digest()[:_DIGEST_BYTES]


def _digest(array):
    if array is None:
        return bytes(_DIGEST_BYTES)
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.digest()[:_DIGEST_BYTES]


def _probabilities(logits):
    """float64 softmax of float32 logits `[batch, levels]`: the same numpy arithmetic
    on both sides, so equal logits give equal probabilities."""
    logits = np.asarray(logits, np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


class _Encoder:
    """Collects each coded value with its probabilities; `words()` range-codes them."""

    def __init__(self):
        self.symbols, self.probabilities = [], []

    def __call__(self, probabilities, values):
        self.symbols.append(values.astype(np.int32))
        self.probabilities.append(probabilities)
        return values

    def words(self):
        import constriction  # Imported here: only compression needs it.

        encoder = constriction.stream.queue.RangeEncoder()
        if self.symbols:
            encoder.encode(
                np.concatenate(self.symbols),
                constriction.stream.model.Categorical(perfect=False),
                np.concatenate(self.probabilities),
            )
        return encoder.get_compressed()


class _Decoder:
    """Decodes each value from its probabilities, in the encoder's order."""

    def __init__(self, words):
        import constriction

        self.decoder = constriction.stream.queue.RangeDecoder(words)
        self.model = constriction.stream.model.Categorical(perfect=False)

    def __call__(self, probabilities, values):
        return np.asarray(self.decoder.decode(self.model, probabilities), np.int32)


class _Loop:
    """One network's coding loop: a traced graph per row, reused for every row and batch.

    A `tf.while_loop` over a row's pixels calls the network's step protocol (`initial_state`, `step` per channel,
    `end_pixel`, `end_row`) as the cached sampler does; where a value is
    coded it leaves the graph for the coder (`tf.numpy_function`) and comes
    back as the value the decoder holds. The graph keeps its loop state in
    place from pixel to pixel, which per-step calls from Python could not.
    With `jit_compile` the steps are XLA clusters inside that loop.
    """

    def __init__(self, network, jit_compile):
        self.network = network
        self.coder = None  # Set for each batch: an `_Encoder` or a `_Decoder`.
        maybe_compiled = (lambda f: tf.function(f, jit_compile=True)) if jit_compile else (
            lambda f: f
        )
        self.step = maybe_compiled(network.step)
        self.end_pixel = maybe_compiled(network.end_pixel)
        self.end_row = maybe_compiled(network.end_row)
        self.row = tf.function(self._row)

    def _code_values(self, logits, values, known):
        if known:  # The same positions in every image: nothing to code there.
            return values
        return np.asarray(self.coder(_probabilities(logits), values), np.int32)

    def run(self, truth, known, condition):
        """The coded images `[batch, H, W, C]` of one batch: a graph per row."""
        images = tf.where(known, truth, tf.zeros_like(truth))  # What the decoder has.
        state = self.network.initial_state(truth.shape[0], condition)
        for row in range(self.network.config.image_shape[0]):
            images, state = self.row(tf.constant(row), images, truth, known, state)
        return images

    def _row(self, row, images, truth, known, state):
        """Codes row `row`, pixel by pixel; returns `(images, state)` after `end_row`."""
        width, channels = self.network.config.image_shape[1:]
        batch = truth.shape[0]

        def pixel(j, images, state):
            stepped = state
            for c in range(channels):
                # Every channel steps from the state before the pixel (the protocol).
                logits, stepped = self.step(state, images, (row, j, c))
                value = tf.numpy_function(
                    self._code_values,
                    [logits, pixel_at(truth, row, j)[:, c], pixel_at(known, row, j)[0, c]],
                    tf.int32, stateful=True,
                )
                current = pixel_at(images, row, j)  # [B, C]
                value = tf.reshape(value, [batch, 1])
                updated = tf.concat([current[:, :c], value, current[:, c + 1 :]], axis=1)
                images = write_at(images, (row, j), updated)
            return j + 1, images, self.end_pixel(stepped, images, row, j)

        # One pixel at a time: the values go through the coder in order.
        _, images, state = tf.while_loop(
            lambda j, *_: j < width, pixel, (tf.constant(0), images, state),
            parallel_iterations=1,
        )
        return images, self.end_row(state, row)


def _code(model, images, condition, coder, jit_compile):
    """Runs the model's coding order over one batch; returns the coded images.

    Args:
      model: a `PixelModel` or `MultiScalePixelModel`.
      images: int32 `[batch, H, W, C]`: the true images when encoding,
        zeros when decoding.
      condition: the checked condition tensor, or None.
      coder: `_Encoder` or `_Decoder`: `coder(probabilities, values)` gives
        the values at one (pixel, channel) of the batch.
      jit_compile: compile the steps with XLA.

    Returns:
      int32 numpy images `[batch, H, W, C]`.
    """
    loops = _loops(model, jit_compile)

    def fill(network, images, known, condition, stage):
        loop = loops[network.name]
        loop.coder = coder
        return loop.run(images, known, condition)

    known = tf.zeros(images.shape, tf.bool)
    return model.fill_in_order(fill, tf.constant(images), known, condition).numpy()


# The coding loops of a model's networks, by jit_compile and network name;
# weak keys free them with the model.
_LOOPS = weakref.WeakKeyDictionary()


def _loops(model, jit_compile):
    by_setting = _LOOPS.setdefault(model, {})
    if jit_compile not in by_setting:
        networks = {}

        def collect(network, images, known, condition, stage):
            networks[network.name] = _Loop(network, jit_compile)
            return images

        shape = (1,) + model.config.image_shape
        model.fill_in_order(collect, tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool), None)
        by_setting[jit_compile] = networks
    return by_setting[jit_compile]


def _check_batch_size(batch_size):
    return validation.check_int("batch_size", batch_size, 1, 2**32 - 1)  # A header field.


def _checked_condition(model, condition, count):
    if condition is None and not getattr(model, "conditional", False):
        return None
    return np.asarray(conditioning.check(model.config, condition, count))


def _batches(count, batch_size):
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def compress(
    model, images, *, condition=None, batch_size=DEFAULT_BATCH_SIZE, jit_compile=False,
    metadata=b"",
):
    """Compresses integer images losslessly to about their NLL under `model`.

    Args:
      model: a model of `build_model` (any architecture, conditional or
        not, or multi-scale).
      images: int `[N, H, W, C]` in `[0, num_levels)`, the model's shape.
      condition: the model's condition, one per image (`conditioning`), or None.
      batch_size: images coded together; recorded, so decoding runs the
        same batches.
      jit_compile: compile the steps with XLA; recorded, so decoding
        compiles them the same way.
      metadata: bytes stored as they are (file names, say), returned by
        `read_header`.

    Returns:
      bytes: a header (see the module doc), the range coder's words and a CRC32.
    """
    config = model.config
    batch_size = _check_batch_size(batch_size)
    if not isinstance(metadata, bytes) or len(metadata) >= 2**32:
        raise ValueError(
            f"Expected `metadata` to be bytes (under 4 GiB). Received: metadata of type "
            f"{type(metadata).__name__}"
        )
    if not isinstance(jit_compile, bool):
        raise ValueError(f"Expected `jit_compile` to be a bool. Received: jit_compile={jit_compile!r}")
    images = validation.check_images(images, config.image_shape, config.num_levels).numpy()
    count = len(images)
    condition = _checked_condition(model, condition, count)
    encoder = _Encoder()
    for start, stop in _batches(count, batch_size):
        part = None if condition is None else tf.constant(condition[start:stop])
        _code(model, images[start:stop], part, encoder, jit_compile)
    words = np.asarray(encoder.words(), "<u4")
    header = _HEADER.pack(
        MAGIC, FORMAT_VERSION, _FLAG_JIT_COMPILE if jit_compile else 0, config.num_levels,
        *config.image_shape, count, batch_size, fingerprint(model), _digest(condition),
        _digest(images), len(metadata), len(words),
    )
    body = header + metadata + words.tobytes()
    return body + _CRC.pack(zlib.crc32(body))


def read_header(data):
    """The header of compressed `data` as a dict, after checking its length and CRC32.

    Raises:
      ValueError: `data` is not this format, or is damaged or truncated.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"Expected `data` to be bytes. Received: data of type {type(data).__name__}")
    data = bytes(data)
    if len(data) < _HEADER.size + _CRC.size or data[:4] != MAGIC:
        raise ValueError(
            f"Expected `data` from `compress` (starting with {MAGIC!r}, at least "
            f"{_HEADER.size + _CRC.size} bytes). Received: {len(data)} bytes starting with "
            f"{data[:4]!r}"
        )
    fields = _HEADER.unpack_from(data)
    (_, version, flags, num_levels, height, width, channels, count, batch_size,
     model_fingerprint, condition_digest, images_digest, metadata_bytes, num_words) = fields
    if version != FORMAT_VERSION:
        raise ValueError(
            f"Expected compressed data of format version {FORMAT_VERSION}. "
            f"Received: version {version}"
        )
    expected = _HEADER.size + metadata_bytes + 4 * num_words + _CRC.size
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if len(data) != expected or crc != zlib.crc32(data[: -_CRC.size]):
        raise ValueError(
            f"The compressed data is damaged or truncated: expected {expected} bytes with a "
            f"matching CRC32. Received: {len(data)} bytes"
        )
    return {
        "version": version,
        "jit_compile": bool(flags & _FLAG_JIT_COMPILE),
        "num_levels": num_levels,
        "image_shape": (height, width, channels),
        "count": count,
        "batch_size": batch_size,
        "model_fingerprint": model_fingerprint,
        "condition_digest": condition_digest,
        "images_digest": images_digest,
        "metadata": data[_HEADER.size : _HEADER.size + metadata_bytes],
        "words": np.frombuffer(
            data, "<u4", count=num_words, offset=_HEADER.size + metadata_bytes
        ),
    }


def decompress(model, data, *, condition=None):
    """The images `compress` encoded in `data`, bit-exact.

    Args:
      model: the model that compressed them (checked by its fingerprint).
      data: bytes from `compress`.
      condition: the condition they were compressed with, or None.

    Returns:
      int32 numpy images `[N, H, W, C]`.

    Raises:
      ValueError: `data` is damaged or truncated, or was made by another
        model, with another condition, or for another image shape.
    """
    header = read_header(data)
    config = model.config
    if header["image_shape"] != tuple(config.image_shape) or header["num_levels"] != (
        config.num_levels
    ):
        raise ValueError(
            f"The data holds images of shape {header['image_shape']} with "
            f"{header['num_levels']} levels; the model's are {tuple(config.image_shape)} with "
            f"{config.num_levels}. Decode it with the model that compressed it."
        )
    if header["model_fingerprint"] != fingerprint(model):
        raise ValueError(
            "The data was compressed with another model (its weights' fingerprint differs). "
            "Decode it with the model that compressed it."
        )
    count = header["count"]
    condition = _checked_condition(model, condition, count)
    if _digest(condition) != header["condition_digest"]:
        raise ValueError(
            "Expected the `condition` the data was compressed with. Received: another "
            f"condition ({'None' if condition is None else 'its fingerprint differs'})"
        )
    decoder = _Decoder(header["words"])
    images = np.zeros((count,) + tuple(config.image_shape), np.int32)
    try:
        for start, stop in _batches(count, header["batch_size"]):
            part = None if condition is None else tf.constant(condition[start:stop])
            images[start:stop] = _code(
                model, images[start:stop], part, decoder, header["jit_compile"]
            )
    except (ValueError, RuntimeError, AssertionError) as error:  # The coder ran dry.
        raise ValueError(f"The compressed data could not be decoded: {error}") from error
    if _digest(images) != header["images_digest"]:
        raise ValueError(
            "The decoded images do not match the data's checksum: the data is damaged, or "
            "the model computes other probabilities than when it was compressed (another "
            "machine or software version)."
        )
    return images
