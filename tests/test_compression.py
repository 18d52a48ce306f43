"""`prt.compression`: bit-exact round trips at the model's NLL, and refusals."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pixel_rnn_tf as prt
from pixel_rnn_tf import compression
from pixel_rnn_tf import image_files
from helpers import randomize_weights, random_images, tiny_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHITECTURES = ("pixel_cnn", "row_lstm", "diagonal_bilstm", "gated_pixel_cnn")


def _model(arch="pixel_cnn", image_shape=(4, 3, 1), num_levels=2, seed=0, **kwargs):
    config = tiny_config(arch, image_shape, num_levels=num_levels, **kwargs)
    return randomize_weights(prt.build_model(config), seed)


def _nll_bits(model, images, condition=None):
    result = prt.evaluate(model, images, condition=condition)
    return result["nats"] * len(images) / np.log(2)


def _payload_bits(data):
    return 32 * len(compression.read_header(data)["words"])


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("image_shape,num_levels", [((4, 3, 1), 2), ((3, 2, 3), 4)])
def test_round_trip_every_architecture(arch, image_shape, num_levels):
    model = _model(arch, image_shape, num_levels)
    images = random_images((5,) + image_shape, num_levels, seed=1)
    data = compression.compress(model, images, batch_size=2)
    np.testing.assert_array_equal(compression.decompress(model, data), images)
    # The payload is the NLL, up to the coder's quantization and its last word.
    assert _payload_bits(data) <= 1.01 * _nll_bits(model, images) + 64


def test_round_trip_with_256_levels():
    model = _model("pixel_cnn", (2, 3, 3), 256)
    images = random_images((3, 2, 3, 3), 256, seed=10)
    data = compression.compress(model, images)
    np.testing.assert_array_equal(compression.decompress(model, data), images)
    assert _payload_bits(data) <= 1.01 * _nll_bits(model, images) + 64


@pytest.mark.parametrize(
    "condition_kwargs,condition",
    [
        (dict(num_classes=3), np.array([0, 2, 1, 1], np.int32)),
        (dict(condition_shape=(2,)), np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)),
        (dict(condition_shape=(2, 2, 1)), np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 2, 2, 1)),
    ],
    ids=["labels", "vector", "map"],
)
def test_round_trip_conditional(condition_kwargs, condition):
    model = _model("pixel_cnn", (4, 4, 1), 2, **condition_kwargs)
    images = random_images((4, 4, 4, 1), 2, seed=2)
    data = compression.compress(model, images, condition=condition)
    np.testing.assert_array_equal(compression.decompress(model, data, condition=condition), images)
    assert _payload_bits(data) <= 1.01 * _nll_bits(model, images, condition) + 64
    other = condition[::-1].copy()
    with pytest.raises(ValueError, match="Expected the `condition` the data was compressed with"):
        compression.decompress(model, data, condition=other)
    with pytest.raises(ValueError, match="condition"):
        compression.decompress(model, data)


@pytest.mark.parametrize("small_arch,large_arch", [("row_lstm", "pixel_cnn"), ("pixel_cnn", "diagonal_bilstm")])
def test_round_trip_multiscale(small_arch, large_arch):
    config = prt.MultiScaleConfig(
        small=tiny_config(small_arch, (2, 2, 1), num_levels=2),
        large=tiny_config(large_arch, (4, 4, 1), num_levels=2),
    )
    model = randomize_weights(prt.build_model(config), 3)
    images = random_images((3, 4, 4, 1), 2, seed=3)
    data = compression.compress(model, images)
    np.testing.assert_array_equal(compression.decompress(model, data), images)
    assert _payload_bits(data) <= 1.01 * _nll_bits(model, images) + 64


@pytest.mark.parametrize("count,batch_size", [(1, 1), (7, 3), (7, 7), (7, 100), (0, 4)])
def test_round_trip_across_batch_sizes(count, batch_size):
    model = _model("row_lstm", (3, 4, 1), 4)
    images = random_images((count, 3, 4, 1), 4, seed=4)
    data = compression.compress(model, images, batch_size=batch_size)
    assert compression.read_header(data)["batch_size"] == batch_size
    decoded = compression.decompress(model, data)
    assert decoded.shape == images.shape
    np.testing.assert_array_equal(decoded, images)


def test_round_trip_under_xla_and_after_a_reload(tmp_path):
    model = _model("diagonal_bilstm", (4, 3, 1), 2)
    images = random_images((3, 4, 3, 1), 2, seed=5)
    data = compression.compress(model, images, jit_compile=True)
    assert compression.read_header(data)["jit_compile"]
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = prt.serving.load_keras_model(path)
    np.testing.assert_array_equal(compression.decompress(reloaded, data), images)
    plain = compression.compress(reloaded, images)
    np.testing.assert_array_equal(compression.decompress(model, plain), images)


def test_metadata_is_kept():
    model = _model()
    images = random_images((2, 4, 3, 1), 2)
    data = compression.compress(model, images, metadata=b'{"names": ["a.png"]}')
    assert compression.read_header(data)["metadata"] == b'{"names": ["a.png"]}'
    np.testing.assert_array_equal(compression.decompress(model, data), images)


@pytest.fixture(scope="module")
def compressed():
    model = _model()
    images = random_images((6, 4, 3, 1), 2, seed=6)
    return model, images, compression.compress(model, images)


def test_another_model_is_refused(compressed):
    _, _, data = compressed
    with pytest.raises(ValueError, match="compressed with another model"):
        compression.decompress(_model(seed=9), data)
    with pytest.raises(ValueError, match=r"shape \(4, 3, 1\) with 2 levels"):
        compression.decompress(_model(image_shape=(4, 4, 1)), data)


@pytest.mark.parametrize("cut", [1, 4, 10])
def test_truncated_data_is_refused(compressed, cut):
    model, _, data = compressed
    with pytest.raises(ValueError, match="damaged or truncated"):
        compression.decompress(model, data[:-cut])


@pytest.mark.parametrize("where", ["header", "payload", "crc"])
def test_damaged_data_is_refused(compressed, where):
    model, _, data = compressed
    index = {"header": 12, "payload": len(data) - 6, "crc": len(data) - 1}[where]
    damaged = bytearray(data)
    damaged[index] ^= 0x10
    with pytest.raises(ValueError, match="damaged or truncated"):
        compression.decompress(model, bytes(damaged))


def test_damage_behind_a_valid_crc_never_returns_wrong_images(compressed):
    """A payload changed and its CRC recomputed: the images' checksum catches it."""
    import zlib

    model, images, data = compressed
    body = bytearray(data[:-4])
    body[-1] ^= 0xFF
    forged = bytes(body) + zlib.crc32(bytes(body)).to_bytes(4, "little")
    with pytest.raises(ValueError, match="could not be decoded|do not match the data's checksum"):
        compression.decompress(model, forged)


@pytest.mark.parametrize(
    "data,match",
    [(b"", "Expected `data` from `compress`"), (b"PNG\x89" + bytes(200), "starting with"),
     ("text", "Expected `data` to be bytes")],
)
def test_not_compressed_data_is_refused(compressed, data, match):
    model, _, _ = compressed
    with pytest.raises(ValueError, match=match):
        compression.decompress(model, data)


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(batch_size=0), "batch_size=0"), (dict(batch_size=True), "batch_size=True"),
     (dict(jit_compile="yes"), "jit_compile='yes'"), (dict(metadata="names"), "metadata")],
)
def test_bad_arguments(kwargs, match):
    model = _model()
    with pytest.raises(ValueError, match=match):
        compression.compress(model, random_images((1, 4, 3, 1), 2), **kwargs)


def test_bad_images_are_refused():
    model = _model()
    with pytest.raises(ValueError, match=r"values in \[0, 2\)"):
        compression.compress(model, np.full((1, 4, 3, 1), 2, np.int32))
    with pytest.raises(ValueError, match="shape"):
        compression.compress(model, np.zeros((1, 3, 3, 1), np.int32))


def test_png_files_round_trip_exactly(tmp_path):
    images = random_images((3, 4, 3, 3), 4, seed=7)
    for k, image in enumerate(images):
        image_files.write_png(str(tmp_path / f"{k}.png"), image, 4)
    paths = image_files.list_pngs(str(tmp_path))
    read = np.stack([image_files.read_png(p, (4, 3, 3), 4) for p in paths])
    np.testing.assert_array_equal(read, images)
    with pytest.raises(ValueError, match="8-bit values of 3 levels"):
        image_files.read_png(paths[0], (4, 3, 3), 3)
    with pytest.raises(ValueError, match="Expected 5x3 images"):
        image_files.read_png(paths[0], (5, 3, 3), 4)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="Could not read the PNG file .*bad.png"):
        image_files.read_png(str(tmp_path / "bad.png"), (4, 3, 3), 4)


@pytest.mark.slow
def test_compress_and_decompress_commands(tmp_path):
    model = _model("pixel_cnn", (4, 3, 1), 2)
    model_path = str(tmp_path / "model.keras")
    model.save(model_path)
    source = tmp_path / "in"
    images = random_images((3, 4, 3, 1), 2, seed=8)
    for k, image in enumerate(images):
        image_files.write_png(str(source / f"digit{k}.png"), image, 2)
    env = dict(os.environ, PYTHONPATH=REPO)

    def run(command, *flags):
        return subprocess.run(
            [sys.executable, "-m", f"pixel_rnn_tf.cli.{command}", f"--model={model_path}", *flags],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
        )

    packed = str(tmp_path / "digits.prtc")
    result = run("compress", f"--input={source}", f"--output={packed}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 images" in result.stdout
    header = compression.read_header(open(packed, "rb").read())
    assert json.loads(header["metadata"]) == {"names": ["digit0.png", "digit1.png", "digit2.png"]}
    result = run("decompress", f"--input={packed}", f"--output={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-2000:]
    for k in range(3):
        assert (tmp_path / "out" / f"digit{k}.png").read_bytes() == (
            source / f"digit{k}.png"
        ).read_bytes()
    damaged = bytearray(open(packed, "rb").read())
    damaged[-8] ^= 1
    open(packed, "wb").write(bytes(damaged))
    result = run("decompress", f"--input={packed}", f"--output={tmp_path / 'out2'}")
    assert result.returncode != 0 and "damaged or truncated" in result.stderr
    assert not os.listdir(tmp_path / "out2")
