"""How tests/field_models/float16_weights_tf2.21.tflite was made: a small MobileNet-shaped Keras model (random
initial weights) converted by TensorFlow 2.21's TFLiteConverter with float16 weight quantization, the option
MediaPipe's models are made with: every weight tensor is FLOAT16, read through a DEQUANTIZE.

Not run by the tests (TensorFlow is not a dependency): `pip install tensorflow-cpu==2.21.0` in a separate
environment, then `python tests/field_models/make_tf_models.py OUT_DIR`. The converter's output is not
byte-for-byte reproducible (its buffers' order varies); the shipped file's sha256 is
aae9b8aaa23a993f80d757307d69252be0fadb7cbd998967ac34aea856241ceb.
"""

import sys
from pathlib import Path

import tensorflow as tf


def main(out: Path) -> None:
    tf.random.set_seed(0)
    inp = tf.keras.Input((16, 16, 3), batch_size=1)
    x = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(320, 1, activation="relu")(x)  # the head's MEAN then runs over 320 channels
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(10)(x))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    (out / "float16_weights_tf2.21.tflite").write_bytes(converter.convert())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
