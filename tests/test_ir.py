"""The graph IR: constants cannot change, attributes are validated, the verifier names the bad node."""

import numpy as np
import pytest

from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.ir import Graph, Node, Quantization, Tensor, format_graph, verify


def _graph(out_shape=(1, 4, 4, 2)):
    x = Tensor("x", (1, 4, 4, 3), "float32")
    w = Tensor("w", (2, 1, 1, 3), "float32", np.ones((2, 1, 1, 3), np.float32))
    y = Tensor("y", out_shape, "float32")
    node = Node("conv", "conv2d", ("x", "w"), ("y",), {"strides": (1, 1)})
    return Graph.build("g", [x, w, y], [node], ["x"], ["y"])


def test_constants_are_read_only_and_copied():
    data = np.zeros((2,), np.float32)
    t = Tensor("c", (2,), "float32", data)
    data[0] = 5
    assert t.data[0] == 0
    with pytest.raises(ValueError):
        t.data[0] = 1


def test_tensor_rejects_dynamic_shape_and_mismatched_data():
    with pytest.raises(ValueError, match="not static"):
        Tensor("t", (-1, 3), "float32")
    with pytest.raises(ValueError, match="declared"):
        Tensor("t", (3,), "int8", np.zeros(3, np.float32))


def test_quantization_validates_scales():
    with pytest.raises(ValueError, match="positive"):
        Quantization((0.0,), (0,))
    with pytest.raises(ValueError, match="axis"):
        Quantization((0.1, 0.2), (0, 0))


def test_node_attrs_are_validated_with_defaults():
    node = Node("n", "conv2d", ("x", "w"), ("y",), {"strides": [2, 2]})
    assert node.attrs["strides"] == (2, 2) and node.attrs["padding"] == (0, 0, 0, 0)
    with pytest.raises(ModelError, match="'n'.*unknown attribute"):
        Node("n", "conv2d", ("x", "w"), ("y",), {"stride": 2})
    with pytest.raises(ModelError, match="activation"):
        Node("n", "conv2d", ("x", "w"), ("y",), {"activation": "gelu"})
    with pytest.raises(UnsupportedOpError, match="'non_max_suppression'"):
        Node("n", "non_max_suppression", ("x",), ("y",), {})


def test_verify_accepts_a_good_graph_and_names_the_bad_node():
    g = verify(_graph())
    assert "conv2d" in format_graph(g)
    with pytest.raises(ModelError, match="node 'conv'.*shape \\[1, 4, 4, 5\\].*\\[1, 4, 4, 2\\]"):
        verify(_graph(out_shape=(1, 4, 4, 5)))


def test_replace_returns_a_new_graph_and_drops_unused_tensors():
    g = _graph()
    h = g.replace(nodes=(), outputs=("x",))
    assert set(h.tensors) == {"x"} and set(g.tensors) == {"x", "w", "y"}
