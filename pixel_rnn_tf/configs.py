"""`ModelConfig` and the named presets, the paper's configurations among them."""

import dataclasses

ARCHITECTURES = ("pixel_cnn", "row_lstm", "diagonal_bilstm")
COLOR_CHANNELS = (1, 3)
MAX_LEVELS = 256


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a model; the arguments of `build_model`.

    Attributes:
      arch: "pixel_cnn", "row_lstm" or "diagonal_bilstm".
      image_shape: `(height, width, channels)`, channels 1 or 3.
      num_levels: values per channel: 2 for binarized data, 256 for 8-bit.
      num_layers: residual blocks after the first `7 x 7` mask-A layer.
      hidden_units: `h`; feature maps between blocks have `2h` features.
      output_units: features of the output stack's first `1 x 1` convolution;
        `None` means the paper's choice: 32 for binary data, else 1024.
      input_kernel_size: the first layer's kernel size (7, Table 1).
      kernel_size: PixelCNN block kernel and Row LSTM kernel width (3).
      residual: residual connections (§3.3).
      skip: learnable skip connections from every block to the output (§3.3).
      num_classes: `None`, or the number of classes to condition on.
    """

    arch: str
    image_shape: tuple
    num_levels: int = 256
    num_layers: int = 12
    hidden_units: int = 128
    output_units: int = None
    input_kernel_size: int = 7
    kernel_size: int = 3
    residual: bool = True
    skip: bool = True
    num_classes: int = None

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(
                f"Unknown architecture. Expected one of {ARCHITECTURES}. Received: arch={self.arch!r}"
            )
        image_shape = tuple(self.image_shape)
        if (
            len(image_shape) != 3
            or not all(isinstance(d, int) and d > 0 for d in image_shape)
            or image_shape[2] not in COLOR_CHANNELS
        ):
            raise ValueError(
                "Expected `image_shape` to be (height, width, channels) with positive "
                f"sizes and channels in {COLOR_CHANNELS}. Received: image_shape={self.image_shape}"
            )
        object.__setattr__(self, "image_shape", image_shape)
        _check_int("num_levels", self.num_levels, 2, MAX_LEVELS)
        _check_int("num_layers", self.num_layers, 1)
        # Every color group needs at least one feature in each block.
        _check_int("hidden_units", self.hidden_units, image_shape[2])
        if self.output_units is None:
            object.__setattr__(self, "output_units", 32 if self.num_levels == 2 else 1024)
        _check_int("output_units", self.output_units, image_shape[2])
        for name in ("input_kernel_size", "kernel_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0 or value % 2 == 0:
                raise ValueError(
                    f"Expected `{name}` to be a positive odd int. Received: {name}={value}"
                )
        if self.num_classes is not None:
            _check_int("num_classes", self.num_classes, 1)

    @property
    def color_channels(self):
        return self.image_shape[2]

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config):
        """Builds a config from a dict, rejecting unknown keys by name."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"Unknown ModelConfig fields {unknown}. Expected a subset of {sorted(known)}."
            )
        return cls(**config)

    def replace(self, **changes):
        """A copy with `changes`, validated like the original."""
        return self.from_dict({**self.to_dict(), **changes})


def _check_int(name, value, minimum, maximum=None):
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        expected = f"an int in [{minimum}, {maximum}]" if maximum else f"an int >= {minimum}"
        raise ValueError(f"Expected `{name}` to be {expected}. Received: {name}={value!r}")


_MNIST = dict(image_shape=(28, 28, 1), num_levels=2)
_CIFAR10 = dict(image_shape=(32, 32, 3), num_levels=256)
_DIGITS = dict(image_shape=(8, 8, 1), num_levels=2, output_units=32)

# Plain dicts of `ModelConfig` arguments. The paper gives the MNIST models'
# depth only for the Diagonal BiLSTM (1x32 and 7x16); the PixelCNN and the
# Row LSTM use its 7x16.
PRESETS = {
    # The paper's configurations (Table 1, §5).
    "mnist_pixel_cnn": dict(arch="pixel_cnn", num_layers=7, hidden_units=16, **_MNIST),
    "mnist_row_lstm": dict(arch="row_lstm", num_layers=7, hidden_units=16, **_MNIST),
    "mnist_diagonal_bilstm_1x32": dict(
        arch="diagonal_bilstm", num_layers=1, hidden_units=32, **_MNIST
    ),
    "mnist_diagonal_bilstm_7x16": dict(
        arch="diagonal_bilstm", num_layers=7, hidden_units=16, **_MNIST
    ),
    "cifar10_pixel_cnn_15x128": dict(
        arch="pixel_cnn", num_layers=15, hidden_units=128, **_CIFAR10
    ),
    "cifar10_row_lstm_12x128": dict(arch="row_lstm", num_layers=12, hidden_units=128, **_CIFAR10),
    "cifar10_diagonal_bilstm_12x128": dict(
        arch="diagonal_bilstm", num_layers=12, hidden_units=128, **_CIFAR10
    ),
    "imagenet32_row_lstm_12x384": dict(
        arch="row_lstm", image_shape=(32, 32, 3), num_layers=12, hidden_units=384
    ),
    "imagenet64_row_lstm_4x512": dict(
        arch="row_lstm", image_shape=(64, 64, 3), num_layers=4, hidden_units=512, residual=False
    ),
    # Small models that train in minutes on a CPU.
    "digits_pixel_cnn": dict(arch="pixel_cnn", num_layers=4, hidden_units=16, **_DIGITS),
    "digits_row_lstm": dict(arch="row_lstm", num_layers=2, hidden_units=16, **_DIGITS),
    "digits_diagonal_bilstm": dict(
        arch="diagonal_bilstm", num_layers=2, hidden_units=16, **_DIGITS
    ),
    "mnist_small_pixel_cnn": dict(arch="pixel_cnn", num_layers=3, hidden_units=16, **_MNIST),
    "mnist_small_row_lstm": dict(arch="row_lstm", num_layers=2, hidden_units=16, **_MNIST),
    "mnist_small_diagonal_bilstm": dict(
        arch="diagonal_bilstm", num_layers=1, hidden_units=16, **_MNIST
    ),
}


def names():
    """The preset names, sorted."""
    return sorted(PRESETS)


def get(name, **overrides):
    """The `ModelConfig` of preset `name`, with optional field `overrides`."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset. Expected one of {names()}. Received: name={name!r}")
    return ModelConfig.from_dict({**PRESETS[name], **overrides})
