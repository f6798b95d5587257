"""zarr-python's error and warning classes: each exists in zarrkit.errors, is caught by the
built-ins zarr-python's is, fits zarrkit's hierarchy, and is raised where zarr-python
raises it."""

import builtins
import json
import warnings

import pytest
from optional import available, optional

import zarrkit
from zarrkit import errors
from zarrkit.storage import MemoryStore

zarr = optional("zarr")
# the no-extras job lacks zarr-python: its classes are then not compared
ZARR_NAMES = [*zarr.errors.__all__, "ZarrUserWarning"] if available("zarr") else []


@pytest.mark.parametrize("name", ZARR_NAMES)
def test_every_class_of_zarr_errors_exists_with_its_builtin_bases(name):
    theirs, ours = getattr(zarr.errors, name), getattr(errors, name)
    builtin_bases = [c for c in theirs.__mro__ if c.__module__ == builtins.__name__]
    assert builtin_bases and all(issubclass(ours, base) for base in builtin_bases)
    family = errors.ZarrkitWarning if issubclass(ours, Warning) else errors.ZarrkitError
    assert issubclass(ours, family)


@pytest.mark.parametrize(
    ("zarr_name", "ours"),
    [
        ("ArrayNotFoundError", errors.NodeNotFoundError),
        ("GroupNotFoundError", errors.NodeNotFoundError),
        ("ContainsArrayError", errors.NodeExistsError),
        ("ContainsGroupError", errors.NodeExistsError),
        ("MetadataValidationError", errors.MetadataError),
        ("BoundsCheckError", errors.BoundsError),
        ("NegativeStepError", errors.IndexingError),
    ],
)
def test_zarr_classes_derive_from_the_zarrkit_class_that_means_the_same(zarr_name, ours):
    assert issubclass(getattr(errors, zarr_name), ours)


def test_missing_nodes():
    store = MemoryStore()
    with pytest.raises(errors.ArrayNotFoundError, match="No array found"):
        zarrkit.open_array(store, mode="r")
    with pytest.raises(errors.GroupNotFoundError, match="No group found"):
        zarrkit.open_group(store, mode="r+")
    with pytest.raises(errors.ArrayNotFoundError):
        zarrkit.Array.open(store)
    with pytest.raises(FileNotFoundError):  # what code written for zarr-python 2 catches
        zarrkit.Group.open(store)


def test_creating_over_a_node_of_the_same_format():
    store = MemoryStore()
    zarrkit.create_array(store, name="a", shape=(1,), dtype="i1")
    zarrkit.create_group(store, path="g")
    with pytest.raises(errors.ContainsArrayError, match="An array already exists"):
        zarrkit.create_group(store, path="a")
    with pytest.raises(errors.ContainsGroupError, match="A group already exists"):
        zarrkit.create_array(store, name="g", shape=(1,), dtype="i1")
    with pytest.raises(ValueError):  # zarr-python's are ValueErrors
        zarrkit.Group.from_store(store)  # the root group made for "a"


def test_opening_the_wrong_kind_of_node():
    store = MemoryStore()
    zarrkit.create_array(store, name="a", shape=(1,), dtype="i1")
    with pytest.raises(errors.ContainsArrayError) as info:  # as zarr-python raises it
        zarrkit.open_group(store, path="a")
    assert isinstance(info.value, errors.NodeTypeError)  # zarrkit's name for it
    with pytest.raises(errors.NodeTypeValidationError, match=r"Expected 'array'. Got 'group'"):
        zarrkit.open_array(store, mode="r")
    with pytest.raises(errors.NodeTypeError):
        zarrkit.open_array(store, mode="r")


def test_a_parent_that_is_an_array():
    root = zarrkit.group({})
    root.create_array("a", shape=(1,), dtype="i1")
    with pytest.raises(ValueError, match=r"A parent of .* is an array - only groups"):
        root.create_array("a/b", shape=(1,), dtype="i1")


def test_v2_array_and_group_documents_at_one_path():
    store = MemoryStore()
    zarrkit.create_array(store, shape=(1,), dtype="i1", zarr_format=2)
    store.set(".zgroup", json.dumps({"zarr_format": 2}).encode())
    with pytest.raises(errors.ContainsArrayAndGroupError, match=r"\.zarray and \.zgroup"):
        zarrkit.open(store)


def test_invalid_format_and_argument_types():
    with pytest.raises(errors.MetadataValidationError, match="Expected 2, 3, or None"):
        zarrkit.open_group({}, zarr_format="3.0")
    with pytest.raises(TypeError):
        zarrkit.create(shape=(400.5, 100), store={})
    with pytest.raises(TypeError):
        zarrkit.create(shape=(400, 100), chunks=(16, 16.5), store={})


def test_index_errors():
    z = zarrkit.zeros((10,), chunks=(3,), store={})
    with pytest.raises(errors.BoundsCheckError):
        z[10]
    with pytest.raises(errors.BoundsCheckError):
        z.get_block_selection(slice(4, None))
    with pytest.raises(IndexError):
        z[..., [1, 2]]


def test_warnings_are_zarr_python_categories():
    with pytest.warns(errors.ZarrRuntimeWarning, match="synchronizer is not yet implemented"):
        zarrkit.create(shape=(1,), store={}, synchronizer=object())
    with pytest.warns(errors.ZarrDeprecationWarning, match="Group.tree instead"):
        zarrkit.tree(zarrkit.group({}))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        zarrkit.create(shape=(1,), store={}, zarr_version=2)
    assert [w.category for w in seen] == [errors.ZarrDeprecationWarning]
