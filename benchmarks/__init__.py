"""Side-by-side benchmarks of zarrkit and its peers; run ``python -m benchmarks.run --help``.

Nothing here imports beyond numpy and the standard library at package level, because the
zarr-python 2 child runs in a virtual environment of its own that has neither zarrkit nor zarr 3.
"""
