"""The ONNX project's own backend node test cases (onnx.backend.test), run through our compiler on the host.

For every node test case whose nodes are all ops we claim, the inputs a deployment compiler sees as constants
(weights, biases, shapes, pads, clip bounds, BN statistics, Q/DQ parameters: every input a node reads at
position >= 1, except Concat's) become initializers taken from the test data; the rest stay graph inputs.
Each case is compiled on its own (frontend import first: cheap rejections before TVM), built with gcc
-Werror, run, and compared with the expected outputs at onnx's runner tolerances (rtol 1e-3, atol 1e-7 for
float; exact for integers).

passed:  outputs match.
skipped: our frontend or compiler raised UnsupportedOpError (an attribute, dtype or shape we refuse, clearly).
failed:  anything else (wrong numbers, a crash, a ModelError on a valid ONNX file).

The cases come from `onnx/backend/test/data/node/<case>/` when the installed onnx ships them; the PyPI wheel
ships only their generators (`onnx/backend/test/case/node/<op>.py`, the code that writes those files), so
otherwise the same cases are generated in memory from the generator modules of the claimed ops.

One test per claimed op runs all its cases (names are known without generating the cases, so collecting
this module costs nothing); at the end the module prints `onnx backend node tests: N passed, M skipped, K failed` with the skip reasons
grouped, and writes build/onnx_backend_summary.json.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgeai import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.toolchain]

CLAIMED = {
    "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "AveragePool", "MaxPool", "GlobalAveragePool",
    "ReduceMean", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Softmax", "Relu", "Clip", "Concat", "Pad",
    "Transpose", "QuantizeLinear", "DequantizeLinear", "Sigmoid", "Tanh", "BatchNormalization", "Identity",
    "Sum", "LRN", "Pow", "Resize", "Upsample",
}
# The generator modules (onnx/backend/test/case/node/<module>.py) of the claimed ops.
GENERATORS = (
    "conv", "gemm", "matmul", "add", "sub", "mul", "div", "averagepool", "maxpool", "globalaveragepool",
    "reducemean", "reshape", "flatten", "squeeze", "unsqueeze", "softmax", "relu", "clip", "concat", "pad",
    "transpose", "quantizelinear", "dequantizelinear", "sigmoid", "tanh", "batch_normalization", "identity",
    "sum", "lrn", "pow", "resize", "upsample",
)
# Ops whose inputs at position >= 1 are activations too.
ALL_ACTIVATIONS = {"Concat", "Sum"}
RTOL, ATOL = 1e-3, 1e-7
SUMMARY = REPO_ROOT / "build" / "onnx_backend_summary.json"


@dataclass
class Case:
    name: str
    model: object  # onnx.ModelProto
    inputs: list  # numpy arrays, in graph-input order
    outputs: list


def _node_data_dir() -> Path:
    import onnx

    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"


def _claims(model) -> bool:
    nodes = model.graph.node
    return bool(nodes) and all(n.op_type in CLAIMED and n.domain in ("", "ai.onnx") for n in nodes)


def _read_pb(path: Path):
    import onnx
    from onnx import numpy_helper

    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def _cases_from_files(root: Path) -> list[Case]:
    import onnx

    cases = []
    for folder in sorted(p for p in root.iterdir() if (p / "model.onnx").is_file()):
        model = onnx.load(str(folder / "model.onnx"))
        if not _claims(model):
            continue
        data = sorted(folder.glob("test_data_set_*"))
        if not data:
            continue
        try:
            ins = [_read_pb(p) for p in sorted(data[0].glob("input_*.pb"), key=lambda p: int(p.stem.split("_")[1]))]
            outs = [_read_pb(p) for p in sorted(data[0].glob("output_*.pb"), key=lambda p: int(p.stem.split("_")[1]))]
        except Exception:  # sequences and optionals are not TensorProtos: not ours anyway
            continue
        cases.append(Case(folder.name, model, ins, outs))
    return cases


def _cases_from_generators() -> list[Case]:
    import warnings

    import onnx
    import onnx.backend.test.case.node as node_cases
    from onnx import numpy_helper

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in GENERATORS:
            importlib.import_module(f"{node_cases.__name__}.{module}")  # each export appends its cases
    cases = []
    for tc in node_cases._NodeTestCases:
        if tc.model is None or not tc.data_sets or not _claims(tc.model):
            continue
        ins, outs = tc.data_sets[0]
        if any(isinstance(a, (list, tuple, dict)) or a is None for a in list(ins) + list(outs)):
            continue  # sequence/optional values
        # What the .pb files would hold: scalars as 0-d arrays, float8/int4 TensorProtos as ml_dtypes arrays.
        ins, outs = ([numpy_helper.to_array(a) if isinstance(a, onnx.TensorProto) else np.asarray(a) for a in values]
                     for values in (ins, outs))
        cases.append(Case(tc.name, tc.model, ins, outs))
    return cases


_CASES: dict[str, Case] | None = None


def all_cases() -> dict[str, Case]:
    global _CASES
    if _CASES is None:
        root = _node_data_dir()
        cases = _cases_from_files(root) if root.is_dir() else _cases_from_generators()
        _CASES = {c.name: c for c in cases}
    return _CASES


def deployable(case: Case):
    """The case's model with its constant-by-role inputs turned into initializers; returns (model, feeds)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    const = set()
    for node in g.node:
        if node.op_type in ALL_ACTIVATIONS:
            continue
        const.update(name for name in list(node.input)[1:] if name)
    values = dict(zip([i.name for i in g.input], case.inputs))
    keep, feeds = [], []
    for value in g.input:
        if value.name in const:
            g.initializer.append(numpy_helper.from_array(values[value.name], value.name))
        else:
            keep.append(value)
            feeds.append(values[value.name])
    del g.input[:]
    g.input.extend(keep)
    return model, feeds


def _reason(message: str) -> str:
    """A skip reason without the file path and node names, so equal reasons group."""
    line = message.splitlines()[0]
    line = re.sub(r"^\S+\.onnx: ", "", line)
    line = re.sub(r"node '[^']*' ", "", line)
    line = re.sub(r"'[^']*'", "'…'", line)
    return line


_DTYPE = r"\b(?:u?int\d+|float\d+\w*|bool)\b"


def _group(reason: str) -> str:
    """Skip reasons that differ only in the op or the dtype fall in one group."""
    reason = re.sub(r"^\(\w+\): ", "", reason)
    reason = re.sub(r"^\w+ on (?=\S+ tensors \(plain)", "arithmetic on ", reason)
    reason = re.sub(r"^node '…': \w+ on", "lowering on", reason)
    reason = re.sub(r" \(\w+ is lowered only for [^)]*\)", "", reason)
    return re.sub(_DTYPE, "<dtype>", reason)


def run_case(case: Case, workdir: Path) -> tuple[str, str]:
    """('passed' | 'skipped' | 'failed', detail)."""
    import onnx

    from edgeai.compile import compile_model
    from edgeai.errors import UnsupportedOpError
    from edgeai.frontends.onnx import load_onnx
    from edgeai.runtime.host import HostSession

    model, feeds = deployable(case)
    path = workdir / f"{case.name}.onnx"
    onnx.save(model, str(path))
    try:
        graph = load_onnx(path)  # the cheap rejections, before TVM
        lib = compile_model(graph, "host", workdir / case.name)
    except UnsupportedOpError as e:
        return "skipped", _reason(str(e))
    except Exception as e:  # noqa: BLE001 - a crash on a valid file is a failure, reported with its type
        return "failed", f"compile: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    try:
        got = HostSession(lib.path).run(feeds)
    except Exception as e:  # noqa: BLE001
        return "failed", f"run: {type(e).__name__}: {str(e)[:300]}"
    if len(got) != len(case.outputs):
        return "failed", f"{len(got)} outputs, expected {len(case.outputs)}"
    for k, (g, want) in enumerate(zip(got, case.outputs)):
        want = np.asarray(want)
        if g.shape != want.shape or g.dtype != want.dtype:
            return "failed", f"output {k}: {g.dtype}{list(g.shape)}, expected {want.dtype}{list(want.shape)}"
        if np.issubdtype(want.dtype, np.floating):
            bad = ~np.isclose(g, want, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            bad = g != want
        if bad.any():
            err = np.abs(g.astype(np.float64) - want.astype(np.float64))
            return "failed", f"output {k}: {int(bad.sum())}/{bad.size} values off, max abs error {err.max():.3g}"
    return "passed", ""


class Results:
    def __init__(self):
        self.status: dict[str, tuple[str, str]] = {}
        self.start = time.perf_counter()

    def summary(self) -> dict:
        counts = Counter(s for s, _ in self.status.values())
        reasons = defaultdict(list)
        for name, (s, why) in sorted(self.status.items()):
            if s == "skipped":
                reasons[_group(why)].append(name)
        return {
            "passed": counts["passed"], "skipped": counts["skipped"], "failed": counts["failed"],
            "seconds": round(time.perf_counter() - self.start, 1),
            "skip_reasons": {why: names for why, names in sorted(reasons.items(), key=lambda kv: -len(kv[1]))},
            "failures": {n: why for n, (s, why) in sorted(self.status.items()) if s == "failed"},
            "passed_cases": sorted(n for n, (s, _) in self.status.items() if s == "passed"),
        }

    def report(self, write) -> None:
        s = self.summary()
        write(f"onnx backend node tests: {s['passed']} passed, {s['skipped']} skipped, {s['failed']} failed "
              f"({s['seconds']} s)")
        for why, names in s["skip_reasons"].items():
            write(f"  skipped {len(names):3d}: {why}  [{', '.join(names[:3])}{', …' if len(names) > 3 else ''}]")
        for name, why in s["failures"].items():
            write(f"  FAILED {name}: {why}")


@pytest.fixture(scope="module")
def results(request):
    res = Results()
    yield res
    if not res.status:
        return
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(res.summary(), indent=1) + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        res.report(print)
        return
    with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
        reporter.write_line("")
        res.report(reporter.write_line)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-node")


def cases_of(op: str) -> list[Case]:
    """The cases whose first node is `op` (expanded function cases go with the op they are made of)."""
    return [c for _, c in sorted(all_cases().items()) if c.model.graph.node[0].op_type == op]


@pytest.mark.parametrize("op", sorted(CLAIMED))
def test_node_cases(op, results, workdir):
    """Every case of one op: passed or skipped (UnsupportedOpError); any failure fails the op."""
    failed = []
    for case in cases_of(op):
        status, detail = run_case(case, workdir)
        results.status[case.name] = (status, detail)
        if status == "failed":
            failed.append(f"{case.name}: {detail}")
    assert not failed, f"{len(failed)} {op} case(s) failed:\n" + "\n".join(failed)


def test_node_cases_were_found():
    """An empty case list would make the suite above pass vacuously."""
    found = Counter(c.model.graph.node[0].op_type for c in all_cases().values())
    assert sum(found.values()) >= 150, f"only {sum(found.values())} ONNX node test cases found: {dict(found)}"
    assert set(found) == CLAIMED, f"no node test case for {sorted(CLAIMED - set(found))}"


if __name__ == "__main__":  # python tests/test_onnx_backend.py [name-regex]: the whole run without pytest
    import sys
    import tempfile

    pattern = re.compile(sys.argv[1] if len(sys.argv) > 1 else "")
    res = Results()
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in sorted(all_cases().items()):
            if pattern.search(name):
                res.status[name] = run_case(case, Path(tmp))
                print(f"{res.status[name][0]:8s} {name} {res.status[name][1]}", flush=True)
    res.report(print)
