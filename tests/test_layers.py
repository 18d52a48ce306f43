"""Keras layers: references, serialization and argument checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pixel_rnn_tf import layers
from pixel_rnn_tf import masking
from pixel_rnn_tf.layers import stepping
from helpers import LAYERS


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _lstm_update(gates, cell):
    o, f, i, g = np.split(gates, 4, axis=-1)
    cell = _sigmoid(f) * cell + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(cell), cell


def _randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(0, 0.5, weight.shape).astype(np.float32))
    return layer


def _conv_same(x, kernel, bias):
    """numpy 'same' convolution `[B, H, W, F] x [kh, kw, F, G]`."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, [(0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)])
    out = np.zeros(x.shape[:3] + (kernel.shape[3],))
    for di in range(kh):
        for dj in range(kw):
            window = padded[:, di : di + x.shape[1], dj : dj + x.shape[2]]
            out += window @ kernel[di, dj]
    return out + bias


def test_lstm_update_matches_equations():
    rng = np.random.default_rng(0)
    gates, cell = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 3, 2))
    hidden, new_cell = layers.lstm_update(tf.constant(gates), tf.constant(cell))
    expected_hidden, expected_cell = _lstm_update(gates, cell)
    np.testing.assert_allclose(hidden, expected_hidden, rtol=1e-6)
    np.testing.assert_allclose(new_cell, expected_cell, rtol=1e-6)


@pytest.mark.parametrize(
    "kernel_size,mask_type,channels",
    [
        (3, "A", 3), ((1, 3), "B", 1), ((1, 5), "A", 3), ((3, 5), "B", 3), (7, "B", 3),
        (1, "A", 3), (1, "B", 1),
    ],
)
def test_masked_conv_matches_reference(kernel_size, mask_type, channels):
    """The whole "same" convolution, though `call` computes only the live taps (or a matmul)."""
    x = np.random.default_rng(1).normal(size=(2, 5, 6, 6)).astype(np.float32)
    layer = _randomize(layers.MaskedConv2D(9, kernel_size, mask_type, channels))
    layer.build(x.shape)
    _randomize(layer)
    mask = masking.kernel_mask(
        kernel_size, masking.color_groups(6, channels), masking.color_groups(9, channels), mask_type
    )
    # The taps `call` skips are zero under every mask.
    live_height, live_width = layer.live_kernel_size
    assert not mask[live_height:].any() and not mask[:, live_width:].any()
    expected = _conv_same(x, layer.kernel.numpy() * mask, layer.bias.numpy())
    np.testing.assert_allclose(layer(x), expected, atol=1e-4)


def test_pointwise_is_the_convolutions_concatenated():
    from pixel_rnn_tf.layers.masked_conv import pointwise

    x = tf.constant(np.random.default_rng(2).normal(size=(2, 3, 4, 6)).astype(np.float32))
    convs = [
        layers.MaskedConv2D(8, 1, "B", 3, output_blocks=4),
        layers.MaskedConv2D(3, 1, "A", 3, use_bias=False),
        layers.MaskedConv2D(6, 1, "B", 3),
    ]
    for seed, conv in enumerate(convs):
        conv.build(x.shape)
        _randomize(conv, seed)
    expected = np.concatenate([conv(x) for conv in convs], axis=-1)
    np.testing.assert_allclose(pointwise(x, convs), expected, atol=1e-5)
    wide = layers.MaskedConv2D(3, (1, 3), name="wide")
    wide.build(x.shape)
    with pytest.raises(ValueError, match=r"wide with kernel_size=\(1, 3\)"):
        pointwise(x, [convs[0], wide])


def test_masked_conv_mask_holds_after_training_step():
    layer = layers.MaskedConv2D(3, 3, "A", 3)
    x = tf.random.stateless_normal([1, 4, 4, 3], seed=[1, 2])
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradient = tape.gradient(loss, layer.kernel)
    # Masked weights get no gradient: the mask is applied in call().
    assert np.all(gradient.numpy()[layer.mask == 0] == 0)


def row_lstm_reference(layer, x):
    """Row LSTM by explicit loops over rows (§3.1)."""
    gates_x = _conv_same(
        x, layer.input_to_state.masked_kernel.numpy(), layer.input_to_state.bias.numpy()
    )
    batch, height, width, _ = x.shape
    kernel = layer.state_kernel.numpy()  # [k, h, 4h]
    half = kernel.shape[0] // 2
    hidden = np.broadcast_to(layer.initial_hidden.numpy(), (batch, width, layer.units))
    cell = np.broadcast_to(layer.initial_cell.numpy(), (batch, width, layer.units))
    outputs = []
    for i in range(height):
        padded = np.pad(hidden, [(0, 0), (half, half), (0, 0)])
        state_gates = sum(padded[:, d : d + width] @ kernel[d] for d in range(kernel.shape[0]))
        hidden, cell = _lstm_update(gates_x[:, i] + state_gates, cell)
        outputs.append(hidden)
    return np.stack(outputs, axis=1)


def diagonal_lstm_reference(layer, x):
    """Diagonal LSTM by explicit loops over the skewed map's columns (§3.2)."""
    gates_x = _conv_same(
        x, layer.input_to_state.masked_kernel.numpy(), layer.input_to_state.bias.numpy()
    )
    batch, height, width, _ = x.shape
    skewed = np.zeros((batch, height, width + height - 1, gates_x.shape[-1]))
    for r in range(height):
        skewed[:, r, r : r + width] = gates_x[:, r]
    kernel = layer.state_kernel.numpy()  # [2, h, 4h]: upper row, current row.
    hidden = np.broadcast_to(layer.initial_hidden.numpy(), (batch, height, layer.units))
    cell = np.broadcast_to(layer.initial_cell.numpy(), (batch, height, layer.units))
    columns = []
    for s in range(width + height - 1):
        upper = np.concatenate([np.zeros_like(hidden[:, :1]), hidden[:, :-1]], axis=1)
        hidden, cell = _lstm_update(skewed[:, :, s] + upper @ kernel[0] + hidden @ kernel[1], cell)
        columns.append(hidden)
    skewed_out = np.stack(columns, axis=2)
    return np.stack([skewed_out[:, r, r : r + width] for r in range(height)], axis=1)


IMPLEMENTATIONS = ("reference", "fused")


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("channels,batch", [(1, 2), (3, 2), (1, 1), (3, 3)])
def test_row_lstm_matches_reference(channels, batch, implementation):
    # Odd batches and one image: the fused path runs two halves of the batch.
    x = np.random.default_rng(2).normal(size=(batch, 4, 5, 6)).astype(np.float32)
    layer = layers.RowLSTM(3 if channels == 3 else 2, channels, implementation=implementation)
    layer.build(x.shape)
    _randomize(layer)
    np.testing.assert_allclose(layer(x), row_lstm_reference(layer, x), atol=1e-4)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("hw", [(4, 5), (5, 3), (1, 4), (3, 1)])
def test_diagonal_lstm_matches_reference(hw, implementation):
    x = np.random.default_rng(3).normal(size=(2,) + hw + (6,)).astype(np.float32)
    layer = layers.DiagonalLSTM(3, 3, implementation=implementation)
    layer.build(x.shape)
    _randomize(layer)
    np.testing.assert_allclose(layer(x), diagonal_lstm_reference(layer, x), atol=1e-4)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_diagonal_bilstm_is_left_plus_shifted_mirrored_right(implementation):
    x = np.random.default_rng(4).normal(size=(1, 4, 5, 6)).astype(np.float32)
    layer = layers.DiagonalBiLSTM(3, 3, implementation=implementation)
    layer.build(x.shape)
    _randomize(layer)
    left = diagonal_lstm_reference(layer.left_to_right, x)
    right = diagonal_lstm_reference(layer.right_to_left, x[:, :, ::-1])[:, :, ::-1]
    expected = left.copy()
    expected[:, 1:] += right[:, :-1]  # Shifted down one row (§3.2).
    np.testing.assert_allclose(layer(x), expected, atol=1e-4)


@pytest.mark.parametrize("cls,kwargs", LAYERS, ids=[cls.__name__ for cls, _ in LAYERS])
def test_layer_round_trip(cls, kwargs, tmp_path):
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 6)).astype(np.float32)
    layer = cls(**kwargs)
    layer.build(x.shape)
    _randomize(layer)
    expected = layer(x).numpy()
    clone = cls.from_config(layer.get_config())
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), expected, atol=1e-6)
    # `.keras` round trip, safe mode: the registered name is enough.
    model = keras.Sequential([keras.Input((3, 4, 6)), layer])
    model.save(tmp_path / "layer.keras")
    reloaded = keras.saving.load_model(tmp_path / "layer.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded(x), expected, atol=1e-6)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: layers.MaskedConv2D(0, 3), "filters=0"),
        (lambda: layers.MaskedConv2D(4, 2), "kernel_size=2"),
        (lambda: layers.MaskedConv2D(4, -3), "kernel_size=-3"),
        (lambda: layers.MaskedConv2D(4, 3, mask_type="C"), "mask_type='C'"),
        (lambda: layers.MaskedConv2D(4, 3, color_channels=2), "color_channels=2"),
        (lambda: layers.RowLSTM(0), "units=0"),
        (lambda: layers.RowLSTM(4, kernel_width=2), "kernel_width=2"),
        (lambda: layers.RowLSTM(4, color_channels=4), "color_channels=4"),
        (lambda: layers.DiagonalLSTM(-1), "units=-1"),
        (lambda: layers.DiagonalBiLSTM(0), "units=0"),
        (lambda: layers.DiagonalBiLSTM(4, color_channels=2), "color_channels=2"),
        (lambda: layers.RowLSTM(4, implementation="cudnn"), "implementation='cudnn'"),
        (lambda: layers.DiagonalLSTM(4, implementation=None), "implementation=None"),
        (lambda: layers.DiagonalBiLSTM(4, implementation="Fused"), "implementation='Fused'"),
        (lambda: layers.PixelCNNBlock(0), "hidden_units=0"),
        (lambda: layers.PixelCNNBlock(4, kernel_size=4), "kernel_size=4"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


STEPPING_LAYERS = [
    (layers.MaskedConv2D, dict(filters=6, kernel_size=7, mask_type="A", color_channels=3)),
    (layers.MaskedConv2D, dict(filters=6, kernel_size=(3, 5), mask_type="B", color_channels=3)),
    (layers.MaskedConv2D, dict(filters=6, kernel_size=1, mask_type="B", color_channels=1)),
    (layers.RowLSTM, dict(units=3, color_channels=3, kernel_width=5)),
    (layers.DiagonalBiLSTM, dict(units=3, color_channels=3)),
    (layers.PixelCNNBlock, dict(hidden_units=3, color_channels=3)),
    (layers.RowLSTMBlock, dict(hidden_units=3, color_channels=3)),
    (layers.DiagonalBiLSTMBlock, dict(hidden_units=3, color_channels=1)),
    (layers.OutputStack, dict(output_units=6, num_levels=4, color_channels=3)),
]


@pytest.mark.parametrize(
    "cls,kwargs", STEPPING_LAYERS, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(STEPPING_LAYERS)]
)
def test_one_pixel_steps_equal_call(cls, kwargs):
    """Each layer's own step, over a map in raster order, gives its `call` (stepping)."""
    x = np.random.default_rng(6).normal(size=(2, 4, 5, 6)).astype(np.float32)
    layer = cls(**kwargs)
    layer.build(x.shape)
    _randomize(layer)
    expected = layer(x).numpy()
    cache = layer.initial_cache(tf.constant(x[:, 0, 0]), width=5)
    for i in range(4):
        for j in range(5):
            i_, j_ = tf.constant(i), tf.constant(j)
            # A pixel is stepped once per channel, each time from the cache
            # before the pixel, and the last step's cache is kept: an earlier
            # channel's step must leave `cache` as it was.
            layer.step(cache, tf.constant(x[:, i, j] * 0.5), i_, j_)
            outputs, cache = layer.step(cache, tf.constant(x[:, i, j]), i_, j_)
            np.testing.assert_allclose(outputs, expected[:, i, j], atol=1e-5)
        if isinstance(layer, stepping.Composite):
            _, cache = layer.end_row(cache, tf.constant(i), tf.constant(x[:, 0, 0]))
        else:
            cache = layer.end_row(cache, tf.constant(i))


@pytest.mark.parametrize("hw", [(4, 5), (5, 3)])
def test_diagonal_entering_states_follow_the_skew_padding(hw):
    """Row r's first pixel enters from the recurrence over r padding cells."""
    height = hw[0]
    layer = layers.DiagonalLSTM(3, 1)
    layer.build((1,) + hw + (2,))
    _randomize(layer)
    hidden, _ = layer.entering_states(height)
    # The skew pads the gates with zeros: padding cells see only their neighbours.
    kernel = layer.state_kernel.numpy()
    state = np.broadcast_to(layer.initial_hidden.numpy(), (height, 3))
    cell = np.broadcast_to(layer.initial_cell.numpy(), (height, 3))
    expected = [state[0]]
    for s in range(height - 1):
        upper = np.concatenate([np.zeros((1, 3)), state[:-1]])
        state, cell = _lstm_update(upper @ kernel[0] + state @ kernel[1], cell)
        expected.append(state[s + 1])
    np.testing.assert_allclose(hidden, np.stack(expected), atol=1e-5)


RECURRENT_LAYERS = [
    (layers.RowLSTM, dict(units=3, color_channels=3)),
    (layers.DiagonalLSTM, dict(units=2, color_channels=1)),
    (layers.DiagonalBiLSTM, dict(units=3, color_channels=3)),
    (layers.RowLSTMBlock, dict(hidden_units=3, color_channels=3)),
    (layers.DiagonalBiLSTMBlock, dict(hidden_units=3, color_channels=1)),
]


@pytest.mark.parametrize("hw", [(4, 5), (5, 2)])
@pytest.mark.parametrize("cls,kwargs", RECURRENT_LAYERS[:3], ids=lambda v: getattr(v, "__name__", ""))
def test_reference_and_fused_paths_agree_with_their_gradients(cls, kwargs, hw):
    """The same weights give the same outputs and gradients on both paths, in a graph."""
    x = tf.constant(np.random.default_rng(7).normal(size=(3,) + hw + (6,)).astype(np.float32))
    reference, fused = (cls(**kwargs, implementation=name) for name in IMPLEMENTATIONS)
    for layer in (reference, fused):
        layer.build(x.shape)
    _randomize(reference)
    fused.set_weights(reference.get_weights())

    @tf.function
    def outputs_and_gradients(layer, inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs)
            loss = tf.reduce_sum(outputs * tf.sin(outputs))
        return outputs, tape.gradient(loss, [inputs] + layer.trainable_weights)

    expected = outputs_and_gradients(reference, x)
    actual = outputs_and_gradients(fused, x)
    for expected_value, actual_value in zip(tf.nest.flatten(expected), tf.nest.flatten(actual)):
        np.testing.assert_allclose(actual_value, expected_value, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,kwargs", RECURRENT_LAYERS, ids=lambda v: getattr(v, "__name__", ""))
def test_implementation_round_trips(cls, kwargs, tmp_path):
    x = np.random.default_rng(8).normal(size=(2, 3, 4, 6)).astype(np.float32)
    layer = cls(**kwargs, implementation="fused")
    assert layer.get_config()["implementation"] == "fused"
    assert cls(**kwargs).get_config()["implementation"] == "auto"
    assert cls.from_config(layer.get_config()).implementation == "fused"
    model = keras.Sequential([keras.Input((3, 4, 6)), layer])
    _randomize(layer)
    model.save(tmp_path / "layer.keras")
    reloaded = keras.saving.load_model(tmp_path / "layer.keras", safe_mode=True)
    assert reloaded.layers[0].implementation == "fused"
    np.testing.assert_allclose(reloaded(x), model(x), atol=1e-6)


@pytest.mark.parametrize("lead, mirrored", [((), None), ((), (True,)), ((2,), (False, True))])
def test_diagonals_hold_their_pixels_and_round_trip(lead, mirrored):
    from pixel_rnn_tf.layers.diagonal_recurrences import from_diagonals
    from pixel_rnn_tf.layers.diagonal_recurrences import to_diagonals

    height, width = 4, 5
    x = np.random.default_rng(6).normal(size=(2, height, width) + lead + (3,)).astype(np.float32)
    diagonals = to_diagonals(tf.constant(x), mirrored)
    assert len(diagonals) == height + width - 1
    # [*lead, batch, H, W, 3], each lead block mirrored where asked.
    blocks = np.moveaxis(x.reshape((2, height, width, -1, 3)), 3, 0)
    flags = mirrored or (False,) * len(blocks)
    images = np.stack([b[:, :, ::-1] if flag else b for b, flag in zip(blocks, flags)])
    for d, diagonal in enumerate(diagonals):
        rows = range(max(0, d - width + 1), min(height - 1, d) + 1)
        expected = np.stack([images[:, :, i, d - i] for i in rows], axis=1)  # [blocks, len, B, 3]
        np.testing.assert_array_equal(np.reshape(diagonal, expected.shape), expected)
    np.testing.assert_array_equal(from_diagonals(diagonals, height, width, mirrored), x)
    # The gradient of the round trip is the identity.
    with tf.GradientTape() as tape:
        inputs = tf.constant(x)
        tape.watch(inputs)
        outputs = from_diagonals(to_diagonals(inputs, mirrored), height, width, mirrored)
    upstream = np.random.default_rng(7).normal(size=x.shape).astype(np.float32)
    gradient = tape.gradient(outputs, inputs, output_gradients=upstream)
    np.testing.assert_array_equal(gradient, upstream)
    with pytest.raises(ValueError, match=r"one `mirrored` flag per lead block"):
        to_diagonals(tf.constant(x), (False,) * (len(blocks) + 1))


def test_a_new_architecture_is_one_registered_block():
    """A block subclass, registered, builds, trains and samples exactly (no sampler change)."""
    import pixel_rnn_tf as prt
    from pixel_rnn_tf import sampling
    from pixel_rnn_tf.layers import blocks

    @blocks.register_block("test_wide_row_lstm")
    class WideRowLSTMBlock(layers.RowLSTMBlock):
        @classmethod
        def from_model_config(cls, config, **kwargs):
            return super().from_model_config(config, **kwargs)  # kernel_width = kernel_size

    assert "test_wide_row_lstm" in blocks.architectures()
    config = prt.ModelConfig(arch="test_wide_row_lstm", image_shape=(3, 4, 3), num_levels=4,
                             num_layers=2, hidden_units=3, output_units=6, kernel_size=5)
    model = prt.build_model(config)
    for weight in model.weights:
        weight.assign(np.random.default_rng(0).normal(0, 0.3, weight.shape))
    assert model.blocks[0].lstm.kernel_width == 5
    naive = sampling.sample(model, 2, seed=(1, 1), method="naive")
    np.testing.assert_array_equal(sampling.sample(model, 2, seed=(1, 1), jit_compile=False), naive)
    with pytest.raises(ValueError, match="already registered"):
        blocks.register_block("row_lstm")(WideRowLSTMBlock)


@pytest.mark.parametrize(
    "cls,kwargs",
    [(layers.MaskedConv2D, dict(filters=np.int64(6), kernel_size=(1, 3))),
     (layers.RowLSTM, dict(units=np.int32(3))),
     (layers.PixelCNNBlock, dict(hidden_units=np.int64(3))),
     (layers.VerticalConv2D, dict(filters=np.int64(4), kernel_width=3, rows=np.int32(2)))],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_numpy_integer_sizes_give_a_json_config(cls, kwargs):
    """A size given as a NumPy integer is held as a Python int: the config serializes to JSON."""
    import json

    config = cls(**kwargs).get_config()
    assert json.loads(json.dumps(config))["name"] == config["name"]
    for name in kwargs:
        if name in config and not isinstance(kwargs[name], tuple):
            assert type(config[name]) is int
