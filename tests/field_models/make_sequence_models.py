"""How tests/field_models/sequence_tf2.21/*.tflite were made: the industrial sequence case, 32 time steps of a
3-axis vibration signal ([1, 32, 3]) through a Keras LSTM(16) or GRU(16), then Dense(4). TensorFlow 2.21's
TFLiteConverter writes the LSTM as one UNIDIRECTIONAL_SEQUENCE_LSTM and the GRU as a WHILE loop over a cond and
a body subgraph (`gru_unrolled`: Keras's unroll=True, plain operators per step instead). Each is converted as
float32 and as full-integer int8 (a representative dataset, int8 inputs and outputs). Random initial weights,
seed 0; the representative inputs are sines of random frequency and phase plus noise, the signal's shape.

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


def signals(rng, count: int) -> np.ndarray:
    """Vibration-like [count, 32, 3]: a sine per axis (random frequency, phase, amplitude) plus noise."""
    t = np.arange(SHAPE[0])[None, :, None]
    freq = rng.uniform(0.05, 0.45, (count, 1, SHAPE[1]))
    phase = rng.uniform(0, 2 * np.pi, (count, 1, SHAPE[1]))
    amp = rng.uniform(0.5, 2.0, (count, 1, SHAPE[1]))
    return (amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.1, (count, *SHAPE))).astype(np.float32)


def _convert(model, out: Path, name: str) -> None:
    def representative():
        for x in signals(np.random.default_rng(0), 64):
            yield [x[None]]

    (out / f"{name}_float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (out / f"{name}_int8.tflite").write_bytes(converter.convert())


def _model(layer) -> keras.Model:
    keras.utils.set_random_seed(0)
    x = keras.Input(SHAPE, batch_size=1)
    return keras.Model(x, L.Dense(4)(layer(x)))


def lstm(out: Path) -> None:
    _convert(_model(L.LSTM(16)), out, "lstm")


def gru(out: Path) -> None:
    _convert(_model(L.GRU(16)), out, "gru")


def gru_unrolled(out: Path) -> None:
    _convert(_model(L.GRU(16, unroll=True)), out, "gru_unrolled")


def lstm_unrolled(out: Path) -> None:
    _convert(_model(L.LSTM(16, unroll=True)), out, "lstm_unrolled")


MODELS = {"lstm": lstm, "gru": gru, "gru_unrolled": gru_unrolled, "lstm_unrolled": lstm_unrolled}

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        MODELS[name](folder)
