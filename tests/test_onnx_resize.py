"""ONNX Resize and Upsample: the source rows, columns and weights the lowering computes (compilers/lowering/
resize_onnx.py), checked against onnxruntime on small images for every mode, coordinate transform and nearest
mode, and what the importer refuses. The compiled kernels are compared with onnxruntime in
tests/test_onnx_field_ops.py (float, int8 QDQ in both numerics, Cortex-M4 and rpi4)."""

from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compilers.lowering import resize_onnx

ort = pytest.importorskip("onnxruntime")

TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
              "half_pixel_symmetric")
NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
# (input H, W), and the scales or sizes: up and down, integer and fractional factors, a size of 1, an axis kept
SHAPES = (((4, 5), "scales", (2.0, 3.0)), ((4, 5), "scales", (2.5, 1.7)), ((6, 7), "sizes", (3, 4)),
          ((5, 6), "scales", (0.6, 0.5)), ((3, 8), "sizes", (7, 8)), ((1, 5), "sizes", (1, 9)))


def _model(mode, shape, given, values, opset=19, op="Resize", **attrs):
    if op == "Upsample" or opset == 10:
        inputs, inits = ["x", "scales"], [numpy_helper.from_array(np.array((1, 1) + values, np.float32), "scales")]
    else:
        kind = np.float32 if given == "scales" else np.int64
        lead = (1, 1) if given == "scales" else (1, 2)
        inputs = ["x", "", "scales"] + (["sizes"] if given == "sizes" else [])
        inputs[2] = inputs[2] if given == "scales" else ""
        inits = [numpy_helper.from_array(np.array(lead + values, kind), given)]
    node = helper.make_node(op, inputs, ["y"], mode=mode, **attrs)
    graph = helper.make_graph([node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 2) + shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    return model


def _onnxruntime(model, x):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # tf_half_pixel_for_nn's deprecation warning
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]


def _gather(x, rows, cols):
    return x[:, :, rows][:, :, :, cols]


def _tables_resize(x, mode, transform, out_hw, scales, **kw):
    """x resized through the lowering's tables, in numpy."""
    axes = [(transform, x.shape[2 + i], out_hw[i], scales[i]) for i in (0, 1)]
    if mode == "nearest":
        rows, cols = (resize_onnx.nearest_sources(t, kw["nearest_mode"], *rest) for t, *rest in axes)
        return _gather(x, rows, cols)
    if mode == "linear":
        (r0, r1, wy), (c0, c1, wx) = (resize_onnx.linear_taps(*axis) for axis in axes)
        rows, wys = np.stack([r0, r1], 1), np.stack([1 - wy, wy], 1)
        cols, wxs = np.stack([c0, c1], 1), np.stack([1 - wx, wx], 1)
    else:
        (rows, wys), (cols, wxs) = (resize_onnx.cubic_taps(*axis, kw["a"], kw["exclude"]) for axis in axes)
    out = np.zeros(x.shape[:2] + tuple(out_hw), np.float64)
    for i, j in itertools.product(range(rows.shape[1]), range(cols.shape[1])):
        out += _gather(x, rows[:, i], cols[:, j]) * wys[:, i][:, None] * wxs[:, j][None, :]
    return out


def _cases():
    for transform, (shape, given, values) in itertools.product(TRANSFORMS, SHAPES):
        for nearest in NEAREST:
            yield "nearest", transform, shape, given, values, {"nearest_mode": nearest}
        yield "linear", transform, shape, given, values, {}
        yield "cubic", transform, shape, given, values, {"cubic_coeff_a": -0.5, "exclude_outside": 1}
    yield "cubic", "half_pixel", (4, 5), "scales", (2.5, 1.7), {}


def _near_boundary(at: float, mode: str) -> bool:
    """at lies within float32 rounding of where nearest_mode's result changes (a half, or an integer)."""
    edge = np.floor(at) + 0.5 if mode.startswith("round") else np.rint(at)
    return abs(at - edge) <= 4 * np.spacing(np.float32(max(abs(at), 1.0)))


def test_nearest_tables_pick_onnxruntimes_source_pixels():
    """Every source row and column onnxruntime reads (an index image resized), except where the float32
    coordinate sits on a rounding boundary: onnxruntime's build computes it in another order there (2 indices here;
    9 of 1,467 random cases, resize_onnx.py)."""
    boundary = 0
    for _, transform, shape, given, values, attrs in (c for c in _cases() if c[0] == "nearest"):
        h, w = shape
        x = (np.arange(h)[:, None] * 100 + np.arange(w)[None, :]).astype(np.float32)[None, None].repeat(2, 1)
        want = _onnxruntime(_model("nearest", shape, given, values, coordinate_transformation_mode=transform,
                                   **attrs), x)[0, 0]
        if want.shape == shape:
            continue  # onnxruntime copies; the importer drops such a Resize
        mode = attrs["nearest_mode"]
        for axis, picked in ((0, want[:, 0] // 100), (1, want[0] % 100)):
            scale = values[axis] if given == "scales" else 0.0
            got = resize_onnx.nearest_sources(transform, mode, shape[axis], want.shape[axis], scale)
            at = resize_onnx.source_coordinates(transform, shape[axis], want.shape[axis],
                                                resize_onnx.onnx_scale(scale, shape[axis], want.shape[axis]))
            for i in np.flatnonzero(got != picked.astype(np.int32)):
                where = f"{transform} {mode} {shape} -> {want.shape} axis {axis} index {i}: coordinate {at[i]!r}"
                assert abs(int(got[i]) - int(picked[i])) == 1 and _near_boundary(float(at[i]), mode), where
                boundary += 1
    assert boundary <= 2


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_linear_and_cubic_tables_reproduce_onnxruntime(mode):
    rng = np.random.default_rng(0)
    checked = 0
    for m, transform, shape, given, values, attrs in _cases():
        if m != mode:
            continue
        x = rng.uniform(-2, 2, (1, 2) + shape).astype(np.float32)
        want = _onnxruntime(_model(mode, shape, given, values, coordinate_transformation_mode=transform, **attrs), x)
        scales = values if given == "scales" else (0.0, 0.0)
        if want.shape[2:] == shape:
            continue
        got = _tables_resize(x, mode, transform, want.shape[2:], scales, a=attrs.get("cubic_coeff_a", -0.75),
                             exclude=bool(attrs.get("exclude_outside", 0)))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                   err_msg=f"{mode} {transform} {attrs} {shape} -> {want.shape[2:]}")
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("op,opset", [("Upsample", 9), ("Resize", 10)])
def test_opset_below_11_is_asymmetric_with_truncating_nearest(op, opset):
    """Upsample and Resize-10: asymmetric coordinates; nearest truncates ("simple")."""
    from edgeai.frontends.onnx import load_onnx

    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (1, 2, 3, 4)).astype(np.float32)
    for mode in ("nearest", "linear"):
        model = _model(mode, (3, 4), "scales", (2.0, 2.5), opset=opset, op=op)
        want = _onnxruntime(model, x)
        got = _tables_resize(x, mode, "asymmetric", want.shape[2:], (2.0, 2.5), nearest_mode="simple")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        model = onnx.shape_inference.infer_shapes(model)
        del model.graph.output[:]
        model.graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, want.shape))
        path = f"/tmp/edgeai_{op}{opset}_{mode}.onnx"
        onnx.save(model, path)
        node = next(n for n in load_onnx(path).nodes if n.op.startswith("resize"))
        assert node.attrs["coordinates"] == "asymmetric" and node.attrs["size"] == want.shape[2:]
        assert node.op == ("resize_nearest" if mode == "nearest" else "resize_bilinear")
        assert mode != "nearest" or node.attrs["nearest_mode"] == "simple"


def _load(tmp_path, model):
    from edgeai.frontends.onnx import load_onnx

    path = tmp_path / "resize.onnx"
    onnx.save(model, str(path))
    return load_onnx(path)


def _one_resize(x_shape, y_shape, inputs, inits, **attrs):
    node = helper.make_node("Resize", inputs, ["y"], name="up", **attrs)
    graph = helper.make_graph([node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    return model


REFUSED = {
    "antialias": ((1, 2, 8, 8), (1, 2, 4, 4), {"antialias": 1, "mode": "linear"}, "scales", (1, 1, 0.5, 0.5),
                  "antialias=1 is not supported"),
    "crop": ((1, 2, 4, 4), (1, 2, 8, 8), {"coordinate_transformation_mode": "tf_crop_and_resize"}, "scales",
             (1, 1, 2, 2), "'tf_crop_and_resize' is not supported"),
    "channels": ((1, 2, 4, 4), (1, 4, 8, 8), {}, "scales", (1, 2, 2, 2), "resizing N or C is not supported"),
    "3-D": ((1, 2, 4), (1, 2, 8), {"mode": "linear"}, "scales", (1, 1, 2), "3-D input is not supported"),
    "align_corners": ((1, 2, 4, 4), (1, 2, 3, 3), {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
                      "scales", (1, 1, 0.8, 0.8), "the ONNX specification and onnxruntime resize it differently"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unsupported_resizes_are_refused_naming_the_node(case, tmp_path):
    from edgeai.errors import UnsupportedOpError

    x, y, attrs, given, values, why = REFUSED[case]
    kind = np.float32 if given == "scales" else np.int64
    model = _one_resize(x, y, ["x", "", "r"], {"r": np.array(values, kind)}, **attrs)
    with pytest.raises(UnsupportedOpError) as err:
        _load(tmp_path, model)
    assert "'up'" in str(err.value) and why in str(err.value), str(err.value)


def test_a_resize_onto_its_own_shape_is_dropped_and_sizes_map_to_the_stored_nhwc_size(tmp_path):
    same = _load(tmp_path, _one_resize((1, 2, 4, 5), (1, 2, 4, 5), ["x", "", "r"],
                                       {"r": np.ones(4, np.float32)}, mode="linear"))
    assert not [n for n in same.nodes if n.op.startswith("resize")]
    cubic = _load(tmp_path, _one_resize((1, 2, 4, 5), (1, 2, 7, 3), ["x", "", "", "r"],
                                        {"r": np.array([1, 2, 7, 3], np.int64)}, mode="cubic", cubic_coeff_a=-0.5,
                                        exclude_outside=1, coordinate_transformation_mode="pytorch_half_pixel"))
    (node,) = [n for n in cubic.nodes if n.op.startswith("resize")]
    assert node.op == "resize_cubic" and cubic.tensor(node.outputs[0]).shape == (1, 7, 3, 2)
    assert node.attrs["coordinates"] == "pytorch_half_pixel" and node.attrs["exclude_outside"]
    assert node.attrs["cubic_coeff_a"] == -0.5 and node.attrs["scale_h"] == 0.0  # sizes: out / in


@pytest.mark.parametrize("policy", ["stretch", "not_larger", "not_smaller"])
def test_axes_and_keep_aspect_ratio_policy_give_onnxruntimes_scale(policy, tmp_path):
    """Opset 18's axes (sizes for H and W only) and keep_aspect_ratio_policy (one scale for both axes): the
    importer's sizes and scales, through the tables, give onnxruntime's output."""
    model = _one_resize((1, 2, 4, 5), None, ["x", "", "", "r"], {"r": np.array([6, 9], np.int64)}, mode="linear",
                        axes=[2, 3], keep_aspect_ratio_policy=policy)
    x = np.random.default_rng(2).uniform(-2, 2, (1, 2, 4, 5)).astype(np.float32)
    want = _onnxruntime(model, x)
    model = onnx.shape_inference.infer_shapes(model)
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == list(want.shape)
    (node,) = [n for n in _load(tmp_path, model).nodes if n.op.startswith("resize")]
    assert node.attrs["size"] == want.shape[2:]
    got = _tables_resize(x, "linear", node.attrs["coordinates"], node.attrs["size"],
                         (node.attrs["scale_h"], node.attrs["scale_w"]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_sizes_computed_from_shapes_fold_at_import(tmp_path):
    """F.interpolate(x, size=skip.shape[2:]) exports Shape → Slice → Concat into Resize's sizes: with static
    shapes, Shape is a constant and the chain folds."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Shape", ["skip"], ["skip_shape"]),
             helper.make_node("Slice", ["skip_shape", "two", "four"], ["hw"]),
             helper.make_node("Shape", ["r"], ["nc"], end=2),
             helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
             helper.make_node("Resize", ["r", "", "", "sizes"], ["u"], name="up", mode="linear"),
             helper.make_node("Add", ["u", "skip"], ["y"])]
    graph = helper.make_graph(nodes, "unet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 3, 4, 5)),
                                              helper.make_tensor_value_info("skip", TensorProto.FLOAT, (1, 3, 8, 10))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 3, 8, 10))],
                              [numpy_helper.from_array(np.array([v], np.int64), k)
                               for k, v in (("two", 2), ("four", 4))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    model.ir_version = 8
    (node,) = [n for n in _load(tmp_path, model).nodes if n.op.startswith("resize")]
    assert node.name == "up" and node.attrs["size"] == (8, 10) and node.attrs["coordinates"] == "half_pixel"
