"""How tests/field_models/int16x8_tf2.21/*.tflite were made: small Keras models converted by TensorFlow 2.21's
TFLiteConverter with 16x8 quantization (int16 activations, symmetric, zero point 0; int8 weights, per channel for
the convolutions; int64 biases): `supported_ops = [EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]`
and a representative dataset. Inputs and outputs stay float32, so each model starts with QUANTIZE (float32 ->
int16) and ends with DEQUANTIZE. Random initial weights, seed 0 (batch-norm statistics randomised too, so the
folded weights are not trivial); the representative inputs are uniform in [-4, 4].

  dscnn_16x8: a KWS-like DS-CNN block at small size: CONV_2D (stride 2, relu) -> DEPTHWISE_CONV_2D (relu) ->
              CONV_2D 1x1 (relu) -> ADD (residual) -> MAX_POOL_2D -> AVERAGE_POOL_2D -> RESHAPE ->
              FULLY_CONNECTED, whose int16 logits are both outputs (dequantized) and go through SOFTMAX (LiteRT's
              16-bit softmax, its exp and 1/(1+x) tables) to the second output.
  gate_16x8:  a GRU-like gate on the flattened input: FULLY_CONNECTED -> LOGISTIC and FULLY_CONNECTED -> TANH,
              their MUL, and the SUB of that product from the TANH, then FULLY_CONNECTED; the product and the last
              layer are the outputs.

Not run by the tests (TensorFlow is not a dependency): `pip install tensorflow-cpu==2.21.0` in a separate
environment, then `python tests/field_models/make_int16x8_models.py tests/field_models/int16x8_tf2.21`.
tests/test_int16x8.py checks what the files hold against LiteRT, not their bytes.
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

L = keras.layers
SHAPE = (16, 10, 1)  # a small spectrogram: 16 frames of 10 coefficients


def _convert(model, path: Path) -> None:
    def representative():
        rng = np.random.default_rng(0)
        for _ in range(64):
            yield [rng.uniform(-4, 4, (1, *SHAPE)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    path.write_bytes(converter.convert())


def _batchnorm(rng):
    """A BatchNormalization with random statistics: after folding, the convolution's weights and biases differ per
    channel as in a trained network."""
    def init(lo, hi):
        return keras.initializers.Constant(rng.uniform(lo, hi))
    return L.BatchNormalization(beta_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=1),
                                gamma_initializer=keras.initializers.RandomUniform(0.5, 1.5, seed=2),
                                moving_mean_initializer=keras.initializers.RandomUniform(-0.2, 0.2, seed=3),
                                moving_variance_initializer=init(0.5, 1.5))


def _block(x, rng):
    y = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    y = L.ReLU()(_batchnorm(rng)(y))
    z = L.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
    z = L.ReLU()(_batchnorm(rng)(z))
    z = L.Conv2D(8, 1, bias_initializer=keras.initializers.RandomUniform(-0.3, 0.3, seed=4))(z)
    z = L.ReLU()(z)
    y = L.Add()([y, z])
    y = L.MaxPooling2D(2)(y)
    y = L.AveragePooling2D((2, 1))(y)
    y = L.Flatten()(y)
    return L.Dense(4, bias_initializer=keras.initializers.RandomUniform(-0.3, 0.3, seed=5))(y)


def dscnn_16x8(out: Path) -> None:
    keras.utils.set_random_seed(0)
    x = keras.Input(SHAPE, batch_size=1)
    logits = _block(x, np.random.default_rng(0))
    _convert(keras.Model(x, [logits, L.Softmax()(logits)]), out / "dscnn_16x8.tflite")


def gate_16x8(out: Path) -> None:
    keras.utils.set_random_seed(0)
    x = keras.Input(SHAPE, batch_size=1)
    flat = L.Flatten()(x)
    gate = L.Dense(16, activation="sigmoid")(flat)
    candidate = L.Dense(16, activation="tanh")(flat)
    product = L.Multiply()([gate, candidate])
    rest = L.Subtract()([candidate, product])
    _convert(keras.Model(x, [product, L.Dense(4)(rest)]), out / "gate_16x8.tflite")


MODELS = {f.__name__: f for f in (dscnn_16x8, gate_16x8)}

if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        MODELS[name](out)
