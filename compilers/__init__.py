"""Lowering of the graph IR to C. Only this package imports TVM."""
