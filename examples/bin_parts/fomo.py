"""FOMO decoding and scoring: a [12, 12, 6] cell map -> part centroids -> per-class precision / recall / F1
against the true centroids, and the confidence-based reject rule (numpy only).

Decoding: a cell is a candidate when its best part class has probability >= CANDIDATE (background is class 0
of the map); 8-connected candidate cells of the same class form one detection, placed at the probability-
weighted mean of their cell centres, with the component's highest probability as its confidence. A detection
counts when its confidence is >= DETECT.

Matching: per class, detections in falling confidence take the nearest unmatched true centroid of their class
within MATCH_RADIUS_PX (true positive); the rest are false positives; unmatched true parts are misses.

Reject: a bin goes to a human when any candidate's confidence is below ACCEPT, i.e. something is in the
bin that the model neither dismisses nor is sure of (a weak detection, or a part it almost saw).
The thresholds were chosen on validation bins, never on the held-out ones.
"""

from __future__ import annotations

import numpy as np

from examples.bin_parts.scenes import CLASSES, STRIDE, parts_of

CANDIDATE = 0.3
DETECT = 0.6
ACCEPT = 0.7
MATCH_RADIUS_PX = 8.0


def decode(probs: np.ndarray, threshold: float = CANDIDATE) -> list[tuple[int, float, float, float]]:
    """[GRID, GRID, 1 + classes] probabilities -> [(class, x px, y px, confidence), ...]."""
    part = probs[..., 1:]
    cls, conf = part.argmax(-1), part.max(-1)
    seen = np.zeros(conf.shape, bool)
    out = []
    for i, j in zip(*np.nonzero(conf >= threshold)):
        if seen[i, j]:
            continue
        k, stack, cells = cls[i, j], [(i, j)], []
        seen[i, j] = True
        while stack:  # flood fill over 8-connected cells of the same class
            a, b = stack.pop()
            cells.append((a, b))
            for da in (-1, 0, 1):
                for db in (-1, 0, 1):
                    y, x = a + da, b + db
                    if (0 <= y < conf.shape[0] and 0 <= x < conf.shape[1] and not seen[y, x]
                            and conf[y, x] >= threshold and cls[y, x] == k):
                        seen[y, x] = True
                        stack.append((y, x))
        w = np.array([conf[c] for c in cells])
        ys, xs = (np.array(cells, float) + 0.5).T * STRIDE
        out.append((int(k), float((w * xs).sum() / w.sum()), float((w * ys).sum() / w.sum()), float(w.max())))
    return out


def match(detections, truth, radius: float = MATCH_RADIUS_PX) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and misses per class for one bin."""
    n = len(CLASSES)
    tp, fp, fn = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    used = [False] * len(truth)
    for k, x, y, _ in sorted(detections, key=lambda d: -d[3]):
        best, best_d = None, radius
        for t, (c, tx, ty) in enumerate(truth):
            d = float(np.hypot(tx - x, ty - y))
            if c == k and not used[t] and d <= best_d:
                best, best_d = t, d
        if best is None:
            fp[k] += 1
        else:
            used[best] = True
            tp[k] += 1
    for (c, _, _), u in zip(truth, used):
        fn[c] += 0 if u else 1
    return tp, fp, fn


def rates(tp, fp, fn) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)) if p + r else 0.0,
            "tp": int(tp), "fp": int(fp), "fn": int(fn)}


def score(probs: np.ndarray, labels: np.ndarray, detect: float = DETECT, accept: float = ACCEPT) -> dict:
    """Detection metrics of cell maps [N, GRID, GRID, 6] against label rows [N, MAX_PARTS, 3]: per class and
    over all classes, on all bins and on the bins the reject rule accepts, and the reject rate."""
    n = len(CLASSES)
    counts = {"all": np.zeros((3, n), int), "accepted": np.zeros((3, n), int)}
    rejected, exact = 0, 0
    for p, rows in zip(probs, labels):
        candidates = decode(p)
        found = [d for d in candidates if d[3] >= detect]
        bin_counts = np.stack(match(found, parts_of(rows)))
        counts["all"] += bin_counts
        exact += int(bin_counts[1:].sum() == 0)
        if any(d[3] < accept for d in candidates):
            rejected += 1
        else:
            counts["accepted"] += bin_counts
    result = {"bins": len(probs), "thresholds": {"candidate": CANDIDATE, "detect": detect, "accept": accept,
                                                 "match_radius_px": MATCH_RADIUS_PX},
              "reject_rate": rejected / max(len(probs), 1), "bins_all_right": exact / max(len(probs), 1)}
    for key, c in counts.items():
        result[key] = {"per_class": {name: rates(*c[:, k]) for k, name in enumerate(CLASSES)},
                       "overall": rates(*c.sum(1))}
    return result
