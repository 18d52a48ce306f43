"""skew / unskew / shifts of the Diagonal BiLSTM (§3.2), and `slice_along`."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

import helpers
import pixel_rnn_tf as prt
from pixel_rnn_tf import ops

SHAPES = dict(
    batch=st.integers(1, 3),
    height=st.integers(1, 6),
    width=st.integers(1, 6),
    channels=st.integers(1, 3),
)


def skew_reference(x):
    """Row `i` of `x` written at columns `i .. i + width - 1`, one row at a time."""
    batch, height, width, channels = x.shape
    out = np.zeros((batch, height, width + height - 1, channels), x.dtype)
    for i in range(height):
        for j in range(width):
            out[:, i, i + j] = x[:, i, j]
    return out


def shift_reference(x, amount, axis):
    out = np.zeros_like(x)
    size = x.shape[axis]
    for k in range(amount, size):
        target = [slice(None)] * 4
        source = [slice(None)] * 4
        target[axis], source[axis] = k, k - amount
        out[tuple(target)] = x[tuple(source)]
    return out


def random_images(shape, seed=0):
    # 1 + |normal|: no pixel is zero, so the padding is told apart from them.
    return (1.0 + np.abs(np.random.default_rng(seed).normal(size=shape))).astype(np.float32)


@settings(deadline=None, max_examples=30, derandomize=True)
@given(**SHAPES)
def test_skew_matches_reference_and_round_trips(batch, height, width, channels):
    x = random_images((batch, height, width, channels))
    skewed = ops.skew(x)
    assert skewed.shape == (batch, height, width + height - 1, channels)
    np.testing.assert_array_equal(skewed.numpy(), skew_reference(x))
    np.testing.assert_array_equal(ops.unskew(skewed, width=width).numpy(), x)


@settings(deadline=None, max_examples=30, derandomize=True)
@given(**SHAPES, amount=st.integers(0, 7))
def test_shifts_match_reference(batch, height, width, channels, amount):
    x = random_images((batch, height, width, channels))
    np.testing.assert_array_equal(ops.shift_down(x, rows=amount), shift_reference(x, amount, 1))
    np.testing.assert_array_equal(ops.shift_right(x, cols=amount), shift_reference(x, amount, 2))


def test_pixel_lands_on_its_diagonal_and_padding_is_zero():
    x = np.arange(1, 13, dtype=np.int32).reshape(1, 3, 4, 1)
    skewed = ops.skew(x).numpy()[0, :, :, 0]
    assert skewed.shape == (3, 6)
    for i in range(3):
        for j in range(4):
            assert skewed[i, i + j] == x[0, i, j, 0]
    padding = np.ones(skewed.shape, bool)
    for i in range(3):
        padding[i, i : i + 4] = False
    assert (skewed[padding] == 0).all()  # Exactly zero, not just small.
    np.testing.assert_array_equal(
        skewed,
        [[1, 2, 3, 4, 0, 0], [0, 5, 6, 7, 8, 0], [0, 0, 9, 10, 11, 12]],
    )


def test_unskew_ignores_values_outside_the_diagonal_band():
    y = np.full((2, 3, 6, 1), 7.0, np.float32)  # Non-zero where skew writes zeros.
    np.testing.assert_array_equal(ops.unskew(y, width=4), np.full((2, 3, 4, 1), 7.0))


@pytest.mark.parametrize("dtype", [tf.float16, tf.float64, tf.int32, tf.uint8, tf.bool])
def test_any_dtype(dtype):
    x = tf.cast(np.arange(24).reshape(2, 3, 4, 1) % 5, dtype)
    skewed = ops.skew(x)
    assert skewed.dtype == dtype
    np.testing.assert_array_equal(skewed, skew_reference(x.numpy()))
    np.testing.assert_array_equal(ops.unskew(skewed, width=4), x)
    np.testing.assert_array_equal(ops.shift_down(x), shift_reference(x.numpy(), 1, 1))


def test_dynamic_batch_in_tf_function():
    skew = tf.function(ops.skew, input_signature=[tf.TensorSpec([None, 3, 4, 2], tf.float32)])
    unskew = tf.function(
        lambda y: ops.unskew(y, width=4),
        input_signature=[tf.TensorSpec([None, 3, 6, 2], tf.float32)],
    )
    shift = tf.function(ops.shift_down, input_signature=[tf.TensorSpec([None, 3, 4, 2])])
    # Static shapes survive: only the batch size is unknown.
    assert skew.get_concrete_function().structured_outputs.shape.as_list() == [None, 3, 6, 2]
    assert unskew.get_concrete_function().structured_outputs.shape.as_list() == [None, 3, 4, 2]
    assert shift.get_concrete_function().structured_outputs.shape.as_list() == [None, 3, 4, 2]
    for batch in (1, 5):
        x = random_images((batch, 3, 4, 2), seed=batch)
        np.testing.assert_array_equal(skew(x), skew_reference(x))
        np.testing.assert_array_equal(unskew(skew(x)), x)
        np.testing.assert_array_equal(shift(x), shift_reference(x, 1, 1))


def test_constant_number_of_ops():
    def num_ops(height):
        spec = tf.TensorSpec([None, height, 5, 2], tf.float32)
        graph = (
            tf.function(lambda x: ops.unskew(ops.skew(x), width=5))
            .get_concrete_function(spec)
            .graph
        )
        return len(graph.get_operations())

    assert num_ops(2) == num_ops(40)  # No loop over rows.


def test_gradients():
    x = tf.Variable(random_images((2, 3, 5, 1), seed=1))
    weights = random_images((2, 3, 7, 1), seed=2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ops.skew(x) * weights)
    # Each pixel is used once, at its skewed position.
    np.testing.assert_array_equal(tape.gradient(loss, x), ops.unskew(weights, width=5))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ops.unskew(ops.skew(x), width=5) * 2.0)
    np.testing.assert_array_equal(tape.gradient(loss, x), np.full(x.shape, 2.0))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ops.shift_down(x))
    # The last row falls off the bottom.
    np.testing.assert_array_equal(tape.gradient(loss, x)[:, :, :, 0], [[[1] * 5] * 2 + [[0] * 5]] * 2)


def test_xla():
    x = random_images((2, 3, 5, 1), seed=1)

    @tf.function(jit_compile=True)
    def compiled(v):
        skewed = ops.skew(v)
        return skewed, ops.unskew(skewed + 1.0, width=5), ops.shift_down(v), ops.shift_right(v, 2)

    skewed, unskewed, down, right = compiled(tf.constant(x))
    np.testing.assert_array_equal(skewed, skew_reference(x))
    np.testing.assert_allclose(unskewed, x + 1.0, rtol=1e-6)
    np.testing.assert_array_equal(down, shift_reference(x, 1, 1))
    np.testing.assert_array_equal(right, shift_reference(x, 2, 2))


def test_shifts():
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 2, 3, 1)
    np.testing.assert_array_equal(ops.shift_down(x)[0, :, :, 0], [[0, 0, 0], [1, 2, 3]])
    np.testing.assert_array_equal(ops.shift_right(x)[0, :, :, 0], [[0, 1, 2], [0, 4, 5]])
    np.testing.assert_array_equal(ops.shift_right(x, cols=2)[0, :, :, 0], [[0, 0, 1], [0, 0, 4]])
    np.testing.assert_array_equal(ops.shift_down(x, rows=0), x)
    np.testing.assert_array_equal(ops.shift_down(x, rows=5), np.zeros_like(x))


def test_dynamic_height_or_width_is_rejected():
    for shape, name in (([None, None, 4, 1], "x"), ([None, 3, None, 1], "x")):

        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
        def skew(x):
            return ops.skew(x)

        with pytest.raises(ValueError, match=r"static height and width.*x.shape="):
            skew.get_concrete_function()

    @tf.function(input_signature=[tf.TensorSpec([None, 3, None, 1], tf.float32)])
    def unskew(y):
        return ops.unskew(y, width=4)

    with pytest.raises(ValueError, match=r"static height and width.*y.shape="):
        unskew.get_concrete_function()


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: ops.skew(np.zeros((3, 4, 1))), r"rank-4.*x.shape=\(3, 4, 1\)"),
        (lambda: ops.skew(np.zeros((1, 1, 3, 4, 1))), r"rank-4.*x.shape=\(1, 1, 3, 4, 1\)"),
        (lambda: ops.unskew(np.zeros((3, 6, 1)), width=4), r"rank-4.*y.shape=\(3, 6, 1\)"),
        (lambda: ops.unskew(np.zeros((1, 3, 6, 1)), width=5), r"width=5.*y.shape=\(1, 3, 6, 1\)"),
        (lambda: ops.unskew(np.zeros((1, 3, 6, 1)), width=0), r"`width`.*positive int.*width=0"),
        (lambda: ops.unskew(np.zeros((1, 3, 6, 1)), width=4.0), r"`width`.*width=4.0"),
        (lambda: ops.unskew(np.zeros((1, 3, 6, 1)), width=None), r"`width`.*width=None"),
        (lambda: ops.shift_down(np.zeros((1, 3, 6, 1)), rows=-1), r"`rows`.*rows=-1"),
        (lambda: ops.shift_right(np.zeros((1, 3, 6, 1)), cols=1.5), r"`cols`.*cols=1.5"),
        (lambda: ops.shift_down(np.zeros((3, 6, 1))), r"rank-4.*x.shape=\(3, 6, 1\)"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_int_width_is_accepted():
    y = np.zeros((1, 3, 6, 1), np.float32)
    assert ops.unskew(y, width=np.int64(4)).shape == (1, 3, 4, 1)


@pytest.mark.parametrize("axis, begin, size", [(0, 1, 2), (1, 0, -1), (-1, 2, 1), (-2, 1, 3)])
def test_slice_along_matches_python_slicing(axis, begin, size):
    x = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    index = [slice(None)] * 3
    index[axis] = slice(begin, None if size == -1 else begin + size)
    np.testing.assert_array_equal(ops.slice_along(tf.constant(x), axis, begin, size), x[tuple(index)])
    dynamic = tf.function(lambda x: ops.slice_along(x, axis, begin, tf.constant(size)))
    np.testing.assert_array_equal(dynamic(tf.constant(x)), x[tuple(index)])


def _gradient_op_types(config):
    """The op types of a training gradient's graph, loop bodies included."""
    dist = prt.PixelRNN(prt.build_model(config))

    @tf.function
    def gradients(images):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(dist.log_prob(images))
        return tape.gradient(loss, dist.trainable_variables)

    images = tf.constant(helpers.random_images((2, 4, 4, 3), 4))
    graph = gradients.get_concrete_function(images).graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return {node.op for node in nodes}


@settings(deadline=None, max_examples=20, derandomize=True)
@given(height=st.integers(1, 6), width=st.integers(1, 6))
def test_diagonal_order_is_the_skewed_columns_without_padding(height, width):
    indices, lengths = ops.diagonal_order(height, width)
    # Raster index + 1 at each pixel: the skew's padding stays 0.
    raster = np.arange(1, height * width + 1, dtype=np.float32).reshape(1, height, width, 1)
    skewed = skew_reference(raster)[0, :, :, 0]  # [H, W + H - 1]
    columns = [[int(v) - 1 for v in skewed[:, d] if v] for d in range(width + height - 1)]
    assert indices == [index for column in columns for index in column]
    assert lengths == [len(column) for column in columns]
    # Mirrored: the mirror's diagonals, as raster indices of the image.
    mirrored, mirrored_lengths = ops.diagonal_order(height, width, mirrored=True)
    mirror = raster[:, :, ::-1].reshape(-1).astype(int) - 1  # Raster index of the mirror's pixels.
    assert mirrored == [int(mirror[index]) for index in indices]
    assert mirrored_lengths == lengths


def test_gather_partitions_are_gathers_with_a_stitch_gradient():
    x = tf.constant(random_images((6, 2, 3)))
    indices = [tf.constant([[3], [0]]), tf.constant([5, 1, 4]), tf.constant([2])]
    upstream = [
        tf.constant(random_images(tuple(index.shape) + (2, 3), seed=seed))
        for seed, index in enumerate(indices)
    ]
    results = []
    for gather in (ops.gather_partitions, lambda x, indices: [tf.gather(x, i) for i in indices]):
        with tf.GradientTape() as tape:
            tape.watch(x)
            partitions = gather(x, indices)
        results.append((partitions, tape.gradient(partitions, x, output_gradients=upstream)))
    (partitions, gradient), (expected, expected_gradient) = results
    for partition, expected_partition in zip(partitions, expected):
        np.testing.assert_array_equal(partition, expected_partition)
    np.testing.assert_array_equal(gradient, tf.convert_to_tensor(expected_gradient))
    # The stitch is the inverse.
    np.testing.assert_array_equal(ops.stitch_partitions(indices, partitions), x)


@pytest.mark.parametrize("arch", prt.configs.ARCHITECTURES + ("multiscale",))
def test_training_gradient_holds_no_scatter_gradient(arch):
    # `ops.slice_along`'s and `ops.gather_partitions`'s reason: a regression here
    # costs up to 1.9x in training speed, which no test times. A gather's
    # gradient is a scatter too (a segment sum).
    if arch == "multiscale":
        config = prt.MultiScaleConfig(
            small=helpers.tiny_config("row_lstm", (2, 2, 3)),
            large=helpers.tiny_config("diagonal_bilstm", (4, 4, 3)),
        )
    else:
        config = helpers.tiny_config(arch, (4, 4, 3), num_layers=2)
    assert not {"StridedSliceGrad", "UnsortedSegmentSum"} & _gradient_op_types(config)
