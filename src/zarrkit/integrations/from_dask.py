"""New zarrkit arrays made from Dask arrays (:func:`from_dask`), written block by block.

Needs the ``dask`` extra. Kept apart from :mod:`zarrkit.integrations.dask`, which
:meth:`Array.to_dask <zarrkit.nodes.arrays.Array.to_dask>` imports: creating arrays builds on the
api, which builds on arrays.
"""

from __future__ import annotations

from typing import Any

import dask.array as da

from zarrkit.api import create_array
from zarrkit.integrations.dask import Align, check_align, store_dask
from zarrkit.nodes.arrays import Array
from zarrkit.storage import StoreLike


def from_dask(
    source: da.Array,
    store: StoreLike | None = None,
    *,
    align: Align = "rechunk",
    **create_array_kwargs: Any,
) -> Array:
    """Create an array shaped like ``source`` and write ``source`` into it.

    ``create_array_kwargs`` go to :func:`zarrkit.create_array`; ``chunks`` defaults to
    ``source``'s block shape. See :func:`~zarrkit.integrations.dask.store_dask` for ``align``.

    Examples
    --------
    >>> import dask.array as da, zarrkit
    >>> a = zarrkit.from_dask(da.arange(10, chunks=5), chunks=(5,))
    >>> a[:].tolist()[-3:]
    [7, 8, 9]
    """
    check_align(align)
    create_array_kwargs.setdefault("chunks", tuple(max(c[0], 1) for c in source.chunks))
    array = create_array(store, shape=source.shape, dtype=source.dtype, **create_array_kwargs)
    store_dask(source, array, align=align)
    return array


__all__ = ["from_dask"]
