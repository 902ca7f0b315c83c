"""How tests/field_models/ops_tf2.21/*.tflite were made: small Keras models whose layers TensorFlow 2.21's
TFLiteConverter turns into the operators the Keras zoo uses (MobileNetV3's HARD_SWISH, PReLU, slicing and
splitting, UpSampling2D's RESIZE_*/TILE, Conv2DTranspose's TRANSPOSE_CONV; and one with operators we lack), each converted twice: float32 and full-integer int8 (a representative
dataset, int8 inputs and outputs). Random initial weights, seed 0; the representative inputs are uniform in
[-4, 4], so the int8 scales are those of real activations.

Not run by the tests (TensorFlow is not a dependency): `pip install tensorflow-cpu==2.21.0` in a separate
environment, then `python tests/field_models/make_tf_op_models.py tests/field_models/ops_tf2.21 [NAME...]`. The
converter's output is not byte-for-byte reproducible (its buffers' order varies); tests/test_tflite_field_ops.py
checks what the files hold against LiteRT, not their bytes.
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

L = keras.layers
SHAPE = (8, 8, 4)


def _convert(model, out: Path, name: str, shape=SHAPE) -> None:
    def representative():
        rng = np.random.default_rng(0)
        for _ in range(32):
            yield [rng.uniform(-4, 4, (1, *shape)).astype(np.float32)]

    (out / f"{name}_float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (out / f"{name}_int8.tflite").write_bytes(converter.convert())


def _input(shape=SHAPE):
    return keras.Input(shape, batch_size=1)


def hard_swish(out: Path) -> None:
    x = _input()
    _convert(keras.Model(x, L.Activation("hard_swish")(x)), out, "hard_swish")


def slicing(out: Path) -> None:
    """STRIDED_SLICE (a stride, a reversed axis, a begin), SPLIT, SPLIT_V and UNPACK; each result goes through
    an ADD so that the int8 converter keeps them int8 (a split feeding graph outputs directly stays float)."""
    x = _input()
    y = L.Conv2D(6, 1)(x)
    sliced = L.Lambda(lambda t: t[:, 1:7:2, ::-1, 1:5])(y)  # [1, 3, 8, 4]
    halves = L.Lambda(lambda t: tf.split(t, 2, axis=3))(y)  # SPLIT: two [1, 8, 8, 3]
    uneven = L.Lambda(lambda t: tf.split(t, [2, 4], axis=3))(y)  # SPLIT_V: [1, 8, 8, 2], [1, 8, 8, 4]
    rows = L.Lambda(lambda t: tf.unstack(t, axis=1))(y)  # UNPACK: eight [1, 8, 6]
    shrunk = L.Lambda(lambda t: t[:, 2, :, 0:4])(y)  # STRIDED_SLICE with a shrink axis: [1, 8, 4]
    outputs = [L.Add()([sliced, sliced]), L.Add()(halves), L.Add()([uneven[1][..., :2], uneven[0]]),
               L.Add()([rows[0], rows[5]]), L.Add()([shrunk, rows[3][..., 2:]])]
    _convert(keras.Model(x, outputs), out, "slicing")


def prelu(out: Path) -> None:
    x = _input()
    per_element = L.PReLU(alpha_initializer=keras.initializers.RandomUniform(0.05, 0.5))(x)  # alpha [8, 8, 4]
    y = L.Conv2D(4, 1)(x)
    per_channel = L.PReLU(alpha_initializer=keras.initializers.RandomUniform(-0.3, 0.6), shared_axes=[1, 2])(y)
    _convert(keras.Model(x, [per_element, per_channel]), out, "prelu")


def resize(out: Path) -> None:
    """UpSampling2D (nearest: Keras 3 writes RESHAPE + TILE; bilinear), Resizing (half-pixel centers) and the
    TF1 align_corners resizes."""
    x = _input()
    outputs = [
        L.UpSampling2D(2)(x),
        L.UpSampling2D(2, interpolation="bilinear")(x),
        L.Resizing(12, 10, interpolation="nearest")(x),
        L.Resizing(12, 10, interpolation="bilinear")(x),
        L.Resizing(5, 3, interpolation="bilinear")(x),  # down
        L.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (11, 13), align_corners=True))(x),
        L.Lambda(lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, (11, 13), align_corners=True))(x),
        L.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (12, 6)))(x),  # neither: asymmetric
        L.Lambda(lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, (12, 6)))(x),
        L.Lambda(lambda t: tf.tile(t, [1, 2, 1, 3]))(x),
    ]
    _convert(keras.Model(x, outputs), out, "resize")


def combined(out: Path) -> None:
    """A MobileNetV3-shaped block using the new operators together, small enough for a Cortex-M4 test."""
    x = _input()
    y = L.Conv2D(8, 3, padding="same")(x)
    y = L.Activation("hard_swish")(y)
    y = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.Constant(0.2))(y)
    a, b = L.Lambda(lambda t: tf.split(t, 2, axis=3))(y)
    a = L.Lambda(lambda t: t[:, ::2, 1:, :])(a)  # [1, 4, 7, 4]
    a = L.UpSampling2D(2)(a)  # [1, 8, 14, 4]
    b = L.Resizing(8, 14, interpolation="bilinear")(b)
    _convert(keras.Model(x, L.Add()([a, b])), out, "combined")


def transpose_conv(out: Path) -> None:
    """Conv2DTranspose (a decoder's upsampling): TRANSPOSE_CONV with SAME and VALID padding, a bias and a
    fused ReLU (a zero bias would be dropped by the converter)."""
    x = _input()
    bias = keras.initializers.RandomUniform(-0.5, 0.5)
    y = L.Conv2DTranspose(6, 3, strides=2, padding="same", activation="relu", bias_initializer=bias)(x)
    y = L.Conv2DTranspose(4, 2, strides=2, bias_initializer=bias)(y)
    z = L.Conv2DTranspose(3, 3, strides=1, padding="valid", bias_initializer=bias)(x)  # 8 -> 10
    _convert(keras.Model(x, [y, z]), out, "transpose_conv")


def unsupported(out: Path) -> None:
    """Operators the compiler does not have (CUMSUM twice, GELU once), for the grouped refusal."""
    x = _input()
    y = L.Lambda(lambda t: tf.math.cumsum(t, axis=1))(x)
    y = L.Lambda(lambda t: tf.math.cumsum(t, axis=2))(y)
    _convert(keras.Model(x, L.Activation("gelu")(y)), out, "unsupported")


def main(out: Path, names: list[str]) -> None:
    """Every model, or those named; each made right after seeding Keras with 0."""
    out.mkdir(parents=True, exist_ok=True)
    for make in (hard_swish, slicing, prelu, resize, combined, transpose_conv, unsupported):
        if not names or make.__name__ in names:
            keras.utils.set_random_seed(0)
            make(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
