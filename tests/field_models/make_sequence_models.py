"""How tests/field_models/sequence_tf2.21/*.tflite were made: the industrial sequence case, 32 time steps of a
3-axis vibration signal ([1, 32, 3]) through a Keras LSTM(16) or GRU(16), then Dense(4). TensorFlow 2.21's
TFLiteConverter (Keras 3) writes both as a WHILE loop over a cond and a body subgraph, in float32 (`lstm_float`,
`gru_float`); its int8 quantizer crashes on them (a segmentation fault in its calibrator), so there is no int8
WHILE file. With Keras's unroll=True it writes plain operators per step instead, and those it quantizes:
`lstm_unrolled_*`, `gru_unrolled_*`, float32 and full-integer int8 (a representative dataset, int8 inputs and
outputs), over the last 8 steps ([1, 8, 3]): each int8 step has quantizations, hence kernels, of its own, and
8 steps keep a compile within seconds. Random initial weights, seed 0; the representative inputs are sines of
random frequency, phase and amplitude plus noise, the signal's shape.

Not run by the tests (TensorFlow is not a dependency): `pip install tensorflow-cpu==2.21.0` in a separate
environment, then `python tests/field_models/make_sequence_models.py tests/field_models/sequence_tf2.21`. The
converter's output is not byte-for-byte reproducible; tests/test_sequence_models.py checks what the files hold
against LiteRT, not their bytes.
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

L = keras.layers
SHAPE = (32, 3)  # time steps, axes
# The unrolled models (plain operators per step, the form the int8 converter can write) read the last 8 steps:
# every int8 step's operators have quantizations of their own, hence kernels of their own, and 8 steps keep a
# compile within seconds.
UNROLLED_STEPS = 8


def signals(rng, count: int) -> np.ndarray:
    """Vibration-like [count, 32, 3]: a sine per axis (random frequency, phase, amplitude) plus noise."""
    t = np.arange(SHAPE[0])[None, :, None]
    freq = rng.uniform(0.05, 0.45, (count, 1, SHAPE[1]))
    phase = rng.uniform(0, 2 * np.pi, (count, 1, SHAPE[1]))
    amp = rng.uniform(0.5, 2.0, (count, 1, SHAPE[1]))
    return (amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.1, (count, *SHAPE))).astype(np.float32)


def _convert(model, out: Path, name: str, int8: bool = True) -> None:
    def representative():
        for x in signals(np.random.default_rng(0), 64):
            yield [x[None, -model.input_shape[1]:]]

    (out / f"{name}_float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    if not int8:
        return
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (out / f"{name}_int8.tflite").write_bytes(converter.convert())


def _model(layer, steps: int = SHAPE[0]) -> keras.Model:
    keras.utils.set_random_seed(0)
    x = keras.Input((steps, SHAPE[1]), batch_size=1)
    return keras.Model(x, L.Dense(4)(layer(x)))


def lstm(out: Path) -> None:
    _convert(_model(L.LSTM(16)), out, "lstm", int8=False)


def gru(out: Path) -> None:
    _convert(_model(L.GRU(16)), out, "gru", int8=False)


def gru_unrolled(out: Path) -> None:
    _convert(_model(L.GRU(16, unroll=True), UNROLLED_STEPS), out, "gru_unrolled")


def lstm_unrolled(out: Path) -> None:
    _convert(_model(L.LSTM(16, unroll=True), UNROLLED_STEPS), out, "lstm_unrolled")


MODELS = {"lstm": lstm, "gru": gru, "gru_unrolled": gru_unrolled, "lstm_unrolled": lstm_unrolled}

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        MODELS[name](folder)
