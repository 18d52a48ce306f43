"""SavedModel export for TF Serving: signatures, validation, versioned layout, clients.

The exported models are loaded in a fresh, isolated interpreter that cannot
import `pixel_rnn_tf` (what TF Serving or a client sees), and through the
TF1 session loader that `saved_model_cli run` and TF Serving's C++ loader
use, and compared with the eager library.
"""

import http.server
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

import pixel_rnn_tf as prt
from pixel_rnn_tf import sampling
from pixel_rnn_tf import serving
from helpers import random_images
from helpers import randomize_weights
from helpers import tiny_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow

# (arch, image_shape, num_levels, condition): every architecture; binary
# data (values 2..255 must be refused); conditioned on a float map [1, 2, 2]
# (upsampled to 3 x 4); 3 colors, 8 bits, conditioned on labels.
CASES = {
    "pixel_cnn": ("pixel_cnn", (3, 4, 1), 2, {}),
    "row_lstm": ("row_lstm", (3, 4, 1), 4, {}),
    "diagonal_bilstm_map_conditional": (
        "diagonal_bilstm", (3, 4, 1), 4, dict(condition_shape=(1, 2, 2))
    ),
    "diagonal_bilstm_rgb_conditional": ("diagonal_bilstm", (3, 4, 3), 256, dict(num_classes=3)),
    "pixel_cnn_rgb_xla_sampling": ("pixel_cnn", (3, 4, 3), 4, {}),
    # The Gated PixelCNN's whole-row pass under a map's per-row biases.
    "gated_pixel_cnn_rgb_map_conditional": (
        "gated_pixel_cnn", (3, 4, 3), 4, dict(condition_shape=(1, 2, 2))
    ),
    # The Multi-Scale PixelRNN (§3.5): a Row LSTM of the 1x2 small image,
    # then a PixelCNN of the rest.
    "multiscale": ("multiscale", (2, 4, 1), 4, {}),
}
# Exported with `sampling_jit_compile=True`: the row loop of `sample` and
# `complete` compiled by XLA in the SavedModel, drawing the same images.
XLA_SAMPLING_CASES = {"pixel_cnn_rgb_xla_sampling"}
BATCH = 5
NUM_SAMPLES = 3
SEED = np.array([7, 11], np.int32)
OTHER_SEED = np.array([8, 11], np.int32)
MAX_SAMPLES = 8


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "export", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


client = _load_script("client")


def _conditions(config, count, seed=0):
    """`count` conditions of `config`'s kind (labels, vectors or maps), or None."""
    kind = prt.conditioning.kind(config)
    if kind is None:
        return None
    if kind == "labels":
        return (np.arange(count, dtype=np.int32) + seed) % config.num_classes
    shape = (count,) + prt.conditioning.event_shape(config)
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _known_mask(image_shape, batch):
    """The upper half known (a raster-order prefix), plus one later pixel."""
    known = np.zeros((batch,) + image_shape, bool)
    known[:, : image_shape[0] // 2] = True
    known[:, -1, -1, 0] = True
    return known


class Export:
    """One exported case: the model, its inputs, the SavedModel path."""

    def __init__(self, name, base):
        arch, image_shape, num_levels, condition = CASES[name]
        if arch == "multiscale":
            height, width, channels = image_shape
            config = prt.MultiScaleConfig(
                small=tiny_config("row_lstm", (height // 2, width // 2, channels),
                                  num_levels=num_levels),
                large=tiny_config("pixel_cnn", image_shape, num_levels=num_levels),
            )
        else:
            config = tiny_config(arch, image_shape, num_levels=num_levels, **condition)
        self.name = name
        self.config = config
        self.model = randomize_weights(prt.build_model(config), seed=3, scale=0.3)
        self.images = random_images((BATCH,) + image_shape, num_levels, seed=1).astype(np.uint8)
        self.known = _known_mask(image_shape, BATCH)
        self.condition = _conditions(config, BATCH)
        self.sample_condition = _conditions(config, NUM_SAMPLES, seed=1)
        self.path = serving.export_versioned(
            self.model, os.path.join(base, name), max_samples=MAX_SAMPLES,
            sampling_jit_compile=name in XLA_SAMPLING_CASES,
        )

    def model_inputs(self, images):
        return images if self.condition is None else (images, self.condition[: len(images)])

    def with_condition(self, inputs, condition):
        return inputs if condition is None else {**inputs, "condition": condition}

    def requests(self):
        """`{signature: inputs}` of the requests the tests make, as numpy arrays."""
        sample = dict(num_samples=np.int32(NUM_SAMPLES), temperature=np.float32(1.0))
        return {
            "log_prob": self.with_condition({"images": self.images}, self.condition),
            "serving_default": self.with_condition({"images": self.images}, self.condition),
            "sample": self.with_condition({**sample, "seed": SEED}, self.sample_condition),
            "sample_again": self.with_condition({**sample, "seed": SEED}, self.sample_condition),
            "sample_other_seed": self.with_condition(
                {**sample, "seed": OTHER_SEED}, self.sample_condition
            ),
            "complete": self.with_condition(
                {"images": self.images, "known": self.known, "seed": SEED,
                 "temperature": np.float32(1.0)},
                self.condition,
            ),
            # Empty batches: an empty answer, as from the library.
            "log_prob_empty": self.with_condition(
                {"images": self.images[:0]}, _conditions(self.config, 0)
            ),
            "complete_empty": self.with_condition(
                {"images": self.images[:0], "known": self.known[:0], "seed": SEED,
                 "temperature": np.float32(1.0)},
                _conditions(self.config, 0),
            ),
        }


# Runs in `python -I` from a directory outside the repository, with an import
# hook that refuses `pixel_rnn_tf` even where it is pip-installed.
_ISOLATED_RUNNER = r'''
import importlib.abc, json, sys
import numpy as np

class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pixel_rnn_tf" or name.startswith("pixel_rnn_tf."):
            raise ImportError("pixel_rnn_tf is hidden from this process")
        return None

sys.meta_path.insert(0, _Refuse())
import tensorflow as tf

try:
    import pixel_rnn_tf  # noqa: F401
    importable = True
except ImportError:
    importable = False
manifest = json.load(open(sys.argv[1]))
results = {"pixel_rnn_tf_importable": importable, "cases": {}}
for name, case in manifest.items():
    loaded = tf.saved_model.load(case["path"])
    outputs = {"signatures": sorted(loaded.signatures.keys())}
    requests = np.load(case["requests"])
    for request, signature in case["signatures"].items():
        keys = [k for k in requests.files if k.startswith(request + "/")]
        inputs = {k.split("/", 1)[1]: tf.constant(requests[k]) for k in keys}
        for key, value in loaded.signatures[signature](**inputs).items():
            np.save(f"{case['out']}/{request}.{key}.npy", value.numpy())
    results["cases"][name] = outputs
print(json.dumps(results))
'''


def _isolated_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("exports"))
    return {name: Export(name, base) for name in CASES}


@pytest.fixture(scope="module")
def isolated(exports, tmp_path_factory):
    """Every request of every case, answered by a process without this package."""
    work = tmp_path_factory.mktemp("isolated")
    manifest = {}
    for name, export in exports.items():
        requests = export.requests()
        arrays = {
            f"{request}/{key}": value
            for request, inputs in requests.items()
            for key, value in inputs.items()
        }
        np.savez(work / f"{name}.npz", **arrays)
        out = work / name
        out.mkdir()
        manifest[name] = {
            "path": export.path,
            "requests": str(work / f"{name}.npz"),
            "out": str(out),
            "signatures": {r: re.sub("_again|_other_seed|_empty", "", r) for r in requests},
        }
    (work / "manifest.json").write_text(json.dumps(manifest))
    (work / "runner.py").write_text(_ISOLATED_RUNNER)
    result = subprocess.run(
        [sys.executable, "-I", str(work / "runner.py"), str(work / "manifest.json")],
        capture_output=True, text=True, timeout=300, cwd=str(work), env=_isolated_env(),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])

    def output(name, request, key):
        return np.load(work / name / f"{request}.{key}.npy")

    return summary, output


def test_loads_without_the_package(isolated):
    summary, _ = isolated
    assert summary["pixel_rnn_tf_importable"] is False
    for case in summary["cases"].values():
        assert case["signatures"] == [
            "complete", "log_prob", "metadata", "sample", "serving_default"
        ]


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_matches_eager(name, exports, isolated):
    export, (_, output) = exports[name], isolated
    expected = prt.head.log_prob(export.model(export.model_inputs(export.images)), export.images)
    expected = expected.numpy()
    for signature in ("log_prob", "serving_default"):
        log_prob = output(name, signature, "log_prob")
        assert log_prob.dtype == np.float32 and log_prob.shape == (BATCH,)
        np.testing.assert_allclose(log_prob, expected, atol=1e-4, rtol=1e-5)
        np.testing.assert_allclose(
            output(name, signature, "bits_per_dim"),
            prt.metrics.bits_per_dim(-expected, export.config.image_shape),
            atol=1e-5, rtol=1e-5,
        )


@pytest.mark.parametrize("name", list(CASES))
def test_sample_is_seeded_and_matches_the_library(name, exports, isolated):
    export, (_, output) = exports[name], isolated
    images = output(name, "sample", "images")
    assert images.dtype == np.uint8
    assert images.shape == (NUM_SAMPLES,) + export.config.image_shape
    assert images.max() < export.config.num_levels
    np.testing.assert_array_equal(images, output(name, "sample_again", "images"))
    expected = sampling.sample(
        export.model, NUM_SAMPLES, seed=tf.constant(SEED), condition=export.sample_condition
    )
    np.testing.assert_array_equal(images, expected.numpy())
    # A different seed gives different images (36+ draws: equal by chance is negligible).
    if export.config.num_levels > 2 or np.prod(export.config.image_shape) > 8:
        assert not np.array_equal(images, output(name, "sample_other_seed", "images"))


@pytest.mark.parametrize("name", list(CASES))
def test_complete_keeps_known_pixels(name, exports, isolated):
    export, (_, output) = exports[name], isolated
    completed = output(name, "complete", "images")
    assert completed.dtype == np.uint8 and completed.shape == export.images.shape
    np.testing.assert_array_equal(completed[export.known], export.images[export.known])
    assert completed.max() < export.config.num_levels
    expected = sampling.complete(
        export.model, export.images, export.known, seed=tf.constant(SEED),
        condition=export.condition,
    )
    np.testing.assert_array_equal(completed, expected.numpy())


@pytest.mark.parametrize("name", list(CASES))
def test_empty_batches_give_empty_results(name, exports, isolated):
    """The library and the served signatures answer an empty batch alike (issue 13)."""
    export, (_, output) = exports[name], isolated
    h, w, c = export.config.image_shape
    empty = export.images[:0]
    condition = _conditions(export.config, 0)
    inputs = empty if condition is None else (empty, condition)
    assert export.model(inputs).shape == (0, h, w, c, export.config.num_levels)
    distribution = prt.PixelRNN(export.model, conditional_input=condition)
    assert distribution.log_prob(empty).shape == (0,)
    completed = sampling.complete(
        export.model, empty, export.known[:0], seed=tf.constant(SEED), condition=condition
    )
    assert completed.shape == (0, h, w, c)
    for key in ("log_prob", "bits_per_dim"):
        served = output(name, "log_prob_empty", key)
        assert served.shape == (0,) and served.dtype == np.float32
    served = output(name, "complete_empty", "images")
    assert served.shape == (0, h, w, c) and served.dtype == np.uint8


# --- saved_model_cli -----------------------------------------------------------


def _saved_model_cli(*args):
    script = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    command = [script] if os.path.exists(script) else [
        sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"
    ]
    result = subprocess.run(
        command + list(args), capture_output=True, text=True, timeout=240,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def _parse_show_all(text):
    """`{signature: {"inputs"/"outputs": {name: (dtype, shape)}}}` of `show --all`."""
    signatures, current, side, tensor = {}, None, None, None
    for line in text.splitlines():
        line = line.strip()
        if match := re.match(r"signature_def\['(\w+)'\]:", line):
            current = signatures.setdefault(match.group(1), {"inputs": {}, "outputs": {}})
        elif match := re.match(r"(inputs|outputs)\['(\w+)'\] tensor_info:", line):
            side, tensor = match.group(1), match.group(2)
        elif line.startswith("dtype:") and current is not None:
            current[side][tensor] = [line.split()[1], None]
        elif line.startswith("shape:") and current is not None:
            current[side][tensor][1] = line.split(":", 1)[1].strip()
    return {
        name: {side: {k: tuple(v) for k, v in tensors.items()} for side, tensors in sig.items()}
        for name, sig in signatures.items()
    }


def test_saved_model_cli_show_lists_signatures(exports):
    export = exports["diagonal_bilstm_rgb_conditional"]
    shown = _parse_show_all(_saved_model_cli("show", "--all", "--dir", export.path))
    images = ("DT_UINT8", "(-1, 3, 4, 3)")
    condition = ("DT_INT32", "(-1)")
    seed, temperature = ("DT_INT32", "(2)"), ("DT_FLOAT", "()")
    likelihood = {
        "inputs": {"images": images, "condition": condition},
        "outputs": {"log_prob": ("DT_FLOAT", "(-1)"), "bits_per_dim": ("DT_FLOAT", "(-1)")},
    }
    assert shown["serving_default"] == likelihood
    assert shown["log_prob"] == likelihood
    assert shown["sample"] == {
        "inputs": {"num_samples": ("DT_INT32", "()"), "seed": seed,
                   "temperature": temperature, "condition": condition},
        "outputs": {"images": images},
    }
    assert shown["complete"] == {
        "inputs": {"images": images, "known": ("DT_BOOL", "(-1, 3, 4, 3)"), "seed": seed,
                   "temperature": temperature, "condition": condition},
        "outputs": {"images": images},
    }
    # The number of levels where `show` displays it: the shape of the pixel values.
    assert shown["metadata"] == {
        "inputs": {},
        "outputs": {"num_levels": ("DT_INT32", "()"), "image_shape": ("DT_INT32", "(3)"),
                    "levels": ("DT_INT32", f"({export.config.num_levels})")},
    }


def test_metadata_signature_gives_levels_and_shape(exports):
    export = exports["diagonal_bilstm_rgb_conditional"]
    metadata = tf.saved_model.load(export.path).signatures["metadata"]()
    assert int(metadata["num_levels"]) == export.config.num_levels
    assert tuple(metadata["image_shape"].numpy()) == export.config.image_shape
    np.testing.assert_array_equal(metadata["levels"], np.arange(export.config.num_levels))


@pytest.mark.parametrize("value", [np.nan, -np.inf])
def test_export_refuses_a_model_with_non_finite_weights(value, tmp_path):
    model = prt.build_model(tiny_config("pixel_cnn", (2, 3, 1), num_levels=2))
    kernel = model.weights[0]
    kernel.assign(np.full(kernel.shape, value, np.float32))
    with pytest.raises(FloatingPointError, match=rf"{model.name}.*non-finite.*{kernel.path}"):
        serving.export_versioned(model, str(tmp_path / "base"))
    assert serving.versions(str(tmp_path / "base")) == []


def test_saved_model_cli_run_gives_the_same_log_prob(exports, tmp_path):
    # `saved_model_cli run` loads through the TF1 session loader, as TF
    # Serving's C++ loader does: it catches variables that the object-graph
    # loader restores but the SavedModel's restore op does not.
    export = exports["diagonal_bilstm_rgb_conditional"]
    np.save(tmp_path / "images.npy", export.images)
    np.save(tmp_path / "condition.npy", export.condition)
    _saved_model_cli(
        "run", "--dir", export.path, "--tag_set", "serve", "--signature_def", "log_prob",
        "--inputs", f"images={tmp_path / 'images.npy'};condition={tmp_path / 'condition.npy'}",
        "--outdir", str(tmp_path / "out"),
    )
    expected = prt.head.log_prob(export.model(export.model_inputs(export.images)), export.images)
    np.testing.assert_allclose(np.load(tmp_path / "out" / "log_prob.npy"), expected, atol=1e-4)


# --- XLA -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_compiles_with_xla(name, exports):
    export = exports[name]
    loaded = tf.saved_model.load(export.path)  # Keeps the variables alive.
    signature = loaded.signatures["log_prob"]
    inputs = export.with_condition({"images": tf.constant(export.images)}, export.condition)
    compiled = tf.function(lambda inputs: signature(**inputs), jit_compile=True)
    hlo = compiled.experimental_get_compiler_ir(inputs)(stage="hlo")
    assert "HloModule" in hlo
    np.testing.assert_allclose(
        compiled(inputs)["log_prob"], signature(**inputs)["log_prob"], atol=1e-4, rtol=1e-5
    )


def _must_compile_functions(export_path):
    """The names of the SavedModel's functions marked for XLA compilation."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    library = saved_model.meta_graphs[0].graph_def.library
    return [
        function.signature.name
        for function in library.function
        if function.attr["_XlaMustCompile"].b
    ]


def test_sampling_jit_compile_is_in_the_saved_model(exports):
    """The XLA-sampling export holds a compiled row loop; the default ones hold none."""
    for name, export in exports.items():
        marked = _must_compile_functions(export.path)
        assert bool(marked) == (name in XLA_SAMPLING_CASES), (name, marked)


def test_sample_and_complete_compile_with_xla(exports):
    # What export/tf_serving/README.md says about XLA and TPUs: the sampling
    # loop has a static trip count (H * W * C); `sample`'s batch size is the
    # value of `num_samples`, which XLA takes as a compile-time constant (one
    # program per value). XLA's stateless random numbers differ from the
    # other kernels', so a seed gives the same images within one backend only.
    export = exports["row_lstm"]
    loaded = tf.saved_model.load(export.path)
    sample = loaded.signatures["sample"]
    complete = loaded.signatures["complete"]
    run = tf.function(lambda s, kw: (sample if s == "sample" else complete)(**kw), jit_compile=True)
    for name, inputs in [
        ("sample", dict(num_samples=tf.constant(2), seed=tf.constant(SEED),
                        temperature=tf.constant(1.0))),
        ("complete", dict(images=tf.constant(export.images), known=tf.constant(export.known),
                          seed=tf.constant(SEED), temperature=tf.constant(1.0))),
    ]:
        assert "HloModule" in run.experimental_get_compiler_ir(name, inputs)(stage="hlo")
        first, second = run(name, inputs)["images"].numpy(), run(name, inputs)["images"].numpy()
        np.testing.assert_array_equal(first, second)
        assert first.dtype == np.uint8 and first.max() < export.config.num_levels
        if name == "complete":
            np.testing.assert_array_equal(first[export.known], export.images[export.known])


# --- bad requests --------------------------------------------------------------

# A dtype that does not match the signature is refused before the graph runs:
# by TF Serving with INVALID_ARGUMENT, and by a loaded signature in Python with
# InvalidArgumentError (TypeError or ValueError in other TF versions). TF
# Serving does not check shapes (tensorflow/serving#1436) and neither does a
# loaded signature: the graph's own checks must, with InvalidArgumentError.
SIGNATURE_MISMATCH = (tf.errors.InvalidArgumentError, TypeError, ValueError)
# `EnsureShape`'s message names the input (its node name holds the argument's).
SHAPE_ERROR = r"Shape of tensor \w*{}\w* \[[0-9,]*\] is not compatible with expected shape"


def _bad_requests(export):
    """`(signature, inputs, error message pattern or None)` of bad requests."""
    h, w, c = export.config.image_shape
    images = tf.constant(export.images)
    known = tf.constant(export.known)
    seed, one = tf.constant(SEED), tf.constant(1.0)
    n = tf.constant(NUM_SAMPLES)

    def lab(size):
        condition = _conditions(export.config, size)
        return {} if condition is None else {"condition": tf.constant(condition)}

    cases = [
        ("log_prob", {"images": tf.cast(images, tf.int32), **lab(BATCH)}, None),
        ("log_prob", {"images": tf.cast(images, tf.float32), **lab(BATCH)}, None),
        ("log_prob", {"images": images[0], **lab(BATCH)}, SHAPE_ERROR.format("images")),
        ("log_prob", {"images": images[..., None], **lab(BATCH)}, SHAPE_ERROR.format("images")),
        ("log_prob", {"images": tf.zeros([2, w, h, c], tf.uint8), **lab(2)},
         SHAPE_ERROR.format("images")),
        ("log_prob", {"images": tf.zeros([2, h, w, c + 1], tf.uint8), **lab(2)},
         SHAPE_ERROR.format("images")),
        ("serving_default", {"images": images[:, :, :1], **lab(BATCH)},
         SHAPE_ERROR.format("images")),
        ("sample", {"num_samples": tf.constant(0), "seed": seed, "temperature": one, **lab(0)},
         r"num_samples"),
        ("sample", {"num_samples": tf.constant(MAX_SAMPLES + 1), "seed": seed,
                    "temperature": one, **lab(MAX_SAMPLES + 1)}, r"num_samples` in \[1, 8\]"),
        ("sample", {"num_samples": tf.constant(-3), "seed": seed, "temperature": one, **lab(0)},
         "num_samples"),
        ("sample", {"num_samples": tf.constant([2]), "seed": seed, "temperature": one, **lab(2)},
         SHAPE_ERROR.format("num_samples")),
        ("sample", {"num_samples": n, "seed": seed, "temperature": tf.constant(0.0),
                    **lab(NUM_SAMPLES)}, "temperature"),
        ("sample", {"num_samples": n, "seed": seed, "temperature": tf.constant(-1.0),
                    **lab(NUM_SAMPLES)}, "temperature"),
        ("sample", {"num_samples": n, "seed": seed, "temperature": tf.constant(np.inf, tf.float32),
                    **lab(NUM_SAMPLES)}, "finite `temperature`"),
        ("sample", {"num_samples": n, "seed": seed, "temperature": tf.constant(np.nan, tf.float32),
                    **lab(NUM_SAMPLES)}, "temperature"),
        ("sample", {"num_samples": n, "seed": tf.constant([1, 2, 3]), "temperature": one,
                    **lab(NUM_SAMPLES)}, SHAPE_ERROR.format("seed")),
        ("sample", {"num_samples": n, "seed": seed, "temperature": tf.ones([1]),
                    **lab(NUM_SAMPLES)}, SHAPE_ERROR.format("temperature")),
        ("sample", {"num_samples": tf.cast(n, tf.int64), "seed": seed, "temperature": one,
                    **lab(NUM_SAMPLES)}, None),
        ("complete", {"images": images, "known": known[:1], "seed": seed, "temperature": one,
                      **lab(BATCH)}, r"len\(known\)"),
        ("complete", {"images": images, "known": known[0], "seed": seed, "temperature": one,
                      **lab(BATCH)}, SHAPE_ERROR.format("known")),
        ("complete", {"images": images, "known": tf.cast(known, tf.uint8), "seed": seed,
                      "temperature": one, **lab(BATCH)}, None),
        ("complete", {"images": images, "known": known, "seed": seed,
                      "temperature": tf.constant(0.0), **lab(BATCH)}, "temperature"),
        ("complete", {"images": tf.zeros([MAX_SAMPLES + 1, h, w, c], tf.uint8),
                      "known": tf.zeros([MAX_SAMPLES + 1, h, w, c], tf.bool), "seed": seed,
                      "temperature": one, **lab(MAX_SAMPLES + 1)}, r"len\(images\)"),
    ]
    if export.config.num_levels < 256:
        # Every out-of-range value, in each signature that takes images.
        for value in (export.config.num_levels, 255):
            bad = export.images.copy()
            bad[-1, -1, -1, -1] = value
            bad = tf.constant(bad)
            cases += [
                ("log_prob", {"images": bad, **lab(BATCH)}, "`images` values must be <"),
                ("complete", {"images": bad, "known": known, "seed": seed, "temperature": one,
                              **lab(BATCH)}, "`images` values must be <"),
            ]
    kind = prt.conditioning.kind(export.config)
    one_per_image = "Expected `condition` one per image"
    if kind == "labels":
        cases += [
            ("log_prob", {"images": images, "condition": tf.constant([0, 1, 2, 3, 0])},
             "`condition` values must be <"),
            ("log_prob", {"images": images, "condition": tf.constant([0, -1, 2, 1, 0])},
             "`condition` values must be >="),
            ("log_prob", {"images": images, "condition": tf.constant([1])}, one_per_image),
            ("log_prob", {"images": images, "condition": tf.zeros([BATCH, 1], tf.int32)},
             SHAPE_ERROR.format("condition")),
            ("log_prob", {"images": images, "condition": tf.constant([0.5, 1.9, 0, 0, 0])}, None),
            ("log_prob", {"images": images}, None),  # A missing input.
            ("sample", {"num_samples": n, "seed": seed, "temperature": one,
                        "condition": tf.constant([0, 5, 1])}, "`condition` values must be <"),
            ("sample", {"num_samples": n, "seed": seed, "temperature": one,
                        "condition": tf.constant([0, 1])}, one_per_image),
            ("complete", {"images": images, "known": known, "seed": seed, "temperature": one,
                          "condition": tf.constant([0, 1, 2, 3, 4])},
             "`condition` values must be <"),
        ]
    elif kind is not None:
        good = _conditions(export.config, BATCH)
        nan = good.copy()
        nan[1].flat[0] = np.nan
        cases += [
            ("log_prob", {"images": images, "condition": tf.constant(nan)},
             "`condition` must be finite"),
            ("log_prob", {"images": images, "condition": tf.constant(good[:1])}, one_per_image),
            ("log_prob", {"images": images, "condition": tf.constant(good[..., :1])},
             SHAPE_ERROR.format("condition")),
            ("log_prob", {"images": images, "condition": tf.constant(good[0])},
             SHAPE_ERROR.format("condition")),
            ("log_prob", {"images": images, "condition": tf.cast(good, tf.int32)}, None),
            ("log_prob", {"images": images}, None),  # A missing input.
            ("sample", {"num_samples": n, "seed": seed, "temperature": one,
                        "condition": tf.constant(good[:2])}, one_per_image),
            ("sample", {"num_samples": n, "seed": seed, "temperature": one,
                        "condition": tf.constant(nan[:NUM_SAMPLES])}, "`condition` must be finite"),
            ("complete", {"images": images, "known": known, "seed": seed, "temperature": one,
                          "condition": tf.constant(np.full_like(good, np.inf))},
             "`condition` must be finite"),
        ]
    else:
        cases.append(
            ("log_prob", {"images": images, "condition": tf.zeros([BATCH], tf.int32)}, None)
        )
    return cases


@pytest.mark.parametrize("name", list(CASES))
def test_bad_requests_are_invalid_argument(name, exports):
    export = exports[name]
    loaded = tf.saved_model.load(export.path)
    for signature, inputs, pattern in _bad_requests(export):
        arguments = ", ".join(f"{k}={v.dtype.name}{v.shape}" for k, v in inputs.items())
        described = f"{signature}({arguments})"
        if pattern is None:
            with pytest.raises(SIGNATURE_MISMATCH):
                loaded.signatures[signature](**inputs)
                pytest.fail(f"{described} was accepted")
        else:
            with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
                loaded.signatures[signature](**inputs)
                pytest.fail(f"{described} was accepted")
    # And good requests still pass after the bad ones.
    good = export.with_condition({"images": tf.constant(export.images)}, export.condition)
    assert loaded.signatures["log_prob"](**good)["log_prob"].shape == (BATCH,)


def test_session_feeds_of_wrong_shapes_are_invalid_argument(exports):
    """TF Serving's path: the session loader, raw feeds, no Python-side checks."""
    from tensorflow.core.protobuf import config_pb2

    export = exports["row_lstm"]
    feeds = {
        "log_prob": [
            {"images": np.zeros([3, 4, 1], np.uint8)},
            {"images": np.zeros([1, 5, 5, 1], np.uint8)},
            {"images": np.zeros([1, 3, 4, 1, 1], np.uint8)},
        ],
        "sample": [
            {"num_samples": np.array([2], np.int32), "seed": SEED, "temperature": np.float32(1)},
            {"num_samples": np.int32(2), "seed": np.array([1, 2, 3], np.int32),
             "temperature": np.float32(1)},
            {"num_samples": np.int32(2), "seed": SEED, "temperature": np.ones([2], np.float32)},
        ],
        "complete": [
            {"images": export.images, "known": export.known[:2], "seed": SEED,
             "temperature": np.float32(1)},
            {"images": export.images, "known": export.known[..., 0], "seed": SEED,
             "temperature": np.float32(1)},
        ],
    }
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], export.path)
        for signature, requests in feeds.items():
            signature_def = meta_graph.signature_def[signature]
            fetch = [t.name for t in signature_def.outputs.values()]
            for request in requests:
                names = list(request)
                # `Session.run` compares feeds with the placeholders' shapes in
                # Python; a callable, like TF Serving's C++ session, does not.
                run = session._make_callable_from_options(  # pylint: disable=protected-access
                    config_pb2.CallableOptions(
                        feed=[signature_def.inputs[n].name for n in names], fetch=fetch
                    )
                )
                with pytest.raises(tf.errors.InvalidArgumentError):
                    run(*[request[n] for n in names])
                    shapes = {k: np.shape(v) for k, v in request.items()}
                    pytest.fail(f"{signature} accepted {shapes}")
        # A good request through the same path.
        signature_def = meta_graph.signature_def["log_prob"]
        log_prob = session.run(
            signature_def.outputs["log_prob"].name,
            {signature_def.inputs["images"].name: export.images},
        )
    expected = prt.head.log_prob(export.model(export.images), export.images)
    np.testing.assert_allclose(log_prob, expected, atol=1e-4)


# --- the versioned layout --------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    config = tiny_config("pixel_cnn", (2, 3, 1), num_levels=2)
    return randomize_weights(prt.build_model(config), seed=0, scale=0.3)


def _tree(path):
    """Relative paths and contents of every file under `path`."""
    files = {}
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                files[os.path.relpath(full, path)] = f.read()
    return files


def test_versions_are_numbered_and_never_overwritten(small_model, tmp_path):
    base = str(tmp_path / "pixel_rnn")
    os.makedirs(os.path.join(base, "not_a_version"))
    assert serving.next_version(base) == 1
    first = serving.export_versioned(small_model, base)
    second = serving.export_versioned(small_model, base)
    assert (first, second) == (os.path.join(base, "1"), os.path.join(base, "2"))
    assert serving.export_versioned(small_model, base, version=10).endswith("10")
    assert serving.versions(base) == [1, 2, 10]
    assert serving.next_version(base) == 11
    assert tf.saved_model.contains_saved_model(second)

    before = _tree(first)
    other = randomize_weights(prt.build_model(small_model.config), seed=5, scale=0.3)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        serving.export_versioned(other, base, version=1)
    assert _tree(first) == before
    assert not [n for n in os.listdir(base) if n.startswith(serving.TEMP_PREFIX)]

    serving.export_versioned(other, base, version=1, overwrite=True)
    assert _tree(first) != before
    images = tf.zeros([1, 2, 3, 1], tf.uint8)
    np.testing.assert_allclose(
        tf.saved_model.load(first).signatures["log_prob"](images=images)["log_prob"],
        prt.head.log_prob(other(images), images),
        atol=1e-4,
    )
    assert sorted(os.listdir(base)) == ["1", "10", "2", "not_a_version"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(version=-1), "version"),
        (dict(version="3"), "version"),
        (dict(max_samples=0), "max_samples"),
        (dict(sampling_jit_compile="yes"), "sampling_jit_compile"),
    ],
)
def test_bad_export_arguments(small_model, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        serving.export_versioned(small_model, str(tmp_path), **kwargs)
    assert os.listdir(tmp_path) == []  # No version, no temporary directory.


def test_failed_export_leaves_no_version(small_model, tmp_path, monkeypatch):
    base = str(tmp_path / "pixel_rnn")
    serving.export_versioned(small_model, base)

    def save_half_then_fail(module, export_dir, **kwargs):
        with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(serving.tf.saved_model, "save", save_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        serving.export_versioned(small_model, base)
    assert sorted(os.listdir(base)) == ["1"]


def test_killed_export_leaves_no_version(tmp_path):
    base = tmp_path / "pixel_rnn"
    code = f"""
        import os, sys, time
        import tensorflow as tf
        import pixel_rnn_tf as prt
        from pixel_rnn_tf import serving

        def save_slowly(module, export_dir, **kwargs):
            with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
                f.write(b"half")
            print("WRITING", flush=True)
            time.sleep(600)

        tf.saved_model.save = save_slowly
        config = prt.ModelConfig(arch="pixel_cnn", image_shape=(2, 3, 1), num_levels=2,
                                 num_layers=1, hidden_units=2, output_units=4)
        serving.export_versioned(prt.build_model(config), {str(base)!r})
    """
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2"), cwd=REPO,
    )
    try:
        assert process.stdout.readline().strip() == "WRITING"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    names = os.listdir(base)
    assert serving.versions(str(base)) == []
    # What is left is a temporary directory that TF Serving never loads.
    assert names and all(n.startswith(serving.TEMP_PREFIX) and not n.isdigit() for n in names)
    assert serving.next_version(str(base)) == 1


def test_version_folders_are_readable_by_other_users(exports):
    """The umask's mode, not mkdtemp's 0700: TF Serving may run as another user."""
    path = exports["pixel_cnn"].path
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o777 & ~umask
    if os.geteuid() != 0:
        pytest.skip("reading the export as user nobody needs root (os.setuid)")
    # Opened as root, walked as nobody: pytest's own directories above it are 0700.
    code = f"""
import os, pwd, stat
base = os.open({os.path.dirname(path)!r}, os.O_RDONLY)
user = pwd.getpwnam("nobody")
os.setgid(user.pw_gid); os.setuid(user.pw_uid)

def read(dir_fd, name):
    fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        return sum(read(fd, entry) for entry in os.listdir(fd))
    return len(os.read(fd, 1 << 30))

print(read(base, {os.path.basename(path)!r}))
"""
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                            timeout=60)
    if "KeyError" in result.stderr:
        pytest.skip("no user nobody to read as")
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 0


def test_export_cli(small_model, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    small_model.save(str(run_dir / "model.keras"))
    base = tmp_path / "exports" / "pixel_rnn"
    command = [sys.executable, os.path.join(REPO, "export", "export_saved_model.py"),
               f"--export_base={base}"]
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(command + [f"--model={run_dir}", "--max_samples=2"],
                            capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == str(base / "1")
    loaded = tf.saved_model.load(str(base / "1"))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[1, 2\]"):
        loaded.signatures["sample"](
            num_samples=tf.constant(3), seed=tf.constant([1, 2]), temperature=tf.constant(1.0)
        )
    result = subprocess.run(
        command + [f"--model={run_dir / 'model.keras'}", "--version=1"],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert result.returncode != 0
    assert "overwrite" in result.stderr
    assert serving.versions(str(base)) == [1]
    result = subprocess.run(
        command + [f"--model={run_dir}", "--sampling_jit_compile"],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _must_compile_functions(str(base / "2"))
    assert not _must_compile_functions(str(base / "1"))


def test_load_keras_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.keras"):
        serving.load_keras_model(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="existing path"):
        serving.load_keras_model(str(tmp_path / "missing.keras"))


def test_export_module_rejects_non_pixel_models():
    import keras

    with pytest.raises(ValueError, match="PixelModel"):
        serving.ExportModule(keras.Sequential([keras.layers.Dense(1)]))


# --- clients --------------------------------------------------------------------


def test_rest_requests():
    images = np.zeros([2, 3, 4, 1], np.int64)
    inputs = client.signature_inputs("log_prob", images=images)
    assert inputs["images"].dtype == np.uint8
    body = client.rest_request("log_prob", inputs)
    assert body == {"signature_name": "log_prob", "inputs": {"images": images.tolist()}}
    assert client.rest_request("log_prob", inputs, row_format=True) == {
        "signature_name": "log_prob", "instances": images.tolist()
    }
    json.dumps(body)

    inputs = client.signature_inputs(
        "sample", num_samples=4, seed=(1, 2), temperature=0.5, condition=[0, 1, 2, 3]
    )
    assert {k: (v.dtype, v.shape) for k, v in inputs.items()} == {
        "num_samples": (np.int32, ()), "seed": (np.int32, (2,)),
        "temperature": (np.float32, ()), "condition": (np.int32, (4,)),
    }
    assert client.rest_request("sample", inputs)["inputs"] == {
        "num_samples": 4, "seed": [1, 2], "temperature": 0.5, "condition": [0, 1, 2, 3]
    }
    vectors = client.signature_inputs("log_prob", images=images, condition=np.ones([2, 3]))
    assert vectors["condition"].dtype == np.float32 and vectors["condition"].shape == (2, 3)
    with pytest.raises(ValueError, match="columnar"):
        client.rest_request("sample", inputs, row_format=True)

    known = np.ones([2, 3, 4, 1], bool)
    inputs = client.signature_inputs(
        "complete", images=images, known=known, seed=[1, 2], temperature=1.0, condition=[1, 0]
    )
    rows = client.rest_request(
        "complete", {k: inputs[k] for k in ("images", "known", "condition")}, row_format=True
    )["instances"]
    assert len(rows) == 2 and rows[1]["condition"] == 0 and rows[0]["known"][0][0] == [True]

    assert client.rest_url() == "http://localhost:8501/v1/models/pixel_rnn:predict"
    assert client.rest_url("srv", 9000, "m", version=3) == (
        "http://srv:9000/v1/models/m/versions/3:predict"
    )


@pytest.mark.parametrize(
    "signature, inputs, message",
    [
        ("log_prob", dict(images=np.full([1, 2, 2, 1], 256)), r"\[0, 255\]"),
        ("log_prob", dict(images=np.full([1, 2, 2, 1], -1)), r"\[0, 255\]"),
        ("log_prob", dict(images=np.full([1, 2, 2, 1], 0.5)), "integers"),
        ("sample", dict(num_samples=2, seed=[1, 2]), "missing=\\['temperature'\\]"),
        ("log_prob", dict(images=np.zeros([1, 2, 2, 1]), seed=[1, 2]), "unexpected=\\['seed'\\]"),
        ("predict", dict(images=np.zeros([1, 2, 2, 1])), "signature_name"),
        ("log_prob", dict(images=np.zeros([1, 2, 2, 1]), condition=np.array([True])),
         "`condition` to be int labels or float"),
    ],
)
def test_client_input_errors(signature, inputs, message):
    with pytest.raises(ValueError, match=message):
        client.signature_inputs(signature, **inputs)


def test_rest_outputs():
    np.testing.assert_array_equal(
        client.rest_outputs({"outputs": {"log_prob": [1.0, 2.0]}})["log_prob"], [1.0, 2.0]
    )
    np.testing.assert_array_equal(client.rest_outputs({"predictions": [[1], [2]]}), [[1], [2]])
    rows = client.rest_outputs({"predictions": [{"log_prob": -1.0, "bits_per_dim": 0.5}] * 2})
    np.testing.assert_array_equal(rows["log_prob"], [-1.0, -1.0])


def test_grpc_request():
    pytest.importorskip(
        "tensorflow_serving.apis.predict_pb2",
        reason="tensorflow-serving-api is not installed (pip install 'pixel_rnn_tf[serving]')",
    )
    inputs = client.signature_inputs(
        "complete", images=np.ones([2, 3, 4, 1]), known=np.zeros([2, 3, 4, 1], bool),
        seed=[1, 2], temperature=0.7, condition=[0, 1],
    )
    request = client.grpc_request("complete", inputs, model_name="pixel_rnn", version=4)
    assert request.model_spec.name == "pixel_rnn"
    assert request.model_spec.signature_name == "complete"
    assert request.model_spec.version.value == 4
    expected = {
        "images": (tf.uint8, [2, 3, 4, 1]), "known": (tf.bool, [2, 3, 4, 1]),
        "seed": (tf.int32, [2]), "temperature": (tf.float32, []), "condition": (tf.int32, [2]),
    }
    assert set(request.inputs) == set(expected)
    for name, (dtype, shape) in expected.items():
        proto = request.inputs[name]
        assert proto.dtype == dtype.as_datatype_enum, name
        assert [d.size for d in proto.tensor_shape.dim] == shape, name
        np.testing.assert_array_equal(tf.make_ndarray(proto), inputs[name])


def test_grpc_client_without_serving_api(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    with pytest.raises(ImportError, match="pip install tensorflow-serving-api"):
        client.grpc_request("log_prob", {"images": np.zeros([1, 2, 2, 1], np.uint8)})


class _FakeServing(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST predict API in miniature, over a loaded SavedModel."""

    loaded = None

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        signature = self.loaded.signatures[body.get("signature_name", "serving_default")]
        specs = signature.structured_input_signature[1]
        try:
            inputs = {k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()}
            outputs = signature(**inputs)
            status, reply = 200, {"outputs": {k: v.numpy().tolist() for k, v in outputs.items()}}
        except tf.errors.InvalidArgumentError as error:
            status, reply = 400, {"error": error.message}
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_rest_round_trip(exports, tmp_path, capsys):
    export = exports["row_lstm"]
    handler = type("Handler", (_FakeServing,), {"loaded": tf.saved_model.load(export.path)})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = client.rest_url("127.0.0.1", server.server_port)
        inputs = client.signature_inputs("sample", num_samples=2, seed=SEED, temperature=1.0)
        response = client.rest_predict(url, client.rest_request("sample", inputs))
        outputs = client.rest_outputs(response)
        expected = sampling.sample(export.model, 2, seed=tf.constant(SEED))
        np.testing.assert_array_equal(outputs["images"], expected.numpy())
        inputs = client.signature_inputs("sample", num_samples=0, seed=SEED, temperature=1.0)
        with pytest.raises(client.ServingError, match="num_samples") as error:
            client.rest_predict(url, client.rest_request("sample", inputs))
        assert error.value.status == 400

        np.save(tmp_path / "images.npy", export.images)
        client.main(["--host=127.0.0.1", f"--port={server.server_port}",
                     "--signature=log_prob", f"--images={tmp_path / 'images.npy'}"])
        printed = capsys.readouterr().out
        assert "log_prob: shape [5]" in printed and "bits_per_dim: shape [5]" in printed
    finally:
        server.shutdown()
        server.server_close()


def test_tf_serving_config_files():
    directory = os.path.join(REPO, "export", "tf_serving")
    with open(os.path.join(directory, "batching_parameters.txt")) as f:
        fields = re.findall(r"^(\w+)", f.read(), re.M)
    # The fields of tensorflow_serving's BatchingParameters that the file may set.
    assert set(fields) <= {
        "max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads",
        "thread_pool_name", "allowed_batch_sizes", "pad_variable_length_inputs",
    }, fields
    config_pb2 = pytest.importorskip(
        "tensorflow_serving.config.model_server_config_pb2",
        reason="tensorflow-serving-api is not installed (pip install 'pixel_rnn_tf[serving]')",
    )
    from google.protobuf import text_format

    with open(os.path.join(directory, "models.config")) as f:
        config = text_format.Parse(f.read(), config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == (
        "pixel_rnn", "/models/pixel_rnn", "tensorflow"
    )
    assert model.model_version_policy.latest.num_versions == 2


def _served_versions(config_text):
    """How many versions `models.config` serves, read without tensorflow-serving-api."""
    policy = re.search(r"latest\s*\{\s*num_versions:\s*(\d+)", config_text)
    return int(policy.group(1)) if policy else None


def test_serving_docs_agree_with_the_config_and_the_demo():
    """Pinning `/versions/N` needs more than the latest version served, and every docker
    command mounts where `make demo` (`pixel-rnn-train`) exports."""
    with open(os.path.join(REPO, "export", "tf_serving", "models.config")) as f:
        assert _served_versions(f.read()) == 2
    docs = ["README.md", "export/README.md", "export/tf_serving/README.md"]
    texts = {}
    for doc in docs:
        with open(os.path.join(REPO, doc)) as f:
            texts[doc] = f.read()
    assert "/versions/N" in texts["export/tf_serving/README.md"]
    assert "two highest versions" in texts["export/tf_serving/README.md"]
    with open(os.path.join(REPO, "pixel_rnn_tf", "cli", "train.py")) as f:
        train_main = f.read()
    demo_dir = re.search(r'"output_dir", "([^"]+)"', train_main).group(1)
    assert 'os.path.join(output_dir, "export")' in train_main
    mounts = [
        mount for text in texts.values()
        for mount in re.findall(r'\$PWD/([\w/.-]+):/models/pixel_rnn', text)
    ]
    assert len(mounts) >= 5 and set(mounts) == {f"{demo_dir}/export"}, mounts


def test_client_without_a_server_says_where_it_looked_in_one_line():
    with socket.socket() as probe:  # A port nobody listens on.
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SystemExit) as exit_info:
        client.main(["--host=127.0.0.1", f"--port={port}", "--signature=sample"])
    message = str(exit_info.value.code)
    assert message.startswith("client: UNAVAILABLE: no TF Serving answered at ")
    assert f"http://127.0.0.1:{port}/v1/models/pixel_rnn:predict" in message
    assert "\n" not in message
