"""One module per measured library; each runs as ``python -m benchmarks.peers.<name>``."""
