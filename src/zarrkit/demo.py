"""End-to-end demo on local files: ``python -m zarrkit.demo [DIRECTORY]``.

Creates a v3 group holding a v3 array and a v2 array, writes and reads them back, prints
``info`` and the tree, then shows that zarr-python (when installed) reads the same data.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import zarrkit


def run(directory: Path) -> None:
    """Run the demo inside ``directory`` and print what happens."""
    root_path = directory / "demo.zarr"
    print(f"zarrkit {zarrkit.__version__}: demo in {root_path}\n")

    root = zarrkit.group(root_path, overwrite=True, attributes={"project": "zarrkit demo"})
    climate = root.create_group("climate", attributes={"source": "synthetic"})
    data = np.add.outer(np.arange(365.0), np.arange(180.0)).astype("f4")
    temperature = climate.create_array(
        "t2m",
        shape=data.shape,
        chunks=(100, 60),
        dtype="f4",
        compressors={"name": "zstd", "configuration": {"level": 3, "checksum": False}},
        dimension_names=["day", "lat"],
        attributes={"units": "K"},
    )
    temperature[:] = data
    assert np.array_equal(temperature[:], data)
    print(f"v3 array {temperature.name}: wrote and read back {data.nbytes:,} bytes")

    legacy = zarrkit.create_array(
        directory / "legacy_v2.zarr",
        shape=(1000,),
        chunks=(128,),
        dtype=">i4",
        zarr_format=2,
        compressors={"id": "zlib", "level": 5},
        overwrite=True,
    )
    legacy[:] = np.arange(1000)
    legacy[10:20] = -1
    print(f"v2 array legacy_v2.zarr: last values {legacy[-3:].tolist()}")

    print("\nInfo of the v3 array:")
    print(temperature.info_complete())
    print("\nThe group tree:")
    print(root.tree())
    _show_zarr_python_reads(root_path, data)


def _show_zarr_python_reads(root_path: Path, data: np.ndarray) -> None:
    try:
        import zarr
    except ImportError:
        print("\n(zarr-python is not installed: skipping the interoperability check)")
        return
    t2m = zarr.open_array(str(root_path / "climate" / "t2m"), mode="r")
    legacy = zarr.open_array(str(root_path.parent / "legacy_v2.zarr"), mode="r")
    same = np.array_equal(t2m[:], data) and legacy[15] == -1
    print(f"\nzarr-python {zarr.__version__} reads the same data: {same}")
    print(f"  climate/t2m attrs as zarr-python sees them: {dict(t2m.attrs)}")
    if not same:
        raise SystemExit("zarr-python read different values")


def main() -> None:
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
        target.mkdir(parents=True, exist_ok=True)
        run(target)
    else:
        with tempfile.TemporaryDirectory(prefix="zarrkit-demo-") as tmp:
            run(Path(tmp))


if __name__ == "__main__":
    main()
