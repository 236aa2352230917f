"""The on-demand benchmarks: `python -m bench` (see bench/README.md)."""
