"""Each pass on a small before-graph against the graph it should become; passes never change their input;
run_passes verifies after each pass in debug mode and names the pass."""

from __future__ import annotations

import numpy as np
import pytest

import ir_eval
from edgeai.errors import ModelError
from edgeai.ir import Graph, Node, Quantization, Tensor, format_graph
from edgeai.passes import (DEFAULT_PASSES, PassResult, eliminate_dead_nodes, fold_batch_norm, fold_constants,
                           fold_transposes, fuse_qdq, remove_noop_reshapes, run_passes)

F = "float32"
NCHW, NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


def T(name, shape, dtype=F, data=None, quant=None):
    return Tensor(name, tuple(shape), dtype, data, quant)


def C(name, data, quant=None):
    data = np.asarray(data)
    return Tensor(name, data.shape, data.dtype.name, data, quant)


def N(name, op, inputs, outputs, **attrs):
    return Node(name, op, tuple(inputs), tuple(outputs), attrs)


def G(tensors, nodes, inputs, outputs):
    return Graph.build("g", tensors, nodes, inputs, outputs)


def structure(g: Graph) -> list[tuple]:
    """What a graph computes, independent of generated tensor names: ops, attrs and constant inputs."""
    out = []
    for n in g.nodes:
        consts = tuple(g.tensor(i).data.tolist() if i and g.tensor(i).is_constant else None for i in n.inputs)
        out.append((n.op, dict(n.attrs), consts))
    return out


def same_values(a: Graph, b: Graph, seed=0):
    rng = np.random.default_rng(seed)
    feeds = {n: rng.uniform(-2, 2, a.tensor(n).shape).astype(np.float32) for n in a.inputs}
    ra, rb = ir_eval.run(a, feeds), ir_eval.run(b, feeds)
    for x, y in zip(a.outputs, b.outputs):
        np.testing.assert_allclose(ra[x], rb[y], rtol=1e-5, atol=1e-5)


# -- fold_transposes -----------------------------------------------------------------------------------------
def test_inverse_transposes_cancel():
    before = G([T("x", (1, 4, 5, 3)), T("a", (1, 3, 4, 5)), T("b", (1, 4, 5, 3)), T("y", (1, 4, 5, 3))],
               [N("t1", "transpose", ["x"], ["a"], perm=NCHW), N("t2", "transpose", ["a"], ["b"], perm=NHWC),
                N("r", "relu", ["b"], ["y"])], ["x"], ["y"])
    expected = G([T("x", (1, 4, 5, 3)), T("y", (1, 4, 5, 3))], [N("r", "relu", ["x"], ["y"])], ["x"], ["y"])
    result = fold_transposes(before)
    assert result.modified and structure(result.graph) == structure(expected)
    assert result.graph.nodes[0].inputs == ("x",)


def test_transpose_sinks_through_unary_and_binary_ops_to_its_inverse():
    k = np.arange(3, dtype=np.float32).reshape(3, 1, 1)  # per-channel constant in NCHW
    before = G([T("x", (1, 4, 5, 3)), T("a", (1, 3, 4, 5)), T("r", (1, 3, 4, 5)), C("k", k), T("m", (1, 3, 4, 5)),
                T("y", (1, 4, 5, 3))],
               [N("t1", "transpose", ["x"], ["a"], perm=NCHW), N("relu", "relu", ["a"], ["r"]),
                N("mul", "mul", ["r", "k"], ["m"]), N("t2", "transpose", ["m"], ["y"], perm=NHWC)], ["x"], ["y"])
    result = fold_transposes(before)
    g = result.graph
    assert [n.op for n in g.nodes] == ["relu", "mul"]
    k_nhwc = g.tensor(g.nodes[1].inputs[1])
    assert k_nhwc.shape == (1, 1, 1, 3) and k_nhwc.data.reshape(-1).tolist() == [0, 1, 2]
    assert g.outputs == ("y",) and g.nodes[-1].outputs == ("y",)
    same_values(before, g)


def test_two_transposed_operands_share_one_transpose():
    before = G([T("x", (1, 2, 2, 3)), T("z", (1, 2, 2, 3)), T("a", (1, 3, 2, 2)), T("b", (1, 3, 2, 2)),
                T("s", (1, 3, 2, 2))],
               [N("t1", "transpose", ["x"], ["a"], perm=NCHW), N("t2", "transpose", ["z"], ["b"], perm=NCHW),
                N("add", "add", ["a", "b"], ["s"])], ["x", "z"], ["s"])
    g = fold_transposes(before).graph
    assert [n.op for n in g.nodes] == ["add", "transpose"]
    assert g.nodes[0].inputs == ("x", "z") and g.nodes[1].attrs["perm"] == NCHW
    same_values(before, g)


def test_transpose_of_a_constant_becomes_a_constant_and_unit_axis_transpose_a_reshape():
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    before = G([C("w", w), T("wt", (3, 2)), T("x", (1, 1, 1, 2)), T("xt", (1, 2, 1, 1)), T("y", (1, 3))],
               [N("tw", "transpose", ["w"], ["wt"], perm=(1, 0)), N("tx", "transpose", ["x"], ["xt"], perm=NCHW),
                N("fc", "fully_connected", ["xt", "wt"], ["y"])], ["x"], ["y"])
    g = fold_transposes(before).graph
    assert [n.op for n in g.nodes] == ["reshape", "fully_connected"]
    np.testing.assert_array_equal(g.tensor("wt").data, w.T)


def test_fold_transposes_leaves_a_lone_transpose():
    g = G([T("x", (1, 2, 3, 4)), T("y", (1, 4, 2, 3))], [N("t", "transpose", ["x"], ["y"], perm=NCHW)], ["x"], ["y"])
    result = fold_transposes(g)
    assert not result.modified and result.graph is g


# -- remove_noop_reshapes ------------------------------------------------------------------------------------
def test_reshape_chain_and_flatten_before_fully_connected_go():
    w = np.ones((5, 8), np.float32)
    before = G([T("x", (1, 1, 1, 8)), T("a", (1, 8, 1, 1)), T("b", (1, 8)), C("w", w), T("y", (1, 5))],
               [N("r1", "reshape", ["x"], ["a"], shape=(1, 8, 1, 1)), N("r2", "reshape", ["a"], ["b"], shape=(1, 8)),
                N("fc", "fully_connected", ["b", "w"], ["y"])], ["x"], ["y"])
    expected = G([T("x", (1, 1, 1, 8)), C("w", w), T("y", (1, 5))], [N("fc", "fully_connected", ["x", "w"], ["y"])],
                 ["x"], ["y"])
    result = remove_noop_reshapes(before)
    assert result.modified and structure(result.graph) == structure(expected)
    assert result.graph.nodes[0].inputs[0] == "x"


def test_same_shape_reshape_feeding_an_output_renames_the_producer():
    before = G([T("x", (2, 3)), T("r", (2, 3)), T("y", (2, 3))],
               [N("relu", "relu", ["x"], ["r"]), N("id", "reshape", ["r"], ["y"], shape=(2, 3))], ["x"], ["y"])
    g = remove_noop_reshapes(before).graph
    assert [(n.op, n.inputs, n.outputs) for n in g.nodes] == [("relu", ("x",), ("y",))]


def test_a_copy_of_an_input_to_an_output_stays():
    g = G([T("x", (2, 3)), T("y", (2, 3))], [N("copy", "reshape", ["x"], ["y"], shape=(2, 3))], ["x"], ["y"])
    assert not remove_noop_reshapes(g).modified


def test_reshape_that_only_labels_the_quantization_of_an_input_goes():
    q = Quantization((0.5,), (3,))
    before = G([T("x", (1, 4), "int8"), T("xq", (1, 4), "int8", quant=q), T("y", (1, 4))],
               [N("label", "reshape", ["x"], ["xq"], shape=(1, 4)), N("dq", "dequantize", ["xq"], ["y"])], ["x"], ["y"])
    g = remove_noop_reshapes(before).graph
    assert [n.op for n in g.nodes] == ["dequantize"] and g.tensor("x").quant == q


# -- fold_batch_norm -----------------------------------------------------------------------------------------
def test_batch_norm_mul_add_folds_into_conv_weights_and_bias():
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(4, 3, 3, 2)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    k, s = rng.uniform(0.5, 2, (1, 1, 1, 4)).astype(np.float32), rng.normal(size=(1, 1, 1, 4)).astype(np.float32)
    before = G([T("x", (1, 5, 5, 2)), C("w", w), C("b", b), T("c", (1, 3, 3, 4)), C("k", k), T("m", (1, 3, 3, 4)),
                C("s", s), T("y", (1, 3, 3, 4))],
               [N("conv", "conv2d", ["x", "w", "b"], ["c"]), N("bn_mul", "mul", ["c", "k"], ["m"]),
                N("bn_add", "add", ["m", "s"], ["y"], activation="relu")], ["x"], ["y"])
    kv = k.reshape(4)
    expected = G([T("x", (1, 5, 5, 2)), C("w2", w * kv.reshape(4, 1, 1, 1)), C("b2", b * kv + s.reshape(4)),
                  T("y", (1, 3, 3, 4))], [N("conv", "conv2d", ["x", "w2", "b2"], ["y"], activation="relu")],
                 ["x"], ["y"])
    result = fold_batch_norm(before)
    assert result.modified
    (n,) = result.graph.nodes
    assert n.op == "conv2d" and n.attrs["activation"] == "relu" and n.outputs == ("y",)
    np.testing.assert_allclose(result.graph.tensor(n.inputs[1]).data, expected.tensor("w2").data, rtol=1e-6)
    np.testing.assert_allclose(result.graph.tensor(n.inputs[2]).data, expected.tensor("b2").data, rtol=1e-6)
    same_values(before, result.graph)


def test_batch_norm_scales_depthwise_weights_on_the_last_axis():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(1, 3, 3, 4)).astype(np.float32)
    k = rng.uniform(0.5, 2, 4).astype(np.float32)
    before = G([T("x", (1, 5, 5, 4)), C("w", w), T("c", (1, 5, 5, 4)), C("k", k), T("y", (1, 5, 5, 4))],
               [N("dw", "depthwise_conv2d", ["x", "w"], ["c"], padding=(1, 1, 1, 1)), N("m", "mul", ["c", "k"], ["y"])],
               ["x"], ["y"])
    g = fold_batch_norm(before).graph
    assert [n.op for n in g.nodes] == ["depthwise_conv2d"]
    same_values(before, g)


def test_batch_norm_is_not_folded_past_an_activation_or_a_second_reader():
    w = np.ones((2, 1, 1, 2), np.float32)
    k = np.full(2, 2.0, np.float32)
    g1 = G([T("x", (1, 2, 2, 2)), C("w", w), T("c", (1, 2, 2, 2)), C("k", k), T("y", (1, 2, 2, 2))],
           [N("conv", "conv2d", ["x", "w"], ["c"], activation="relu"), N("m", "mul", ["c", "k"], ["y"])], ["x"], ["y"])
    assert not fold_batch_norm(g1).modified
    g2 = G([T("x", (1, 2, 2, 2)), C("w", w), T("c", (1, 2, 2, 2)), C("k", k), T("y", (1, 2, 2, 2))],
           [N("conv", "conv2d", ["x", "w"], ["c"]), N("m", "mul", ["c", "k"], ["y"])], ["x"], ["y", "c"])
    assert not fold_batch_norm(g2).modified


# -- fold_constants and eliminate_dead_nodes -----------------------------------------------------------------
def test_constant_subgraphs_fold_to_data():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    q = np.array([-2, 0, 4], np.int8)
    before = G([C("a", a), T("at", (3, 2)), T("ar", (6,)), C("one", np.float32(1)), T("s", (6,)),
                C("q", q, Quantization((0.5,), (0,))), T("dq", (3,)), T("x", (6,)), T("y", (6,))],
               [N("t", "transpose", ["a"], ["at"], perm=(1, 0)), N("r", "reshape", ["at"], ["ar"], shape=(6,)),
                N("add", "add", ["ar", "one"], ["s"], activation="relu6"), N("dq", "dequantize", ["q"], ["dq"]),
                N("use", "mul", ["x", "s"], ["y"])], ["x"], ["y"])
    result = fold_constants(before)
    g = result.graph
    assert result.modified and [n.op for n in g.nodes] == ["mul"]
    np.testing.assert_array_equal(g.tensor("s").data, np.minimum(a.T.reshape(6) + 1, 6))
    assert "dq" not in g.tensors  # folded, then nobody read it


def test_dead_nodes_go():
    before = G([T("x", (3,)), T("a", (3,)), T("b", (3,)), T("y", (3,))],
               [N("dead1", "relu", ["x"], ["a"]), N("dead2", "tanh", ["a"], ["b"]), N("live", "sigmoid", ["x"], ["y"])],
               ["x"], ["y"])
    result = eliminate_dead_nodes(before)
    assert result.modified and [n.name for n in result.graph.nodes] == ["live"]
    assert set(result.graph.tensors) == {"x", "y"}


# -- QDQ fusion with a float bias ----------------------------------------------------------------------------
def test_fuse_qdq_quantizes_a_float_bias_with_input_times_weight_scale():
    xq, yq = Quantization((0.1,), (0,)), Quantization((0.2,), (-5,))
    wq = Quantization((0.01, 0.02), (0, 0), 0)
    w = np.array([[1, 2, 3], [-4, 5, -6]], np.int8)
    bias = np.array([0.0105, -0.3], np.float32)
    before = G([T("xi", (1, 3), "int8", quant=xq), T("x", (1, 3)), C("w", w, wq), T("wf", (2, 3)), C("b", bias),
                T("f", (1, 2)), T("y", (1, 2), "int8", quant=yq)],
               [N("dqx", "dequantize", ["xi"], ["x"]), N("dqw", "dequantize", ["w"], ["wf"]),
                N("fc", "fully_connected", ["x", "wf", "b"], ["f"]), N("q", "quantize", ["f"], ["y"])], ["xi"], ["y"])
    g = fuse_qdq(before).graph
    (fc,) = g.nodes
    b = g.tensor(fc.inputs[2])
    assert fc.inputs[:2] == ("xi", "w") and fc.outputs == ("y",)
    assert b.dtype == "int32" and b.data.tolist() == [round(0.0105 / 0.001), round(-0.3 / 0.002)]
    np.testing.assert_allclose(b.quant.scale, [0.001, 0.002])



def _qdq_fc(x_quant, bias=None, rounding="half_even"):
    """int8 x -> dequantize -> fully_connected (int8 weights, optional int32 bias) -> quantize."""
    wq, yq = Quantization((0.01, 0.02), (0, 0), 0), Quantization((0.2,), (-5,))
    tensors = [T("xi", (1, 3), "int8", quant=x_quant), T("x", (1, 3)),
               C("w", np.array([[1, 2, 3], [-4, 5, -6]], np.int8), wq), T("wf", (2, 3)),
               T("f", (1, 2)), T("y", (1, 2), "int8", quant=yq)]
    nodes = [N("dqx", "dequantize", ["xi"], ["x"]), N("dqw", "dequantize", ["w"], ["wf"]),
             N("fc", "fully_connected", ["x", "wf", "bf" if bias is not None else ""], ["f"]),
             N("q", "quantize", ["f"], ["y"], rounding=rounding)]
    if bias is not None:
        tensors += [C("b", bias[0], bias[1]), T("bf", (2,))]
        nodes.insert(2, N("dqb", "dequantize", ["b"], ["bf"]))
    return G(tensors, nodes, ["xi"], ["y"])


def test_fuse_qdq_takes_its_numerics_from_the_quantize_rounding():
    onnx = fuse_qdq(_qdq_fc(Quantization((0.1,), (0,)))).graph
    tflite = fuse_qdq(_qdq_fc(Quantization((0.1,), (0,)), rounding="half_away")).graph
    assert [(n.op, n.attrs.get("numerics", "tflite")) for n in onnx.nodes] == [("fully_connected", "onnx")]
    assert [(n.op, n.attrs.get("numerics", "tflite")) for n in tflite.nodes] == [("fully_connected", "tflite")]


def test_fuse_qdq_brings_an_int32_bias_of_another_scale_to_input_times_weight_scale():
    bias = (np.array([7, -40], np.int32), Quantization((0.0005, 0.004), (0, 0), 0))  # not 0.1 x (0.01, 0.02)
    g = fuse_qdq(_qdq_fc(Quantization((0.1,), (0,)), bias)).graph
    b = g.tensor(g.nodes[0].inputs[2])
    assert b.data.tolist() == [4, -80] and b.dtype == "int32"  # 7 x 0.0005 / 0.001 = 3.5: halves to even
    np.testing.assert_allclose(b.quant.scale, [0.001, 0.002])


def test_fuse_qdq_leaves_a_per_axis_activation_in_float():
    """int8 kernels take per-tensor activations: a per-axis dequantize of an activation stays a float node."""
    g = fuse_qdq(_qdq_fc(Quantization((0.1, 0.2, 0.3), (0, 0, 0), 1))).graph
    assert [n.op for n in g.nodes] == ["dequantize", "dequantize", "fully_connected", "quantize"]

# -- the contract --------------------------------------------------------------------------------------------
def _busy_graph() -> Graph:
    k = np.arange(3, dtype=np.float32).reshape(3, 1, 1)
    return G([T("x", (1, 4, 5, 3)), T("a", (1, 3, 4, 5)), T("r", (1, 3, 4, 5)), C("k", k), T("m", (1, 3, 4, 5)),
              T("b", (1, 4, 5, 3)), T("y", (1, 60)), T("dead", (1, 60))],
             [N("t1", "transpose", ["x"], ["a"], perm=NCHW), N("relu", "relu", ["a"], ["r"]),
              N("mul", "mul", ["r", "k"], ["m"]), N("t2", "transpose", ["m"], ["b"], perm=NHWC),
              N("flat", "reshape", ["b"], ["y"], shape=(1, 60)), N("unused", "tanh", ["y"], ["dead"])], ["x"], ["y"])


@pytest.mark.parametrize("p", DEFAULT_PASSES, ids=lambda p: p.__name__)
def test_passes_do_not_mutate_their_input(p):
    g = _busy_graph()
    text, nodes, tensors = format_graph(g), g.nodes, dict(g.tensors)
    result = p(g)
    assert isinstance(result, PassResult)
    assert format_graph(g) == text and g.nodes is nodes and dict(g.tensors) == tensors
    with pytest.raises(Exception):
        result.graph = g  # frozen


def test_run_passes_names_the_pass_that_breaks_the_graph():
    def break_shapes(graph):
        bad = graph.replace(tensors={**graph.tensors, "y": graph.tensor("y").with_(shape=(1, 61))})
        return PassResult(bad, True)

    g = _busy_graph()
    with pytest.raises(ModelError, match="after pass break_shapes: .*node 'flat'"):
        run_passes(g, [break_shapes], debug=True)
    run_passes(g, [break_shapes])  # without debug nobody checks


def test_default_pipeline_cleans_the_busy_graph():
    g = run_passes(_busy_graph(), DEFAULT_PASSES, debug=True)
    assert [n.op for n in g.nodes] == ["relu", "mul", "reshape"]
    same_values(_busy_graph(), g)
