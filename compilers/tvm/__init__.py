"""Lowering through TVM: int8 and float32 kernels as tensor expressions, built to plain C functions."""
