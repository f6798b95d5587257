"""The ``zarrkit`` command, every subcommand through typer's CliRunner."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

from optional import module_needs

module_needs("typer", "rich")

import numpy as np
import pytest
from typer.testing import CliRunner

import zarrkit
import zarrkit.cli
from zarrkit.cli import app, parse_compressor

runner = CliRunner()
DATA = np.arange(64 * 48, dtype="f4").reshape(64, 48)


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args])


def flat(text: str) -> str:
    """``text`` without the line breaks and box drawing of rich's error panels."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


@pytest.fixture
def v2_array(tmp_path: Path) -> Path:
    path = tmp_path / "v2.zarr"
    array = zarrkit.create_array(path, shape=DATA.shape, chunks=(16, 16), dtype="f4", zarr_format=2)
    array[...] = DATA
    return path


@pytest.fixture
def hierarchy(tmp_path: Path) -> Path:
    path = tmp_path / "h.zarr"
    root = zarrkit.group(path, attributes={"title": "test"})
    t = root.create_group("climate").create_array(
        "t2m", shape=DATA.shape, chunks=(32, 16), dtype="f4", dimension_names=["y", "x"]
    )
    t[...] = DATA
    root.create_array("mask", shape=(10,), chunks=(5,), dtype="bool")[:] = True
    return path


# --- info and tree ---------------------------------------------------------------------------


def test_info_of_an_array(v2_array: Path) -> None:
    result = invoke("info", v2_array)
    assert result.exit_code == 0, result.output
    for text in ("Zarr format", "(64, 48)", "(16, 16)", "Float32", "Storage ratio", "Zstd"):
        assert text in result.output


def test_info_json_of_an_array(v2_array: Path) -> None:
    facts = json.loads(invoke("info", v2_array, "--json").stdout)
    assert facts["shape"] == [64, 48] and facts["chunks"] == [16, 16]
    assert facts["shards"] is None and facts["zarr_format"] == 2
    assert facts["codecs"]["compressor"]["id"] == "zstd"
    assert facts["nchunks"] == facts["nchunks_initialized"] == 12
    assert 0 < facts["nbytes_stored"] < facts["nbytes"] == DATA.nbytes
    assert facts["ratio"] == pytest.approx(DATA.nbytes / facts["nbytes_stored"], rel=1e-3)


def test_info_of_a_group(hierarchy: Path) -> None:
    result = invoke("info", hierarchy)
    assert result.exit_code == 0, result.output
    assert "climate/t2m" in result.output and "Group" in result.output
    facts = json.loads(invoke("info", hierarchy, "--json").stdout)
    assert (facts["arrays"], facts["groups"]) == (2, 1)
    assert [m["path"] for m in facts["members"]] == ["climate", "climate/t2m", "mask"]
    assert facts["nbytes"] == DATA.nbytes + 10 and facts["nbytes_stored"] > 0
    node = json.loads(invoke("info", hierarchy, "--path", "climate/t2m", "--json").stdout)
    assert node["dimension_names"] == ["y", "x"] and node["path"] == "climate/t2m"


def test_info_codecs_lists_every_codec_and_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = json.loads(invoke("info", "--codecs", "--json").stdout)
    names = {c["name"]: c for c in listed}
    assert {"zstd", "cast_value", "zfp", "numcodecs.zfpy"} <= set(names)
    assert names["zfp"] == {
        "name": "zfp",
        "usable": True,
        "module": "zfpy",
        "install": "zarrkit[zfp]",
    }
    monkeypatch.setitem(sys.modules, "zfpy", None)  # as if zfpy were not installed
    table = flat(invoke("info", "--codecs").stdout)
    assert re.search(r"zfp\s*│?\s*no\s*│?\s*zfpy \(zarrkit\[zfp\]\)", table), table
    assert invoke("info").exit_code == 2


def test_info_of_nothing_fails_cleanly(tmp_path: Path) -> None:
    result = invoke("info", tmp_path / "missing.zarr")
    assert result.exit_code == 1
    assert "error: no Zarr array or group" in result.stderr


def test_errors_are_printed_verbatim(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    (broken / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array", "shape": [-1]}')
    result = invoke("info", broken)
    assert result.exit_code == 1
    assert "error: key 'zarr.json', field 'data_type': required field is missing" in result.stderr


def test_tree(hierarchy: Path) -> None:
    result = invoke("tree", hierarchy)
    assert result.exit_code == 0
    assert result.output.strip() == str(zarrkit.open_group(hierarchy, mode="r").tree())
    assert invoke("tree", hierarchy, "--level", "1").output.count("t2m") == 0
    assert invoke("tree", hierarchy, "--path", "mask").output.strip() == "mask (10,) bool"


# --- cp ----------------------------------------------------------------------------------------


def test_cp_converts_v2_to_sharded_v3(v2_array: Path, tmp_path: Path) -> None:
    dest = tmp_path / "v3.zarr"
    args = ("cp", v2_array, dest, "--zarr-format", "3", "--chunks", "8,8", "--shards", "32,48")
    result = invoke(*args, "--compressor", "zstd:5", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    copied = zarrkit.open_array(dest, mode="r")
    assert (copied.zarr_format, copied.chunks, copied.shards) == (3, (8, 8), (32, 48))
    assert copied.compressors[-1].level == 5  # zstd inside the shards
    assert np.array_equal(copied[...], DATA)
    again = invoke(*args)
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert invoke(*args, "--overwrite", "--shards", "none").exit_code == 0
    assert zarrkit.open_array(dest, mode="r").shards is None


def test_cp_a_node_of_a_hierarchy(hierarchy: Path, tmp_path: Path) -> None:
    dest = tmp_path / "part.zarr"
    result = invoke("cp", hierarchy, dest, "--path", "climate", "--zarr-format", "2")
    assert result.exit_code == 0, result.output
    copied = zarrkit.open_group(dest, mode="r")
    assert list(copied.group_keys()) == ["climate"] and "mask" not in copied
    t2m = copied["climate/t2m"]
    assert t2m.zarr_format == 2 and np.array_equal(t2m[...], DATA)


def test_cp_progress_only_when_asked(v2_array: Path, tmp_path: Path) -> None:
    quiet = invoke("cp", v2_array, tmp_path / "a.zarr")
    assert "copying" not in quiet.output  # not a terminal
    shown = invoke("cp", v2_array, tmp_path / "b.zarr", "--progress")
    assert "copying" in shown.output and "100%" in shown.output


def test_cp_stats_summarise_requests_bytes_and_codec_time(v2_array: Path, tmp_path: Path) -> None:
    stored = sum(f.stat().st_size for f in v2_array.iterdir() if not f.name.startswith("."))
    result = invoke("cp", v2_array, tmp_path / "c.zarr", "--zarr-format", "2", "--stats")
    assert result.exit_code == 0, result.output
    rows = dict(re.findall(r"│ ([\w ]+?)\s+│ (.+?)\s+│", result.stdout))
    assert re.fullmatch(r"\d+ \(.*get_many \d+.*set_many \d+.*\)", rows["Store requests"])
    # the same chunks read and written (plus the metadata documents)
    for row in ("Bytes read", "Bytes written"):
        assert stored <= int(rows[row].replace(",", "")) < stored + 1000
    assert "decode" in rows["Codec time"] and "encode" in rows["Codec time"]
    assert rows["Failed requests"] == "0"
    assert "Store requests" not in invoke("cp", v2_array, tmp_path / "d.zarr").stdout


@pytest.mark.parametrize("sharded", [False, True])
def test_cp_keeps_rectilinear_grids(tmp_path: Path, sharded: bool) -> None:
    lengths = [[16, 48], [[12, 2], 24]]  # rows 16 and 48, columns 12, 12, 24
    grid = {"chunks": (8, 4), "shards": lengths} if sharded else {"chunks": lengths}
    source = zarrkit.create_array(tmp_path / "r.zarr", shape=DATA.shape, dtype="f4", **grid)
    source[...] = DATA
    result = invoke("cp", tmp_path / "r.zarr", tmp_path / "c.zarr", "--compressor", "gzip:1")
    assert result.exit_code == 0, result.output
    copied = zarrkit.open_array(tmp_path / "c.zarr", mode="r")
    assert copied.metadata.chunk_grid == source.metadata.chunk_grid
    assert (copied.chunks, copied.shards) == (source.chunks, source.shards)
    assert [type(c).__name__ for c in copied.compressors] == ["GzipCodec"]  # in the shards
    assert np.array_equal(copied[...], DATA)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--chunks", "8,x", "positive integers"),
        ("--shards", "0,4", "positive integers"),
        ("--compressor", "nope:3", "unknown numcodecs codec id 'nope'"),
        ("--compressor", "zstd:high", "level must be an integer"),
    ],
)
def test_cp_refuses_bad_options(v2_array: Path, tmp_path: Path, option, value, message) -> None:
    result = invoke("cp", v2_array, tmp_path / "x.zarr", option, value)
    assert result.exit_code == 2
    assert message in flat(result.stderr)
    assert not (tmp_path / "x.zarr").exists()


def test_parse_compressor_gives_each_format_its_json() -> None:
    assert parse_compressor("zstd:3", 2) == {"id": "zstd", "level": 3}
    assert parse_compressor("zstd", 3) == {
        "name": "zstd",
        "configuration": {"level": 0, "checksum": False},
    }
    assert parse_compressor("gzip:6", 3) == {"name": "gzip", "configuration": {"level": 6}}
    assert parse_compressor("blosc:9", 3)["configuration"]["clevel"] == 9
    assert parse_compressor("lz4:2", 2) == {"id": "lz4", "acceleration": 2}
    assert parse_compressor("none", 3) is None


# --- consolidate and check ---------------------------------------------------------------------


def test_consolidate(hierarchy: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zarr-python's v3 warning is for ported code, not the CLI
        result = invoke("consolidate", hierarchy)
    assert result.exit_code == 0
    assert "3 nodes" in result.output
    group = zarrkit.open_group(hierarchy, mode="r", use_consolidated=True)
    assert sorted(group.array_keys()) == ["mask"]


def test_check_a_healthy_store(hierarchy: Path) -> None:
    (hierarchy / "climate" / "t2m" / "c" / "1" / "0").unlink()  # missing chunks are fine
    result = invoke("check", hierarchy)
    assert result.exit_code == 0, result.output
    assert "4 nodes, 7 chunks checked: ok" in result.output


def test_check_reports_corrupt_chunks_and_metadata(hierarchy: Path) -> None:
    (hierarchy / "climate" / "t2m" / "c" / "0" / "1").write_bytes(b"not zstd")
    (hierarchy / "mask" / "c" / "1").write_bytes(b"")
    bad = hierarchy / "broken"
    bad.mkdir()
    (bad / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array"')
    result = invoke("check", hierarchy, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert sorted(p["key"] for p in report["problems"]) == [
        "broken/zarr.json",
        "climate/t2m/c/0/1",
        "mask/c/1",
    ]
    text = invoke("check", hierarchy)
    assert text.exit_code == 1 and "problems found" in text.output
    assert "climate/t2m/c/0/1" in text.output


def test_check_reports_stray_and_malformed_keys(hierarchy: Path) -> None:
    t2m = hierarchy / "climate" / "t2m"
    strays = ["c/9/0", "c/0/-1", "c/0.1", "c/01/0", "c/5", "notes.txt"]
    for stray in strays:  # out of the grid, negative, other separator, padded, rank, junk
        (t2m / stray).parent.mkdir(parents=True, exist_ok=True)
        (t2m / stray).write_bytes(b"x")
    report = json.loads(invoke("check", hierarchy, "--json").stdout)
    found = {p["key"]: p["error"] for p in report["problems"]}
    assert sorted(found) == sorted(f"climate/t2m/{s}" for s in strays)
    assert all("stray object" in error for error in found.values())
    assert report["chunks"] == 8  # the real chunks are still all checked
    array = zarrkit.open_array(hierarchy, path="climate/t2m")
    assert array.nchunks_initialized == array.nchunks == 6  # strays are not counted


def test_check_progress_and_logging(hierarchy: Path) -> None:
    result = invoke("-v", "check", hierarchy, "--progress")
    assert result.exit_code == 0
    assert "checking chunks" in result.output
    assert "checked 4 nodes and 8 chunks: 0 problems" in result.stderr


# --- bench and demo ----------------------------------------------------------------------------


def test_bench_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no benchmarks/ here
    result = invoke("bench", "--size", "1")
    assert result.exit_code == 0, result.output
    assert "memory" in result.output and "local files" in result.output


def test_bench_runs_the_suite_of_a_checkout(tmp_path: Path, monkeypatch) -> None:
    suite = tmp_path / "benchmarks"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / "run.py").write_text(
        "import sys, pathlib\npathlib.Path('ran.txt').write_text(' '.join(sys.argv[1:]))\n"
        "sys.exit(3)\n"
    )
    monkeypatch.chdir(tmp_path)
    result = invoke("bench", "--quick", "--peers", "zarrkit")
    assert result.exit_code == 3
    assert (tmp_path / "ran.txt").read_text() == "--quick --peers zarrkit"
    assert invoke("bench", "--builtin", "--size", "1").exit_code == 0


def test_demo(tmp_path: Path) -> None:
    result = invoke("demo", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "demo in" in result.output
    assert zarrkit.open_group(tmp_path / "out" / "demo.zarr", mode="r")["climate/t2m"].shape


def test_console_script_is_installed() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "zarrkit"]
    assert script.load() is zarrkit.cli.main
    installed = Path(sys.executable).parent / "zarrkit"
    done = subprocess.run([installed, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "consolidate" in done.stdout
