import builtins

import pytest

from zarrkit import storage
from zarrkit.errors import UnknownStoreError
from zarrkit.storage import make_store, stores

SCHEMES = [
    "zip",
    "sqlite",
    "lmdb",
    "redis",
    "postgresql",
    "postgres",
    "s3",
    "gs",
    "gcs",
    "az",
    "azure",
    "abfs",
    "http",
    "https",
    "file",
    "memory",
]


def test_all_schemes_registered():
    names = stores.names()
    for scheme in SCHEMES:
        assert scheme in names


def test_unknown_scheme_lists_known():
    with pytest.raises(UnknownStoreError, match="zip"):
        make_store("nosuch://x")


@pytest.mark.parametrize(
    ("url", "cls"),
    [
        ("zip://{tmp}/a.zip", "ZipStore"),
        ("sqlite:///{tmp}/a.db", "SQLiteStore"),
        ("lmdb://{tmp}/db", "LMDBStore"),
    ],
)
def test_file_backed_schemes(tmp_path, url, cls):
    store = make_store(url.format(tmp=tmp_path))
    assert type(store).__name__ == cls
    store.set("zarr.json", b"{}")
    store.close()
    reader = make_store(url.format(tmp=tmp_path), read_only=True)
    assert reader.read_only
    assert reader.get("zarr.json") == b"{}"
    reader.close()


def test_lazy_class_attributes():
    assert storage.ObjectStore.__name__ == "ObjectStore"
    assert storage.ZipStore.__name__ == "ZipStore"
    with pytest.raises(AttributeError):
        storage.NoSuchStore  # noqa: B018


def test_missing_optional_package_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "obstore" or name.startswith("obstore."):
            raise ModuleNotFoundError(f"No module named {name!r}", name="obstore")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "zarrkit.storage.object", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'zarrkit\[s3\]'") as info:
        make_store("s3://bucket/x", storage_options={"skip_signature": True})
    assert info.value.name == "obstore"
