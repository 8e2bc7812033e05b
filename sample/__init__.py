"""Deterministic, realistic governance-list archives for the demo, the tests and the benchmarks."""
