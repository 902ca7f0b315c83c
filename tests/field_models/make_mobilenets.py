"""How tests/field_models/mobilenets_tf2.21/*.tflite were made: the Keras application models issue 17 names,
built by TensorFlow 2.21 (Keras 3.15) with random weights and converted to full-integer int8 (int8 inputs and
outputs) by its TFLiteConverter with a representative dataset:

- mobilenet_v2_0.35_96_int8.tflite: keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3)),
- mobilenet_v3_small_0.5_96_int8.tflite: keras.applications.MobileNetV3Small(alpha=0.5, minimalistic=False,
  input_shape=(96, 96, 3), include_preprocessing=False): hard-swish, squeeze-excite blocks with hard-sigmoid.
  Alpha 0.5, the widest that fits a Cortex-M7's 1 MiB flash: alpha does not narrow the top's 1,024-channel 1x1
  convolution, and at alpha 0.75 the model holds 1,022,283 weights (`edgeai analyze`: firmware 1,196,222 B of
  flash, 114%); at 1.0, 1.5 M.

Both with weights=None (no download) and a 10-class top (a 1,000-class top alone is 1.28 M int8 weights for
MobileNetV2, more than a Cortex-M7's 1 MiB flash; the field's 96x96 models are retrained on a few classes), its
softmax a separate layer so that the logits are a second output; dropout in MobileNetV3's top is inert at inference.
Random weights from Keras's initialisers after seeding with 0; the BatchNorm layers' gamma and beta are drawn at
random (gamma in [0.5, 1.5], beta in [-0.5, 0.5]) and their moving mean and variance are the batch statistics of 32
inputs uniform in [-1, 1] (one training-mode pass with momentum 0), so every layer's activations keep a real spread
through the network and the int8 scales are not degenerate. The same kind of inputs (another 64) is the
representative dataset.

Not run by the tests (TensorFlow is not a dependency): `pip install tensorflow-cpu==2.21.0` in a separate
environment, then `python tests/field_models/make_mobilenets.py tests/field_models/mobilenets_tf2.21 [NAME...]`.
The converter's output is not byte-for-byte reproducible (its buffers' order varies); tests/test_field_models.py
checks what the files hold against LiteRT, not their bytes.
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

SHAPE = (96, 96, 3)
CLASSES = 10


def _inputs(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (count, *SHAPE)).astype(np.float32)


def _set_batchnorm_statistics(model: keras.Model) -> None:
    """Random affine parameters, then moving statistics equal to one batch's: with momentum 0 a training-mode call
    replaces each BatchNorm's moving mean and variance by those of its input in that batch (with the earlier
    layers' statistics already normalising it)."""
    rng = np.random.default_rng(1)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        channels = layer.gamma.shape[0]
        layer.gamma.assign(rng.uniform(0.5, 1.5, channels).astype(np.float32))
        layer.beta.assign(rng.uniform(-0.5, 0.5, channels).astype(np.float32))
        layer.momentum = 0.0
    model(_inputs(32, seed=2), training=True)
    for layer in norms:
        layer.momentum = 0.99


def _convert(model: keras.Model, path: Path) -> None:
    def representative():
        for x in _inputs(64, seed=3):
            yield [x[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())


def _with_logits(model: keras.Model) -> keras.Model:
    """The classifier (built without its softmax) with its softmax as the first output and the logits as a second:
    int8 probabilities of ten classes are coarse, the logits show a difference anywhere in the network."""
    return keras.Model(model.input, [keras.layers.Softmax()(model.output), model.output])


def mobilenet_v2(out: Path) -> None:
    model = keras.applications.MobileNetV2(input_shape=SHAPE, alpha=0.35, weights=None, classes=CLASSES,
                                           classifier_activation=None)
    _set_batchnorm_statistics(model)
    model = _with_logits(model)
    _convert(model, out / "mobilenet_v2_0.35_96_int8.tflite")


def mobilenet_v3_small(out: Path) -> None:
    model = keras.applications.MobileNetV3Small(input_shape=SHAPE, alpha=0.5, minimalistic=False, weights=None,
                                                classes=CLASSES, include_preprocessing=False,
                                                classifier_activation=None)
    _set_batchnorm_statistics(model)
    model = _with_logits(model)
    _convert(model, out / "mobilenet_v3_small_0.5_96_int8.tflite")


def main(out: Path, names: list[str]) -> None:
    """Every model, or those named; each made right after seeding Keras with 0."""
    out.mkdir(parents=True, exist_ok=True)
    for make in (mobilenet_v2, mobilenet_v3_small):
        if not names or make.__name__ in names:
            keras.utils.set_random_seed(0)
            make(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
