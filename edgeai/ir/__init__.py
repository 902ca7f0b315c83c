"""The graph IR. It imports no model-format or compiler library."""

from edgeai.ir.graph import Graph
from edgeai.ir.node import Node
from edgeai.ir.printer import format_graph
from edgeai.ir.tensor import DTYPES, Quantization, Tensor
from edgeai.ir.verify import verify

__all__ = ["DTYPES", "Graph", "Node", "Quantization", "Tensor", "format_graph", "verify"]
