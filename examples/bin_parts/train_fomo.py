"""Train the FOMO part detector on synthetic bins and export it as a full-integer int8 TFLite model.

TensorFlow is not an edgeai dependency; training runs in its own virtual environment:

    .venv/bin/python -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.21.0
    PYTHONPATH=. /tmp/tf/bin/python examples/bin_parts/train_fomo.py [--epochs 24] [--cache /tmp/bins]

Network: Keras MobileNetV2 (alpha 0.35, no pretrained weights, 96 x 96 x 1 grayscale input) cut at
`block_6_expand_relu` (stride 8, 12 x 12 x 96), then the FOMO head: 1x1 conv 96->32 + ReLU, 1x1 conv 32->6,
softmax per cell over background + the five part classes. Loss: cross-entropy per cell with the part cells
weighted OBJECT_WEIGHT times the background (a bin has at most 6 part cells among 144). Augmentation: the
eight flips / quarter turns of a bin, which move its centroid cells exactly (96 = 12 x 8).

Export: tf.lite.TFLiteConverter with 300 validation bins as the representative data set, int8 kernels only,
int8 input (scale 1/255, zero point -128 for pixels in [0, 1]) and int8 output (the softmax, scale 1/256).
Written: fomo_int8.tflite and train_fomo_log.txt next to this file (or --out / --log).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.bin_parts import fomo, scenes  # noqa: E402

TRAIN_COUNT, VAL_COUNT, CALIBRATION_COUNT = 3000, 400, 300
OBJECT_WEIGHT = 30.0
SEED = 7


def bins(split: str, count: int, cache: Path, log) -> tuple[np.ndarray, np.ndarray]:
    """Generated bins, cached as .npy (generation takes ~70 ms a bin)."""
    xp, lp = cache / f"{split}_{count}_x.npy", cache / f"{split}_{count}_labels.npy"
    if xp.is_file() and lp.is_file():
        return np.load(xp), np.load(lp)
    start = time.monotonic()
    x, labels = scenes.generate(split, count)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(xp, x)
    np.save(lp, labels)
    log(f"generated {count} {split} bins ({time.monotonic() - start:.0f} s)")
    return x, labels


def build_model():
    import keras

    base = keras.applications.MobileNetV2(input_shape=(scenes.SIZE, scenes.SIZE, 1), alpha=0.35,
                                          include_top=False, weights=None)
    for layer in base.layers:  # Keras' 0.999 suits ImageNet-length runs; from scratch in ~3,000 steps the moving
        if isinstance(layer, keras.layers.BatchNormalization):  # statistics would still be near their start
            layer.momentum = 0.9
    x = base.get_layer("block_6_expand_relu").output
    x = keras.layers.Conv2D(32, 1, activation="relu", name="head")(x)
    x = keras.layers.Conv2D(1 + len(scenes.CLASSES), 1, name="logits")(x)
    return keras.Model(base.input, keras.layers.Softmax(name="cells")(x), name="fomo_mobilenetv2_035")


def augment(x: np.ndarray, t: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """One of the eight symmetries of the square per batch, applied to images [B, H, W, 1] and targets [B, G, G]."""
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    x, t = np.rot90(x, k, axes=(1, 2)), np.rot90(t, k, axes=(1, 2))
    if flip:
        x, t = x[:, :, ::-1], t[:, :, ::-1]
    return np.ascontiguousarray(x), np.ascontiguousarray(t)


def convert(model, calibration: np.ndarray, out: Path) -> None:
    import tensorflow as tf

    def representative():
        for s in calibration:
            yield [s[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    out.write_bytes(conv.convert())


def tflite_cells(path: Path, x: np.ndarray) -> np.ndarray:
    """Run the int8 model (TensorFlow's interpreter) on real-valued bins: dequantized cell maps [N, G, G, 6]."""
    import tensorflow as tf

    it = tf.lite.Interpreter(model_path=str(path))
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    (si, zi), (so, zo) = i["quantization"], o["quantization"]
    out = []
    for s in x:
        it.set_tensor(i["index"], np.clip(np.round(s[None] / si) + zi, -128, 127).astype(np.int8))
        it.invoke()
        out.append((it.get_tensor(o["index"])[0].astype(np.float32) - zo) * so)
    return np.stack(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--bins", type=int, default=TRAIN_COUNT, help="training bins")
    ap.add_argument("--cache", type=Path, default=HERE / "data", help="where generated bins are kept as .npy")
    ap.add_argument("--out", type=Path, default=HERE / "fomo_int8.tflite")
    ap.add_argument("--log", type=Path, default=HERE / "train_fomo_log.txt")
    args = ap.parse_args(argv)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    keras.utils.set_random_seed(SEED)
    start = time.monotonic()
    xs, ls = bins("train", args.bins, args.cache, log)
    xv, lv = bins("val", VAL_COUNT, args.cache, log)
    ts = scenes.fomo_target(ls)
    model = build_model()
    log(f"{model.name}: {model.count_params():,} parameters; {args.bins} train / {VAL_COUNT} val bins; "
        f"{args.epochs} epochs; part cells weighted x{OBJECT_WEIGHT:g}")
    batch = 32
    steps = args.bins // batch
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, args.epochs * steps, warmup_target=None)
    opt = keras.optimizers.Adam(schedule)
    weights = tf.constant([1.0] + [OBJECT_WEIGHT] * len(scenes.CLASSES))

    @tf.function
    def step(x, t):
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            ce = keras.losses.sparse_categorical_crossentropy(t, p)
            loss = tf.reduce_mean(ce * tf.gather(weights, t))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    rng = np.random.default_rng(SEED)
    train_start = time.monotonic()
    for epoch in range(args.epochs):
        order = rng.permutation(args.bins)
        total = 0.0
        for b in range(steps):
            idx = order[b * batch:(b + 1) * batch]
            x, t = augment(xs[idx], ts[idx], rng)
            total += float(step(tf.constant(x), tf.constant(t)))
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            cells = model.predict(xv, batch_size=64, verbose=0)
            val = fomo.score(cells, lv)["all"]["overall"]
            extra = (f"  val P {val['precision']:.3f} R {val['recall']:.3f} F1 {val['f1']:.3f} "
                     f"(highest part probability {cells[..., 1:].max():.2f})")
        else:
            extra = ""
        log(f"epoch {epoch + 1:2d}  loss {total / steps:.4f}{extra}  ({time.monotonic() - train_start:.0f} s)")
    log(f"training {time.monotonic() - train_start:.0f} s wall")
    keras_path = args.cache / "fomo_float.keras"
    model.save(keras_path)
    convert(model, xv[:CALIBRATION_COUNT], args.out)
    log(f"wrote {args.out.name} ({args.out.stat().st_size:,} bytes); float model kept at {keras_path}")
    for name, cells in (("float (Keras)", model.predict(xv, batch_size=64, verbose=0)),
                        ("int8 (TFLite)", tflite_cells(args.out, xv))):
        s = fomo.score(cells, lv)
        o = s["all"]["overall"]
        log(f"val {name}: P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f}, "
            f"reject {s['reject_rate'] * 100:.1f} %, accepted-bin F1 {s['accepted']['overall']['f1']:.3f}")
    log(f"total {time.monotonic() - start:.0f} s wall")
    args.log.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
