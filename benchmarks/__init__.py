"""Benchmarks that measure the pipeline against public gold data (run as scripts)."""
