"""Train the safety-zone person detector on synthetic ToF frames and export it to ONNX (needs PyTorch).

    python examples/safety_zones/train.py [--epochs 30] [--out examples/safety_zones/model.onnx]

Network: input 'depth' [1, 8, 8, 1] (NHWC, metres, 0 = invalid zone) -> flatten 64 -> fully connected 64 -> relu
-> fully connected 32 -> relu -> fully connected 2 = output 'person' [1, 2]: (presence score, ~0 or ~1; distance in
metres, FAR_M = 4.5 when nobody is there). Both outputs are regressions in similar ranges, so one int8 output
tensor (one scale, about 20 mm per step) carries both.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.safety_zones.data import COLS, FAR_M, ROWS, generate, to_input  # noqa: E402

TRAIN_COUNT, VAL_COUNT = 16000, 2000
SEED = 5


HIDDEN = (64, 32)


def build_net(hidden=HIDDEN):
    import torch
    from torch import nn

    class DepthNet(nn.Module):
        def __init__(self):
            super().__init__()
            layers, width = [], ROWS * COLS
            for h in hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            self.mlp = nn.Sequential(*layers, nn.Linear(width, 2))

        def forward(self, x):  # x: [N, 8, 8, 1]
            return self.mlp(torch.flatten(x, 1))

    return DepthNet()


def export_onnx(net, path: Path) -> None:
    import torch

    net.eval()
    torch.onnx.export(net, (torch.zeros(1, ROWS, COLS, 1),), str(path), opset_version=13, dynamo=False,
                      input_names=["depth"], output_names=["person"], do_constant_folding=True)


def targets(d: dict) -> np.ndarray:
    return np.stack([d["present"].astype(np.float32), d["distance"].astype(np.float32)], axis=1)


def metrics(pred: np.ndarray, d: dict) -> tuple[float, float]:
    """(presence accuracy, mean |distance error| in mm over frames with a person)."""
    acc = float(((pred[:, 0] >= 0.5) == d["present"]).mean())
    mae = float(np.abs(pred[d["present"], 1] - d["distance"][d["present"]]).mean() * 1000)
    return acc, mae


def train(epochs: int, out: Path, log, hidden=HIDDEN) -> None:
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    tr, va = generate("train", TRAIN_COUNT), generate("val", VAL_COUNT)
    xs, ys = torch.from_numpy(to_input(tr["frames"])), torch.from_numpy(targets(tr))
    xv = torch.from_numpy(to_input(va["frames"]))
    net = build_net(hidden)
    log(f"DepthNet {'-'.join(str(h) for h in (ROWS * COLS, *hidden, 2))}: {sum(p.numel() for p in net.parameters()):,} parameters; {TRAIN_COUNT} train / {VAL_COUNT} val "
        f"frames; {epochs} epochs")
    batch = 128
    steps = TRAIN_COUNT // batch
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=epochs * steps)
    gen = torch.Generator().manual_seed(SEED)
    start = time.monotonic()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(TRAIN_COUNT, generator=gen)
        total = 0.0
        for b in range(steps):
            idx = order[b * batch:(b + 1) * batch]
            x, y = xs[idx], ys[idx]
            p = net(x)
            loss = torch.nn.functional.mse_loss(p[:, 0], y[:, 0]) + \
                torch.nn.functional.smooth_l1_loss(p[:, 1], y[:, 1], beta=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if (epoch + 1) % 5 == 0 or epoch + 1 == epochs:
            net.eval()
            with torch.no_grad():
                acc, mae = metrics(net(xv).numpy(), va)
            log(f"epoch {epoch + 1:2d}  loss {total / steps:.4f}  val presence {acc * 100:.2f} %  "
                f"distance MAE {mae:.0f} mm  ({time.monotonic() - start:.0f} s)")
    export_onnx(net, out)
    log(f"wrote {out} ({out.stat().st_size:,} bytes)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--out", type=Path, default=HERE / "model.onnx")
    ap.add_argument("--log", type=Path, default=HERE / "train_log.txt")
    ap.add_argument("--hidden", default=",".join(map(str, HIDDEN)), help="hidden layer widths")
    args = ap.parse_args(argv)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    train(args.epochs, args.out, log, tuple(int(h) for h in args.hidden.split(",")))
    from examples.common import onnx_outputs

    te = generate("test", 2000)
    acc, mae = metrics(onnx_outputs(args.out, to_input(te["frames"])), te)
    log(f"held-out frames (onnxruntime, float): presence {acc * 100:.2f} %, distance MAE {mae:.0f} mm "
        f"on {len(te['present'])} frames ({int(te['present'].sum())} with a person; FAR_M = {FAR_M} m when none)")
    args.log.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
