"""Train the bin-parts CNN on synthetic images and export it to ONNX (needs PyTorch: pip install torch).

    python examples/bin_parts/train.py [--epochs 10] [--out examples/bin_parts/model.onnx]

Network (NHWC input [1, 32, 32, 1], grayscale in [0, 1]; the first op transposes to NCHW for ONNX's Conv, which
the edgeai ONNX frontend folds back into its NHWC layout):
    conv 3x3 1->8, relu  ->  conv 3x3 stride 2 8->16, relu  ->  conv 3x3 stride 2 16->32, relu
    ->  conv 3x3 stride 2 32->32, relu  ->  average pool 4x4 (global)  ->  fully connected 32->6
No batch norm (nothing to fold); strided convolutions rather than max pooling (edgeai's int8 max pool failed to
build for the 32x32x8 and 16x16x16 tensors when this was written); global average pooling before the classifier,
so flattening is layout-free.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.bin_parts.data import CLASSES, SIZE, generate  # noqa: E402

TRAIN_COUNT, VAL_COUNT = 6000, 1200
SEED = 7


def build_net():
    import torch
    from torch import nn

    class PartsNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU())
            self.classifier = nn.Linear(32, len(CLASSES))

        def forward(self, x):  # x: NHWC
            x = self.features(x.permute(0, 3, 1, 2))
            # 4 x 4 average pool = global average pool; exports as AveragePool, which quantizes to int8
            return self.classifier(torch.flatten(nn.functional.avg_pool2d(x, 4), 1))

    return PartsNet()


def export_onnx(net, path: Path) -> None:
    """Opset 13, static batch 1, NHWC float input 'image', output 'logits' [1, 6]."""
    import torch

    net.eval()
    torch.onnx.export(net, (torch.zeros(1, SIZE, SIZE, 1),), str(path), opset_version=13, dynamo=False,
                      input_names=["image"], output_names=["logits"], do_constant_folding=True)


def train(epochs: int, out: Path, log) -> float:
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    xs, ys = generate("train", TRAIN_COUNT)
    xv, yv = generate("val", VAL_COUNT)
    xs, ys, xv = torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(xv)
    net = build_net()
    params = sum(p.numel() for p in net.parameters())
    log(f"PartsNet: {params:,} parameters; {TRAIN_COUNT} train / {VAL_COUNT} val images; {epochs} epochs")
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=6e-3, total_steps=epochs * (TRAIN_COUNT // 64))
    gen = torch.Generator().manual_seed(SEED)
    start = time.monotonic()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(TRAIN_COUNT, generator=gen)
        total = 0.0
        for b in range(TRAIN_COUNT // 64):
            idx = order[b * 64:(b + 1) * 64]
            x = xs[idx]
            if b % 2:  # mirror augmentation: the parts have no handedness that matters here
                x = torch.flip(x, dims=(2,))
            loss = torch.nn.functional.cross_entropy(net(x), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        net.eval()
        with torch.no_grad():
            acc = float((net(xv).argmax(1).numpy() == yv).mean())
        log(f"epoch {epoch + 1:2d}  loss {total / (TRAIN_COUNT // 64):.4f}  val accuracy {acc * 100:.2f} %  "
            f"({time.monotonic() - start:.0f} s)")
    export_onnx(net, out)
    log(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return acc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=HERE / "model.onnx")
    ap.add_argument("--log", type=Path, default=HERE / "train_log.txt")
    args = ap.parse_args(argv)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    train(args.epochs, args.out, log)
    # Held-out accuracy of the exported file itself (onnxruntime), the number the README quotes.
    from examples.common import onnx_outputs

    xt, yt = generate("test", 1200)
    acc = float((onnx_outputs(args.out, xt).argmax(1) == yt).mean())
    log(f"held-out test accuracy (onnxruntime, float): {acc * 100:.2f} % on {len(yt)} images")
    args.log.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
