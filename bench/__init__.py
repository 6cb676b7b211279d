"""Benchmarks: one command (``python -m bench``) that prints a table (SPEC §11)."""
