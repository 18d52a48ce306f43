r"""Clients of a PixelRNN served by TF Serving: REST and gRPC.

The REST client needs only the standard library and numpy; the gRPC client
needs `tensorflow-serving-api` (`pip install 'pixel_rnn_tf[serving]'`),
imported only when used. Request builders are pure functions.

  # Draw 4 images (REST on port 8501), print them as arrays:
  python export/client.py --signature=sample --num_samples=4 --seed=1,2
  # Log-likelihood of images stored as uint8 [batch, H, W, C] in a .npy file:
  python export/client.py --signature=log_prob --images=images.npy --protocol=grpc
  # A conditional model: labels as ints, vectors or maps as a .npy file:
  python export/client.py --signature=sample --num_samples=2 --condition=3,7
  python export/client.py --signature=sample --num_samples=2 --condition=vectors.npy

Signatures (see `pixel_rnn_tf/serving/signatures.py`): `log_prob` (`serving_default`):
`images` uint8 `[batch, H, W, C]` -> `log_prob`, `bits_per_dim` float32
`[batch]`; `sample`: `num_samples` int32 `[]`, `seed` int32 `[2]`,
`temperature` float32 `[]` -> `images`; `complete`: `images`, `known` bool
`[batch, H, W, C]`, `seed`, `temperature` -> `images`. A conditional model
also takes `condition` on every signature, one per image: int32 labels
`[batch]`, or float32 vectors `[batch, D]` or maps `[batch, h, w, c]`.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request

import numpy as np

REST_PORT = 8501
GRPC_PORT = 8500
MODEL_NAME = "pixel_rnn"
SIGNATURES = ("serving_default", "log_prob", "sample", "complete")

# Every input of every signature and its dtype; shapes are checked by the server.
INPUT_DTYPES = {
    "images": np.uint8,
    "known": np.bool_,
    "num_samples": np.int32,
    "seed": np.int32,
    "temperature": np.float32,
}
# `condition` takes its dtype from its values: int32 labels, float32 vectors and maps.
CONDITION = "condition"
_SIGNATURE_INPUTS = {
    "serving_default": ("images",),
    "log_prob": ("images",),
    "sample": ("num_samples", "seed", "temperature"),
    "complete": ("images", "known", "seed", "temperature"),
}


def signature_inputs(signature_name, condition=None, **inputs):
    """The inputs of one request as numpy arrays of the signature's dtypes.

    Args:
      signature_name: one of `SIGNATURES`.
      condition: for a conditional model, one condition per image: int
        labels `[batch]` (sent as int32), or float vectors `[batch, D]` or
        maps `[batch, h, w, c]` (sent as float32); else None.
      **inputs: the signature's other inputs (see the module doc): array-likes.

    Returns:
      `{name: np.ndarray}`, in the signature's dtypes.

    Raises:
      ValueError: an unknown signature, a missing or unexpected input, or
        values that the dtype cannot hold (e.g. pixels outside [0, 255]).
    """
    if signature_name not in _SIGNATURE_INPUTS:
        raise ValueError(
            f"Expected `signature_name` in {SIGNATURES}. "
            f"Received: signature_name={signature_name!r}"
        )
    expected = _SIGNATURE_INPUTS[signature_name]
    missing = [name for name in expected if inputs.get(name) is None]
    unexpected = sorted(
        name for name, value in inputs.items() if name not in expected and value is not None
    )
    if missing or unexpected:
        raise ValueError(
            f"Signature {signature_name!r} takes inputs {list(expected)} (and `condition` for "
            f"a conditional model). Received: missing={missing}, unexpected={unexpected}"
        )
    if condition is not None:
        inputs = {**inputs, CONDITION: condition}
    arrays = {}
    for name, value in inputs.items():
        if value is None:
            continue
        array = np.asarray(value)
        dtype = _condition_dtype(array) if name == CONDITION else INPUT_DTYPES[name]
        if np.issubdtype(dtype, np.integer) and array.size:
            if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_)):
                if not np.array_equal(array, np.round(array)):
                    raise ValueError(
                        f"Expected `{name}` to hold integers. Received: {name}.dtype="
                        f"{array.dtype} with non-integer values"
                    )
            info = np.iinfo(dtype)
            if array.min() < info.min or array.max() > info.max:
                raise ValueError(
                    f"Expected `{name}` values in [{info.min}, {info.max}] "
                    f"({np.dtype(dtype).name}). "
                    f"Received: values in [{array.min()}, {array.max()}]"
                )
        arrays[name] = array.astype(dtype)
    return arrays


def _condition_dtype(array):
    """int32 for labels, float32 for vectors and maps; the server checks the rest."""
    if np.issubdtype(array.dtype, np.integer):
        return np.int32
    if np.issubdtype(array.dtype, np.floating):
        return np.float32
    raise ValueError(
        "Expected `condition` to be int labels or float vectors or maps. "
        f"Received: condition.dtype={array.dtype}"
    )


def rest_url(host="localhost", port=REST_PORT, model_name=MODEL_NAME, version=None):
    """`http://host:port/v1/models/<name>[/versions/<version>]:predict`."""
    versioned = f"/versions/{int(version)}" if version is not None else ""
    return f"http://{host}:{port}/v1/models/{model_name}{versioned}:predict"


def rest_request(signature_name, inputs, row_format=False):
    """The JSON body of a REST predict request.

    Args:
      signature_name: the signature to call.
      inputs: `{name: np.ndarray}` from `signature_inputs`.
      row_format: `{"instances": [...]}` (one entry per batch item; every
        input must share the leading dimension, so not for `sample`) instead
        of the columnar `{"inputs": {...}}`.

    Returns:
      A JSON-serializable dict.
    """
    if not row_format:
        columns = {name: value.tolist() for name, value in inputs.items()}
        return {"signature_name": signature_name, "inputs": columns}
    sizes = {name: (value.shape[0] if value.ndim else None) for name, value in inputs.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(
            "The row format needs inputs that share a leading (batch) dimension; use the "
            f"columnar format. Received: leading sizes {sizes}"
        )
    if len(inputs) == 1:
        (value,) = inputs.values()
        instances = value.tolist()
    else:
        batch = next(iter(sizes.values()))
        instances = [{k: v[i].tolist() for k, v in inputs.items()} for i in range(batch)]
    return {"signature_name": signature_name, "instances": instances}


def rest_outputs(response):
    """The outputs of a REST response as `{name: np.ndarray}` (or one array).

    TF Serving answers the columnar format with `{"outputs": ...}` and the row
    format with `{"predictions": ...}`; a single output is not named.
    """
    key = "outputs" if "outputs" in response else "predictions"
    outputs = response[key]
    if isinstance(outputs, dict):
        return {name: np.asarray(value) for name, value in outputs.items()}
    if key == "predictions" and outputs and isinstance(outputs[0], dict):
        return {name: np.asarray([row[name] for row in outputs]) for name in outputs[0]}
    return np.asarray(outputs)


class ServingError(RuntimeError):
    """The server refused a request; `status` is the HTTP or gRPC status."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def rest_predict(url, body, timeout=60.0):
    """POSTs `body` (from `rest_request`) to `url`; returns the decoded JSON.

    Raises:
      ServingError: the server answered with an error (for example HTTP 400
        and TF Serving's INVALID_ARGUMENT message for a bad request), or
        none answered at `url` (status "UNAVAILABLE", the message naming it).
    """
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            text = json.loads(text).get("error", text)
        except ValueError:
            pass
        raise ServingError(error.code, text) from None
    except (urllib.error.URLError, OSError) as error:  # Refused, unknown host, timed out.
        reason = getattr(error, "reason", error)
        raise ServingError(
            "UNAVAILABLE", f"no TF Serving answered at {url} ({reason}). Is it running there?"
        ) from None


def _serving_apis():
    try:
        # Imported here: the REST client and the request builders work without it.
        from tensorflow_serving.apis import predict_pb2
        from tensorflow_serving.apis import prediction_service_pb2_grpc
    except ImportError as error:
        raise ImportError(
            "The gRPC client needs `tensorflow-serving-api`: pip install tensorflow-serving-api "
            "(or pip install 'pixel_rnn_tf[serving]'). The REST client needs nothing more."
        ) from error
    return predict_pb2, prediction_service_pb2_grpc


def grpc_request(signature_name, inputs, model_name=MODEL_NAME, version=None):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest`.

    Args:
      signature_name: the signature to call.
      inputs: `{name: np.ndarray}` from `signature_inputs`.
      model_name: the model's name in TF Serving's model config.
      version: a version to pin, or None for the latest.
    """
    predict_pb2, _ = _serving_apis()
    import tensorflow as tf  # A dependency of tensorflow-serving-api.

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=tf.as_dtype(value.dtype)))
    return request


def grpc_predict(target, request, timeout=60.0):
    """Sends `request` to `target` (`host:8500`); returns `{name: np.ndarray}`.

    Raises:
      ServingError: the server refused the request (e.g. INVALID_ARGUMENT).
    """
    import grpc
    import tensorflow as tf

    _, prediction_service_pb2_grpc = _serving_apis()
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as error:
            details = error.details()
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                details = f"no TF Serving answered at {target} ({details}). Is it running there?"
            raise ServingError(error.code().name, details) from None
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=None, help="default: 8501 (REST), 8500 (gRPC)")
    parser.add_argument("--protocol", choices=("rest", "grpc"), default="rest")
    parser.add_argument("--model_name", default=MODEL_NAME)
    parser.add_argument("--version", type=int, default=None)
    parser.add_argument("--signature", choices=SIGNATURES, default="sample")
    parser.add_argument("--images", help=".npy file of uint8 images [batch, H, W, C]")
    parser.add_argument("--known", help=".npy file of a bool mask [batch, H, W, C] (complete)")
    parser.add_argument("--num_samples", type=int, default=4)
    parser.add_argument("--seed", default="0,0", help="two ints, e.g. 1,2")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument(
        "--condition",
        help="a conditional model's condition, one per image: comma-separated int labels, "
        "or a .npy file (labels [batch], float vectors [batch, D] or maps [batch, h, w, c])",
    )
    return parser.parse_args(argv)


def _parse_condition(value):
    """`--condition`: a .npy path, or comma-separated int labels; None if unset."""
    if not value:
        return None
    if value.endswith(".npy"):
        return np.load(value)
    try:
        return np.array([int(s) for s in value.split(",")], np.int32)
    except ValueError:
        raise SystemExit(
            "--condition must be comma-separated int labels or a .npy file. "
            f"Received: --condition={value!r}"
        ) from None


def main(argv=None):
    """Runs one request; a refused request or no server is one line on stderr, exit status 1."""
    try:
        _main(argv)
    except (ServingError, ValueError, OSError) as error:
        raise SystemExit(f"client: {error}") from None


def _main(argv):
    args = _parse_args(argv)
    seed = [int(s) for s in args.seed.split(",")]
    condition = _parse_condition(args.condition)
    images = np.load(args.images) if args.images else None
    values = {
        "serving_default": dict(images=images),
        "log_prob": dict(images=images),
        "sample": dict(num_samples=args.num_samples, seed=seed, temperature=args.temperature),
        "complete": dict(
            images=images,
            known=np.load(args.known) if args.known else None,
            seed=seed,
            temperature=args.temperature,
        ),
    }[args.signature]
    inputs = signature_inputs(args.signature, condition=condition, **values)
    if args.protocol == "rest":
        url = rest_url(args.host, args.port or REST_PORT, args.model_name, args.version)
        outputs = rest_outputs(rest_predict(url, rest_request(args.signature, inputs)))
    else:
        request = grpc_request(args.signature, inputs, args.model_name, args.version)
        outputs = grpc_predict(f"{args.host}:{args.port or GRPC_PORT}", request)
    if not isinstance(outputs, dict):
        outputs = {"output": outputs}
    for name, value in outputs.items():
        print(f"{name}: shape {list(np.shape(value))}")
        print(np.asarray(value))


if __name__ == "__main__":
    main(sys.argv[1:])
