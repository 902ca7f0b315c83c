"""The CI regression gate: a new result may not be worse than its baseline by more than a tolerance."""

from __future__ import annotations

from edgeai.bench.jobs import job_key

# Lower is better for each; wall times are left out: they are not comparable between machines. The sizes are the
# linked ones (edgeai/elfsize.py): what the linker kept, so a kernel source that grows by code the firmware does not
# link moves nothing.
GATED = ("instructions", "flash_bytes", "ram_bytes", "arena_bytes", "model_code_bytes", "model_weight_bytes")


def regressions(baseline: dict, current: dict, max_regression: float) -> list[str]:
    """Messages naming each job and measure that got worse by more than max_regression (a fraction)."""
    old = {job_key(r): r for r in baseline.get("results", [])}
    problems = []
    for r in current.get("results", []):
        key = job_key(r)
        before = old.get(key)
        if before is None:
            continue
        if r.get("status") != "ok" and before.get("status") == "ok":
            problems.append(f"{key}: now fails: {r.get('error', '')[:200]}")
            continue
        for measure in GATED:
            a, b = before.get(measure), r.get(measure)
            if a and b is not None and b > a * (1 + max_regression):
                problems.append(f"{key}: {measure} {a:,} -> {b:,} (+{(b / a - 1) * 100:.1f}%, allowed "
                                f"{max_regression * 100:g}%)")
        if before.get("samples") and r.get("samples"):
            if r["bit_exact"] / r["samples"] < before["bit_exact"] / before["samples"]:
                problems.append(f"{key}: bit-exact {before['bit_exact']}/{before['samples']} -> "
                                f"{r['bit_exact']}/{r['samples']}")
    missing = set(old) - {job_key(r) for r in current.get("results", [])}
    problems += [f"{key}: in the baseline but not measured now" for key in sorted(missing)]
    return problems


def parse_percent(text: str) -> float:
    """"2%" -> 0.02. A bare number is refused: "2" could mean 2 % or a fraction of 2 (200 %), and reading it
    the wrong way would make the gate pass regressions a hundred times larger than meant."""
    text = text.strip()
    if not text.endswith("%"):
        raise ValueError(f"give the tolerance in percent with its sign, e.g. {text or '2'}%")
    try:
        value = float(text[:-1]) / 100
    except ValueError:
        raise ValueError("not a number of percent") from None
    if not value >= 0:  # also refuses nan
        raise ValueError("a regression tolerance cannot be negative")
    return value
