"""Benchmarks: figures and ratios against baselines run side by side (`make bench`)."""
