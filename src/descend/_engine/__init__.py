"""Compiled epoch kernels (private)."""
