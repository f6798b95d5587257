"""zarr-python's ``zarr.experimental`` path: :mod:`.cache_store`."""
