"""The shape of the code: src/zarrkit's imports form a DAG that follows DESIGN.md's layers.

DESIGN.md: "Lower rows never import higher ones: errors/types/registry/config/telemetry ->
metadata -> indexing, codecs, storage -> engine -> creation/nodes/arrays/groups -> api ->
integrations, cli". :data:`LAYERS` lists every module of the package by rank, lowest first;
a module may import modules of lower ranks, and its own unit (a module, or a package and
everything in it), never one of its own rank or above. Imports under ``if TYPE_CHECKING:``
make no runtime edge but follow the same rule. Imports inside functions may not dodge the
rule either: each must be one that could stand at the top of its module, except the few in
:data:`OPTIONAL_IMPORTS` (integrations that need an optional extra).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "zarrkit"

#: Ranks, lowest first; the units of one rank are independent of each other. A unit is a
#: module or a package (all its modules). Comments name DESIGN.md's rows.
LAYERS: list[tuple[str, ...]] = [
    # errors/types/registry/config/telemetry
    ("zarrkit.errors", "zarrkit.version"),
    ("zarrkit.telemetry",),
    ("zarrkit.config", "zarrkit.keys", "zarrkit.progress"),
    ("zarrkit.locking", "zarrkit.registry", "zarrkit.retry"),
    ("zarrkit.lru", "zarrkit.types"),
    ("zarrkit.compiled",),
    ("zarrkit.read_modify_write",),
    # metadata
    ("zarrkit.metadata",),
    # indexing, codecs, storage (and the data type objects, a view of metadata's)
    ("zarrkit.indexing", "zarrkit.codecs", "zarrkit.storage", "zarrkit.dtype"),
    # engine
    (
        "zarrkit.engine.allocator",
        "zarrkit.engine.batches",
        "zarrkit.engine.cache",
        "zarrkit.experimental",
    ),
    ("zarrkit.engine.layout",),
    ("zarrkit.engine.boxes", "zarrkit.engine.direct_writes", "zarrkit.engine.write_plan"),
    ("zarrkit.engine.reading", "zarrkit.engine.writing"),
    ("zarrkit.engine",),
    # creation/nodes/arrays/groups
    (
        "zarrkit.nodes.array_config",
        "zarrkit.nodes.attributes",
        "zarrkit.nodes.chunking",
        "zarrkit.nodes.consolidated_cache",
        "zarrkit.nodes.info",
    ),
    ("zarrkit.nodes.consolidated_writes", "zarrkit.nodes.creation"),
    ("zarrkit.nodes.node",),
    ("zarrkit.nodes.arrays", "zarrkit.nodes.hierarchy"),
    ("zarrkit.nodes.check",),
    ("zarrkit.nodes.groups",),
    ("zarrkit.nodes.consolidated", "zarrkit.nodes.facts"),
    ("zarrkit.nodes.convert",),
    ("zarrkit.nodes",),
    # api (zarrkit.core: zarr-python's import paths of names its user guide imports)
    ("zarrkit.api", "zarrkit.core", "zarrkit.debug"),
    # integrations, cli (the package's __init__ re-exports the public API, for programs)
    ("zarrkit.testing",),
    ("zarrkit.integrations",),
    ("zarrkit",),
    ("zarrkit.demo",),
    ("zarrkit.cli",),
]

#: Modules above the bottom rows that may stay single files at the package's top: a layer of
#: one module, zarr-python's import paths, and the entry points. Every other layer is a folder.
TOP_LEVEL = {
    "zarrkit.indexing": "a layer of one module",
    "zarrkit.dtype": "zarr-python's zarr.dtype",
    "zarrkit.debug": "zarr-python's print_debug_info",
    "zarrkit.demo": "python -m zarrkit.demo",
    "zarrkit.cli": "the zarrkit command",
}

#: Imports inside functions of an optional integration, reached from a lower layer.
OPTIONAL_IMPORTS = {
    ("zarrkit.nodes.arrays", "zarrkit.integrations.dask"): "Array.to_dask needs the dask extra",
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    kind: str  # "runtime", "typing" (under TYPE_CHECKING) or "function" (inside a function)

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target} ({self.kind})"


def module_names() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_names()


def unit_of(module: str) -> str:
    """The unit (an entry of LAYERS) ``module`` belongs to: the longest one naming it or a
    package holding it (the package's own __init__ holds only itself)."""
    units = [u for rank in LAYERS for u in rank]
    matches = [u for u in units if module == u or (u != PACKAGE and module.startswith(u + "."))]
    if not matches:
        raise KeyError(module)
    return max(matches, key=len)


RANK = {unit: i for i, rank in enumerate(LAYERS) for unit in rank}


def resolve(source: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The package modules an import statement of module ``source`` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return [name for name in names if name in MODULES]
    base = node.module or ""
    if node.level:
        package = source if MODULES[source].name == "__init__.py" else source.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    if base not in MODULES:
        return []
    submodules = [f"{base}.{alias.name}" for alias in node.names]
    found = [name for name in submodules if name in MODULES]
    return found if len(found) == len(submodules) else [*found, base]


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str) -> list[Import]:
    """Every import of a package module in ``module``, with where it stands."""
    found: list[Import] = []

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend(Import(module, t, child.lineno, kind) for t in resolve(module, child))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "function")
            elif isinstance(child, ast.If) and is_type_checking(child.test) and kind == "runtime":
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), "typing")
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), kind)
            else:
                visit(child, kind)

    visit(ast.parse(MODULES[module].read_text(), str(MODULES[module])), "runtime")
    return found


IMPORTS = [found for module in MODULES for found in imports_of(module)]


def upward(found: Import) -> bool:
    """Whether ``found`` imports a module of the importer's rank (another unit) or above."""
    source, target = unit_of(found.source), unit_of(found.target)
    return source != target and RANK[target] >= RANK[source]


def cycle(edges: list[Import]) -> list[str] | None:
    """A cycle of ``edges`` as a list of modules, or None."""
    graph: dict[str, list[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in graph.get(module, []):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := walk(target)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := walk(module)) is not None:
            return found
    return None


def test_every_module_has_a_layer() -> None:
    units = [u for rank in LAYERS for u in rank]
    assert len(units) == len(set(units))
    missing = []
    for module in MODULES:
        try:
            unit_of(module)
        except KeyError:
            missing.append(module)
    assert missing == [], "add these modules to LAYERS"
    present = {".".join(m.split(".")[:depth]) for m in MODULES for depth in range(1, 9)}
    assert [u for u in units if u not in present] == [], "LAYERS names modules that are gone"


def test_runtime_imports_form_a_dag() -> None:
    assert cycle([i for i in IMPORTS if i.kind == "runtime"]) is None


@pytest.mark.parametrize("kind", ["runtime", "typing"])
def test_no_layer_imports_its_own_rank_or_above(kind: str) -> None:
    assert [str(i) for i in IMPORTS if i.kind == kind and upward(i)] == []


def test_imports_inside_functions_could_stand_at_the_top() -> None:
    lazy = [i for i in IMPORTS if i.kind == "function"]
    allowed = [i for i in lazy if (i.source, i.target) in OPTIONAL_IMPORTS]
    assert [str(i) for i in lazy if upward(i) and i not in allowed] == []
    runtime = [i for i in IMPORTS if i.kind == "runtime"]
    assert cycle(runtime + lazy) is None  # not even the optional ones close a cycle


def test_optional_imports_are_still_needed() -> None:
    lazy = {(i.source, i.target) for i in IMPORTS if i.kind == "function"}
    assert [pair for pair in OPTIONAL_IMPORTS if pair not in lazy] == []


def test_the_checks_find_what_they_look_for() -> None:
    # the checks above fail on a cycle and an upward import, not only pass
    edges = [
        Import("zarrkit.nodes.node", "zarrkit.nodes.groups", 1, "runtime"),
        Import("zarrkit.nodes.groups", "zarrkit.nodes.node", 1, "runtime"),
    ]
    assert cycle(edges) == ["zarrkit.nodes.groups", "zarrkit.nodes.node", "zarrkit.nodes.groups"]
    assert upward(edges[0]) and not upward(edges[1])
    assert upward(Import("zarrkit.codecs.base", "zarrkit.storage.base", 1, "runtime"))
    assert not upward(Import("zarrkit.codecs.base", "zarrkit.codecs.pipeline", 1, "typing"))
    assert unit_of("zarrkit") == "zarrkit" and unit_of("zarrkit.api.synchronous") == "zarrkit.api"


def test_the_tree_shows_the_layers_in_its_folders() -> None:
    """Above the bottom rows (errors, config, registry, ...), a module directly in src/zarrkit
    is one of :data:`TOP_LEVEL`; the rest of each layer lives in its folder."""
    bottom = {u for rank in LAYERS[: RANK["zarrkit.metadata"]] for u in rank}
    top = [m for m, path in MODULES.items() if path.parent == SRC / PACKAGE]
    stray = [m for m in top if m != PACKAGE and m not in bottom and m not in TOP_LEVEL]
    assert stray == [], "move these into their layer's folder"
    assert [m for m in TOP_LEVEL if m not in MODULES] == []


def test_long_modules_say_why_at_their_top() -> None:
    """A module of over ~400 lines gives its reason in its docstring ("Over 400 lines ...")."""
    unexplained = []
    for path in sorted((SRC / "zarrkit").rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > 410 and "Over 400 lines" not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            unexplained.append(str(path.relative_to(SRC)))
    assert unexplained == []
