"""How tests/field_models/sequence_tf2.21/*.tflite were made: the industrial sequence case, a window of a 3-axis
vibration signal through a Keras LSTM(16) -> Dense(4) and, beside it, a GRU(16) -> Dense(4) (two outputs).

- `sequence_float.tflite`: 32 time steps ([1, 32, 3]). TensorFlow 2.21's TFLiteConverter (Keras 3) writes each
  layer as a WHILE loop over a cond and a body subgraph (5 subgraphs). Its int8 quantizer crashes on these loops
  (a segmentation fault in its calibrator), so there is no int8 WHILE file.
- `sequence_unrolled_int8.tflite`: Keras's unroll=True, plain operators per step, which the converter quantizes to
  full integer (a representative dataset, int8 inputs and outputs); 4 time steps ([1, 4, 3]): every int8 step
  has quantizations, hence kernels, of its own, and 4 steps keep the tests' compiles short.

- `lstm_fused_*.tflite`: a Keras 2 (`pip install tf_keras==2.21.0`) LSTM(16) over 32 steps -> Dense(4), which
  the converter fuses into one UNIDIRECTIONAL_SEQUENCE_LSTM, float32 and int8 (int16 cell state).

Random initial weights, seed 0; the representative inputs are sines of random frequency, phase and amplitude
plus noise, the signal's shape.

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
# The unrolled models (plain operators per step, the form the int8 converter can write) read the last 4 steps:
# every int8 step's operators have quantizations of their own, hence kernels of their own, and 8 steps keep a
# compile within seconds.
UNROLLED_STEPS = 4


def signals(rng, count: int) -> np.ndarray:
    """Vibration-like [count, 32, 3]: a sine per axis (random frequency, phase, amplitude) plus noise."""
    t = np.arange(SHAPE[0])[None, :, None]
    freq = rng.uniform(0.05, 0.45, (count, 1, SHAPE[1]))
    phase = rng.uniform(0, 2 * np.pi, (count, 1, SHAPE[1]))
    amp = rng.uniform(0.5, 2.0, (count, 1, SHAPE[1]))
    return (amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0, 0.1, (count, *SHAPE))).astype(np.float32)


def _convert(model, out: Path, name: str, int8: bool = True, float32: bool = True) -> None:
    def representative():
        for x in signals(np.random.default_rng(0), 64):
            yield [x[None, -model.input_shape[1]:]]

    if float32:
        (out / f"{name}_float.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    if not int8:
        return
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    (out / f"{name}_int8.tflite").write_bytes(converter.convert())


def _model(steps: int, unroll: bool) -> keras.Model:
    """x [1, steps, 3] -> LSTM(16) -> Dense(4) and, beside it, GRU(16) -> Dense(4): two outputs."""
    keras.utils.set_random_seed(0)
    x = keras.Input((steps, SHAPE[1]), batch_size=1)
    return keras.Model(x, [L.Dense(4)(L.LSTM(16, unroll=unroll)(x)), L.Dense(4)(L.GRU(16, unroll=unroll)(x))])


def while_loops(out: Path) -> None:
    _convert(_model(SHAPE[0], unroll=False), out, "sequence", int8=False)


def unrolled(out: Path) -> None:
    _convert(_model(UNROLLED_STEPS, unroll=True), out, "sequence_unrolled", float32=False)


def fused(out: Path) -> None:
    """Keras 2 (tf_keras) LSTM(16) over 32 steps -> Dense(4): the converter fuses Keras 2's LSTM into one
    UNIDIRECTIONAL_SEQUENCE_LSTM (float32, and int8 with an int16 cell state)."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input(SHAPE, batch_size=1)
    layers = tf_keras.layers
    _convert(tf_keras.Model(x, layers.Dense(4)(layers.LSTM(16)(x))), out, "lstm_fused")


MODELS = {"while_loops": while_loops, "unrolled": unrolled, "fused": fused}

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        MODELS[name](folder)
