"""skew / unskew / shifts (§3.2)."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from pixel_rnn_tf import ops


def skew_reference(x):
    batch, height, width, channels = x.shape
    out = np.zeros((batch, height, width + height - 1, channels), x.dtype)
    for i in range(height):
        out[:, i, i : i + width] = x[:, i]
    return out


@settings(deadline=None, max_examples=30, derandomize=True)
@given(
    batch=st.integers(1, 3), height=st.integers(1, 6), width=st.integers(1, 6),
    channels=st.integers(1, 3),
)
def test_skew_matches_reference_and_round_trips(batch, height, width, channels):
    x = np.random.default_rng(0).normal(size=(batch, height, width, channels)).astype(np.float32)
    skewed = ops.skew(x).numpy()
    np.testing.assert_array_equal(skewed, skew_reference(x))
    np.testing.assert_array_equal(ops.unskew(skewed, width=width).numpy(), x)


def test_pixel_lands_on_its_diagonal_and_padding_is_zero():
    x = np.arange(1, 13, dtype=np.int32).reshape(1, 3, 4, 1)
    skewed = ops.skew(x).numpy()[0, :, :, 0]
    for i in range(3):
        for j in range(4):
            assert skewed[i, i + j] == x[0, i, j, 0]
    assert (skewed != 0).sum() == 12  # Everything else is padding, exactly zero.


def test_dynamic_batch_in_tf_function():
    skew = tf.function(ops.skew, input_signature=[tf.TensorSpec([None, 3, 4, 2], tf.float32)])
    unskew = tf.function(
        lambda y: ops.unskew(y, width=4), input_signature=[tf.TensorSpec([None, 3, 6, 2], tf.float32)]
    )
    for batch in (1, 5):
        x = np.random.default_rng(batch).normal(size=(batch, 3, 4, 2)).astype(np.float32)
        np.testing.assert_array_equal(unskew(skew(x)), x)


def test_gradients_and_xla():
    x = tf.Variable(np.random.default_rng(1).normal(size=(2, 3, 5, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(ops.unskew(ops.skew(x), width=5) * 2.0)
    np.testing.assert_allclose(tape.gradient(y, x), np.full(x.shape, 2.0))
    compiled = tf.function(lambda v: ops.unskew(ops.skew(v) + 1.0, width=5), jit_compile=True)
    np.testing.assert_allclose(compiled(x), x.numpy() + 1.0, rtol=1e-6)


def test_shifts():
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 2, 3, 1)
    np.testing.assert_array_equal(ops.shift_down(x)[0, :, :, 0], [[0, 0, 0], [1, 2, 3]])
    np.testing.assert_array_equal(ops.shift_right(x)[0, :, :, 0], [[0, 1, 2], [0, 4, 5]])
    np.testing.assert_array_equal(ops.shift_down(x, rows=0), x)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: ops.skew(np.zeros((3, 4, 1))), r"rank-4.*x.shape=\(3, 4, 1\)"),
        (lambda: ops.unskew(np.zeros((1, 3, 6, 1)), width=5), r"width=5"),
        (lambda: ops.unskew(np.zeros((1, 3, 6, 1)), width=0), r"width=0"),
        (lambda: ops.shift_down(np.zeros((1, 3, 6, 1)), rows=-1), r"rows=-1"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
