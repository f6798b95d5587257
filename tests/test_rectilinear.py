"""The rectilinear chunk grid (zarr-extensions ``chunk-grids/rectilinear``): metadata,
indexing against NumPy, stored chunk shapes, resize and append.

No peer implements it yet (zarr-python 3.1.6 and tensorstore refuse it), so arrays laid
out by hand from the spec's own example stand in for another writer.
"""

import json

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import MetadataError, ResourceLimitError, UnsupportedExtensionError
from zarrkit.metadata.chunk_grid import RectilinearChunkGrid
from zarrkit.metadata.v3 import parse_chunk_grid
from zarrkit.storage.memory import MemoryStore

SPEC_EXAMPLE = [4, [1, 2, 3], [[4, 2]], [[1, 3], 3], [4, 4, 4]]


def grid(chunk_shapes, kind="inline"):
    config = {"kind": kind, "chunk_shapes": chunk_shapes}
    return parse_chunk_grid({"name": "rectilinear", "configuration": config}, key="zarr.json")


def lengths(dim):
    return [dim.chunk_len(i) for i in range(dim.nchunks)]


def test_the_spec_example():
    dims = grid(SPEC_EXAMPLE).dims((6, 6, 6, 6, 6))
    assert [lengths(d) for d in dims] == [[4, 4], [1, 2, 3], [4, 4], [1, 1, 1, 3], [4, 4]]
    # the last chunk of [4, 4, 4] is wholly past the array: it does not exist
    assert dims[4].nchunks == 2
    assert [int(x) for x in dims[1].chunk_of(np.arange(6))[0]] == [0, 1, 1, 2, 2, 2]


def test_json_is_run_length_encoded():
    parsed = grid([[10, 10, 10, 5], [[2, 1], [2, 2], 7], 3, [[1, 1]]])
    assert parsed.to_json()["configuration"]["chunk_shapes"] == [[[10, 3], 5], [[2, 3], 7], 3, [1]]
    assert grid(parsed.to_json()["configuration"]["chunk_shapes"]) == parsed


@pytest.mark.parametrize(
    "bad",
    [[0], [[0, 1]], [[[5, 0]]], [[[5, 1, 1]]], [True], [[True]], [[]], [-3], [1.5], "4", []],
    ids=str,
)
def test_bad_chunk_shapes(bad):
    with pytest.raises(MetadataError, match="chunk_shapes"):
        grid(bad)


def test_bad_kind_and_too_short():
    with pytest.raises(UnsupportedExtensionError, match="kind"):
        grid([4], kind="external")
    with pytest.raises(MetadataError, match="sum to 9, less than its length 10"):
        grid([[4, 5]]).validate((10,))
    with pytest.raises(MetadataError, match="2 dimensions"):
        grid([4, 4]).validate((10,))


def test_runs_are_expanded_only_as_far_as_the_array():
    huge = grid([[[1, 10**15]]])
    assert huge.dims((5,))[0].nchunks == 5
    assert huge.to_json()["configuration"]["chunk_shapes"] == [[[1, 10**15]]]
    with pytest.raises(ResourceLimitError, match="MAX_EDGES"):
        huge.dims((10**12,))


def test_v3_document_of_sharded_rectilinear_grid_is_read():
    """Rectilinear shards: tests/test_rectilinear_sharding.py."""
    a = zarrkit.create_array(MemoryStore(), shape=(4,), chunks=(2,), shards=[[2, 2]], dtype="u1")
    assert type(a.metadata).from_json(a.metadata.to_json()) == a.metadata


# --- arrays ---------------------------------------------------------------------------------


@pytest.fixture
def array():
    store = MemoryStore()
    a = zarrkit.create_array(
        store,
        shape=(35, 8),
        chunks=[[10, 20, 5], [3, 5]],
        dtype="i4",
        fill_value=-1,
        compressors=None,
    )
    data = np.arange(35 * 8, dtype="i4").reshape(35, 8)
    a[:] = data
    return a, data, store


def test_create_and_store(array):
    a, data, store = array
    doc = json.loads(store.get("zarr.json"))
    assert doc["chunk_grid"] == {
        "name": "rectilinear",
        "configuration": {"kind": "inline", "chunk_shapes": [[10, 20, 5], [3, 5]]},
    }
    assert a.cdata_shape == (3, 2)
    assert a.chunks == (20, 5)  # the longest chunk per dimension
    # every chunk is stored with its own shape
    assert len(store.get("c/1/1")) == 20 * 5 * 4
    assert len(store.get("c/2/0")) == 5 * 3 * 4
    assert np.frombuffer(store.get("c/2/0"), "<i4").reshape(5, 3).tolist() == data[30:, :3].tolist()
    assert (zarrkit.open_array(store)[:] == data).all()


@pytest.mark.parametrize(
    "key",
    [
        (slice(None), slice(None)),
        (slice(3, 31, 4), slice(1, 7, 2)),
        (slice(None, None, 3), 4),
        (12, slice(None)),
        (np.array([0, 9, 10, 29, 30, 34]), slice(2, 5)),
    ],
    ids=str,
)
def test_basic_and_orthogonal_selections_match_numpy(array, key):
    a, data, _ = array
    assert (a[key] == data[key]).all()
    assert (a.oindex[key] == data[key]).all()


def test_coordinate_mask_and_block_selections(array):
    a, data, _ = array
    rows, cols = np.array([0, 34, 15, 9]), np.array([7, 0, 3, 4])
    assert (a.vindex[rows, cols] == data[rows, cols]).all()
    mask = data % 7 == 0
    assert (a.vindex[mask] == data[mask]).all()
    assert (a.blocks[1] == data[10:30]).all()
    assert (a.blocks[2, 1] == data[30:, 3:]).all()
    assert (a.blocks[1:, :1] == data[10:, :3]).all()


def test_partial_writes_across_chunks(array):
    a, data, _ = array
    a[8:12, 2:4] = 0
    data[8:12, 2:4] = 0
    a.vindex[[5, 33], [7, 0]] = [100, 200]
    data[[5, 33], [7, 0]] = [100, 200]
    assert (a[:] == data).all()


def test_random_grids_match_numpy():
    rng = np.random.default_rng(7)
    for _ in range(20):
        shape = tuple(int(n) for n in rng.integers(1, 30, size=2))
        chunks = [list(rng.integers(1, 9, size=n)) for n in shape]  # sums >= length
        chunks = [[int(c) for c in dim] for dim in chunks]
        a = zarrkit.create_array(MemoryStore(), shape=shape, chunks=chunks, dtype="u2")
        data = rng.integers(0, 1000, size=shape).astype("u2")
        a[:] = data
        key = tuple(slice(int(rng.integers(0, n)), None, int(rng.integers(1, 4))) for n in shape)
        assert (a[key] == data[key]).all()


def test_the_last_chunk_may_extend_past_the_array():
    store = MemoryStore()
    a = zarrkit.create_array(store, shape=(6,), chunks=[[4, 4, 4]], dtype="u1", compressors=None)
    a[:] = np.arange(6)
    assert a.cdata_shape == (2,)
    assert store.get("c/1") == bytes([4, 5, 0, 0])  # stored at its full length, padded
    assert store.get("c/2") is None
    assert json.loads(store.get("zarr.json"))["chunk_grid"]["configuration"]["chunk_shapes"] == [
        [[4, 3]]
    ]


def test_reads_an_array_laid_out_by_hand():
    """The spec's example with chunk files as another implementation would write them."""
    store = MemoryStore()
    doc = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [6, 5],
        "data_type": "uint8",
        "chunk_grid": {
            "name": "rectilinear",
            "configuration": {"kind": "inline", "chunk_shapes": [[[1, 3], 3], 4]},
        },
        "chunk_key_encoding": {"name": "default"},
        "fill_value": 9,
        "codecs": [{"name": "bytes"}],
    }
    store.set("zarr.json", json.dumps(doc).encode())
    expected = np.full((6, 5), 9, dtype="u1")
    for row in range(3):
        store.set(f"c/{row}/0", bytes([row] * 4))
        expected[row, :4] = row
    store.set("c/3/1", bytes(range(12)))  # rows 3-5, columns 4-7 (5-7 are past the end)
    expected[3:, 4] = [0, 4, 8]
    assert (zarrkit.open_array(store)[:] == expected).all()


# --- resize and append ----------------------------------------------------------------------


def chunk_shapes(store):
    return json.loads(store.get("zarr.json"))["chunk_grid"]["configuration"]["chunk_shapes"]


def test_append_adds_one_chunk_per_append(array):
    a, data, store = array
    a.append(np.full((7, 8), 5, "i4"))
    a.append(np.full((7, 8), 6, "i4"))
    assert chunk_shapes(store) == [[10, 20, 5, [7, 2]], [3, 5]]
    assert a.shape == (49, 8)
    assert (a[35:42] == 5).all() and (a[42:] == 6).all()
    assert (a[:35] == data).all()
    assert store.get("c/4/1") is not None
    a.append(np.zeros((49, 2), "i4"), axis=1)
    assert chunk_shapes(store) == [[10, 20, 5, [7, 2]], [3, 5, 2]]


def test_shrink_keeps_chunk_lengths_and_growing_refills(array):
    a, data, store = array
    a.resize((20, 8))
    assert chunk_shapes(store) == [[10, 20, 5], [3, 5]]
    assert a.cdata_shape == (2, 2)
    assert store.get("c/2/0") is None  # wholly outside: deleted
    a.resize((25, 8))  # within the existing chunks: no new chunk, cut rows read as fill
    assert chunk_shapes(store) == [[10, 20, 5], [3, 5]]
    assert (a[20:] == -1).all() and (a[:20] == data[:20]).all()
    a.resize((40, 8))  # past them: one more chunk of the difference
    assert chunk_shapes(store) == [[10, 20, [5, 2]], [3, 5]]
    assert (zarrkit.open_array(store)[25:] == -1).all()


def test_regular_dimensions_of_a_rectilinear_grid_repeat(array):
    store = MemoryStore()
    a = zarrkit.create_array(store, shape=(10, 6), chunks=[4, [2, 4]], dtype="u1")
    a.resize((30, 6))
    assert chunk_shapes(store) == [4, [2, 4]]
    assert a.cdata_shape == (8, 2)


def test_v2_and_inner_chunks_of_shards_refuse_rectilinear_chunks():
    with pytest.raises(MetadataError, match="regular chunks only"):
        zarrkit.create_array(MemoryStore(), shape=(4,), chunks=[[2, 2]], dtype="u1", zarr_format=2)
    with pytest.raises(MetadataError, match="inner chunks must be regular"):
        zarrkit.create_array(MemoryStore(), shape=(4,), chunks=[[2, 2]], shards=(4,), dtype="u1")
    with pytest.raises(MetadataError, match="less than its length"):
        zarrkit.create_array(MemoryStore(), shape=(9,), chunks=[[4, 4]], dtype="u1")


def test_grid_from_sizes_matches_json_parsing():
    assert RectilinearChunkGrid.from_sizes([[10, 20, 5], 4]) == grid([[10, 20, 5], 4])
