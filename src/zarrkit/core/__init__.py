"""zarr-python's ``zarr.core`` path, for the one public name reached through it: its user
guide imports the data type classes from ``zarr.core.dtype`` (:mod:`zarrkit.dtype`)."""
