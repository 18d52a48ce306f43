"""`ModelConfig`, `MultiScaleConfig` and the named presets, the paper's among them.

A config is validated and normalized once, where it is made: everything
downstream (`build_model`, `PixelModel`, training, serving) takes it as it is.
"""

import dataclasses

from pixel_rnn_tf.layers import blocks as _blocks
from pixel_rnn_tf.layers.spatial_lstm import check_implementation
from pixel_rnn_tf import validation
from pixel_rnn_tf.validation import check_image_shape
from pixel_rnn_tf.validation import check_int
from pixel_rnn_tf.validation import check_num_levels
from pixel_rnn_tf.validation import is_int

# Every registered block (`layers.blocks.register_block`) is an architecture;
# these are the package's own.
ARCHITECTURES = _blocks.architectures()


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a model; the arguments of `build_model`.

    Attributes:
      arch: "pixel_cnn", "row_lstm", "diagonal_bilstm" or "gated_pixel_cnn"
        (any registered block, `layers.blocks.register_block`).
      image_shape: `(height, width, channels)`, channels 1 or 3.
      num_levels: values per channel: 2 for binarized data, 256 for 8-bit.
      num_layers: residual blocks after the first `7 x 7` mask-A layer.
      hidden_units: `h`; feature maps between blocks have `2h` features.
      output_units: features of the output stack's first `1 x 1` convolution;
        `None` means the paper's choice: 32 for binary data, else 1024.
      input_kernel_size: the first layer's kernel size (7, Table 1).
      kernel_size: PixelCNN and Gated PixelCNN block kernel and Row LSTM
        kernel width (3).
      residual: residual connections (§3.3).
      skip: learnable skip connections from every block to the output (§3.3).
      num_classes: `None`, or the number of classes to condition on: the
        condition is int labels `[batch]`.
      condition_shape: `None`, `(D,)` (the condition is a float vector
        `[batch, D]`) or `(h, w, c)` with `h` dividing the height and `w`
        the width (a float map `[batch, h, w, c]`). See `conditioning`.
      implementation: the recurrent layers' path, "auto", "reference" or
        "fused" (`layers.spatial_lstm.SpatialLSTM`); the same function of
        the same weights either way. Ignored by the convolutional blocks.
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
    condition_shape: tuple = None
    implementation: str = "auto"

    def __post_init__(self):
        validation.check_one_of("arch", self.arch, _blocks.architectures(), "architecture")
        image_shape = self.image_shape
        if isinstance(image_shape, (tuple, list)):
            image_shape = tuple(image_shape)
        object.__setattr__(self, "image_shape", check_image_shape(image_shape))
        check_num_levels(self.num_levels)
        check_int("num_layers", self.num_layers, 1)
        # Every color group needs at least one feature in each block.
        check_int("hidden_units", self.hidden_units, image_shape[2])
        if self.output_units is None:
            object.__setattr__(self, "output_units", 32 if self.num_levels == 2 else 1024)
        check_int("output_units", self.output_units, image_shape[2])
        for name in ("input_kernel_size", "kernel_size"):
            value = getattr(self, name)
            if not is_int(value) or value <= 0 or value % 2 == 0:
                raise ValueError(
                    f"Expected `{name}` to be a positive odd int. Received: {name}={value}"
                )
        for name in ("residual", "skip"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"Expected `{name}` to be a bool. Received: {name}={getattr(self, name)!r}"
                )
        check_implementation(self.implementation)
        if self.num_classes is not None:
            check_int("num_classes", self.num_classes, 1)
        if self.condition_shape is not None:
            if self.num_classes is not None:
                raise ValueError(
                    "A model takes one conditioning input: set `num_classes` (labels) or "
                    "`condition_shape` (a vector or a map), not both. Received: "
                    f"num_classes={self.num_classes}, condition_shape={self.condition_shape}"
                )
            object.__setattr__(
                self, "condition_shape", _check_condition_shape(self.condition_shape, image_shape)
            )

    @property
    def color_channels(self):
        return self.image_shape[2]

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config):
        """Builds a config from a dict, rejecting unknown keys by name."""
        return cls(**_known_fields(cls, config))

    def replace(self, **changes):
        """A copy with `changes`, validated like the original."""
        return self.from_dict({**self.to_dict(), **changes})


@dataclasses.dataclass(frozen=True)
class MultiScaleConfig:
    """The Multi-Scale PixelRNN (§3.5): a small subsampled image, then the rest.

    The small image is `images[:, ::f, ::f]` for the integer factor
    `f = large height / small height >= 2` (the same for the width). The
    `small` network models it; the `large` network models every other
    position, conditioned (as a map, `conditioning`) on the whole small
    image. Order: the subsampled positions first, in the small image's
    raster order, then every other position in raster order.

    Attributes:
      small: `ModelConfig` (or dict) of the small image's network.
      large: `ModelConfig` (or dict) of the full image's network; its
        condition is the small image, set here.
    """

    small: ModelConfig
    large: ModelConfig

    arch = "multiscale"
    num_classes = None
    condition_shape = None

    def __post_init__(self):
        for name in ("small", "large"):
            value = getattr(self, name)
            if isinstance(value, dict):
                value = ModelConfig.from_dict(value)
            if not isinstance(value, ModelConfig):
                raise ValueError(
                    f"Expected `{name}` to be a ModelConfig or a dict of its fields. "
                    f"Received: {name}={value!r}"
                )
            if value.num_classes is not None or value.condition_shape is not None:
                raise ValueError(
                    f"The multi-scale model conditions `large` on the small image itself, and "
                    f"takes no other condition. Received: {name}.num_classes="
                    f"{value.num_classes}, {name}.condition_shape={value.condition_shape}"
                )
            object.__setattr__(self, name, value)
        small, large = self.small.image_shape, self.large.image_shape
        factor = large[0] // small[0]
        if (
            factor < 2
            or large[:2] != (factor * small[0], factor * small[1])
            or small[2] != large[2]
            or self.small.num_levels != self.large.num_levels
        ):
            raise ValueError(
                "Expected `large.image_shape` to be `small.image_shape` scaled by one integer "
                "factor >= 2 in height and width, with the same channels and num_levels. "
                f"Received: small.image_shape={small}, large.image_shape={large}, "
                f"num_levels {self.small.num_levels} and {self.large.num_levels}"
            )

    @property
    def factor(self):
        return self.large.image_shape[0] // self.small.image_shape[0]

    @property
    def image_shape(self):
        return self.large.image_shape

    @property
    def num_levels(self):
        return self.large.num_levels

    @property
    def color_channels(self):
        return self.large.color_channels

    @property
    def large_network(self):
        """The `large` config with its condition: the scaled small image, a map."""
        return self.large.replace(condition_shape=self.small.image_shape)

    def to_dict(self):
        return {"small": self.small.to_dict(), "large": self.large.to_dict()}

    @classmethod
    def from_dict(cls, config):
        return cls(**_known_fields(cls, config))

    def replace(self, **changes):
        """A copy with `changes` applied to both networks (or `small=`/`large=`)."""
        small = changes.pop("small", self.small)
        large = changes.pop("large", self.large)
        if changes:
            small = (small if isinstance(small, ModelConfig) else ModelConfig.from_dict(small))
            large = (large if isinstance(large, ModelConfig) else ModelConfig.from_dict(large))
            small, large = small.replace(**changes), large.replace(**changes)
        return MultiScaleConfig(small=small, large=large)


def from_dict(config):
    """A `ModelConfig` or, for a dict with `small` and `large`, a `MultiScaleConfig`."""
    if isinstance(config, dict) and "small" in config:
        return MultiScaleConfig.from_dict(config)
    return ModelConfig.from_dict(config)


def normalize(config):
    """The config of `config`: a `ModelConfig`, `MultiScaleConfig`, dict or preset name."""
    if isinstance(config, str):
        return get(config)
    if isinstance(config, dict):
        return from_dict(config)
    if not isinstance(config, (ModelConfig, MultiScaleConfig)):
        raise ValueError(
            "Expected a ModelConfig, a MultiScaleConfig, a dict of fields or a preset name. "
            f"Received: config={config!r}"
        )
    return config


def _known_fields(cls, config):
    if not isinstance(config, dict):
        raise ValueError(f"Expected a dict of {cls.__name__} fields. Received: {config!r}")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(
            f"Unknown {cls.__name__} fields {unknown}. Expected a subset of {sorted(known)}."
        )
    return config


def _check_condition_shape(condition_shape, image_shape):
    shape = tuple(condition_shape) if isinstance(condition_shape, (tuple, list)) else None
    height, width, _ = image_shape
    if (
        shape is None
        or len(shape) not in (1, 3)
        or not all(is_int(d) and d > 0 for d in shape)
        or (len(shape) == 3 and (height % shape[0] or width % shape[1]))
    ):
        raise ValueError(
            "Expected `condition_shape` to be (D,) for a vector or (h, w, c) for a map, "
            f"with h dividing the height {height} and w the width {width}. "
            f"Received: condition_shape={condition_shape!r}"
        )
    return shape


_MNIST = dict(image_shape=(28, 28, 1), num_levels=2)
_CIFAR10 = dict(image_shape=(32, 32, 3), num_levels=256)
_DIGITS = dict(image_shape=(8, 8, 1), num_levels=2, output_units=32)


def _scaled(config, image_shape):
    return {**config, "image_shape": image_shape}


_MNIST_ROW_LSTM = dict(arch="row_lstm", num_layers=7, hidden_units=16, **_MNIST)
_IMAGENET64_ROW_LSTM = dict(
    arch="row_lstm", image_shape=(64, 64, 3), num_layers=4, hidden_units=512, residual=False
)

# Plain dicts of `ModelConfig` arguments. The paper gives the MNIST models'
# depth only for the Diagonal BiLSTM (1x32 and 7x16); the PixelCNN and the
# Row LSTM use its 7x16.
PRESETS = {
    # The paper's configurations (Table 1, §5).
    "mnist_pixel_cnn": dict(arch="pixel_cnn", num_layers=7, hidden_units=16, **_MNIST),
    "mnist_row_lstm": _MNIST_ROW_LSTM,
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
    # The Gated PixelCNN (van den Oord et al. 2016): at the PixelCNN's MNIST
    # budget (7x16), and its CIFAR-10 depth of 15 layers; h = 128 matches
    # the other CIFAR-10 presets.
    "mnist_gated_pixel_cnn": dict(
        arch="gated_pixel_cnn", num_layers=7, hidden_units=16, **_MNIST
    ),
    "cifar10_gated_pixel_cnn": dict(
        arch="gated_pixel_cnn", num_layers=15, hidden_units=128, **_CIFAR10
    ),
    "imagenet32_row_lstm_12x384": dict(
        arch="row_lstm", image_shape=(32, 32, 3), num_layers=12, hidden_units=384
    ),
    "imagenet64_row_lstm_4x512": _IMAGENET64_ROW_LSTM,
    # The Multi-Scale PixelRNN (§3.5): a 14x14 (32x32) image, then the rest.
    "mnist_multiscale_row_lstm": dict(
        small=_scaled(_MNIST_ROW_LSTM, (14, 14, 1)), large=_MNIST_ROW_LSTM
    ),
    "imagenet64_multiscale_row_lstm": dict(
        small=_scaled(_IMAGENET64_ROW_LSTM, (32, 32, 3)), large=_IMAGENET64_ROW_LSTM
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
    """The config of preset `name`, with optional field `overrides`.

    A multi-scale preset applies `overrides` to both of its networks.
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset. Expected one of {names()}. Received: name={name!r}")
    config = from_dict(PRESETS[name])
    return config.replace(**overrides) if overrides else config
