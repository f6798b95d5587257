"""The documentation runs: every code block of README.md and docs/*.md, and examples/*.py.

A page's ``python`` blocks run top to bottom in one namespace, in a fresh directory, and
the ``zarrkit ...`` lines of its ``bash`` blocks run between them through the CLI; a block
fenced as ``python no-test`` (or ``bash no-test``) is skipped: use that only for code that
needs a server. An example script that needs one says so in a comment line near its top,
``# needs: s3``, and is skipped.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from optional import needs, optional

cli = optional("zarrkit.cli")  # the cli extra
typer_testing = optional("typer.testing")

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
FENCE = re.compile(r"^```(\w*)[ \t]*([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NEEDS = re.compile(r"^# needs: (.+)$", re.MULTILINE)
SHELLS = ("bash", "sh", "shell", "console")


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block: its language, whether it is tested, where its code starts."""

    language: str
    tested: bool
    line: int
    code: str


def code_blocks(text: str) -> list[Block]:
    return [
        Block(
            language=m.group(1),
            tested="no-test" not in m.group(2).split(),
            line=text.count("\n", 0, m.start(3)) + 1,
            code=m.group(3),
        )
        for m in FENCE.finditer(text)
    ]


def test_code_blocks_are_found() -> None:
    text = "a\n```python\nx = 1\n```\n\n```python no-test\ny\n```\n```bash\nzarrkit info\n```\n"
    assert code_blocks(text) == [
        Block("python", True, 3, "x = 1\n"),
        Block("python", False, 7, "y\n"),
        Block("bash", True, 10, "zarrkit info\n"),
    ]


def run_python(block: Block, doc: Path, namespace: dict[str, object]) -> None:
    # Padding makes tracebacks point at the block's lines in the Markdown file.
    code = compile("\n" * (block.line - 1) + block.code, str(doc), "exec")
    exec(code, namespace)


def run_cli_lines(block: Block, doc: Path) -> None:
    for offset, line in enumerate(block.code.splitlines()):
        words = shlex.split(line, comments=True)
        if not words or words[0] != "zarrkit":
            continue
        result = typer_testing.CliRunner().invoke(cli.app, words[1:])
        where = f"{doc.name}:{block.line + offset}"
        assert result.exit_code == 0, f"{where}: {line}\n{result.output}{result.stderr}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_doc_examples_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in code_blocks(doc.read_text()):
        if not block.tested:
            continue
        if block.language == "python":
            run_python(block, doc, namespace)
        elif block.language in SHELLS:
            run_cli_lines(block, doc)


@pytest.mark.slow  # a process per example, some starting Dask clusters
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_run(example: Path, tmp_path: Path) -> None:
    declared = NEEDS.search("\n".join(example.read_text().splitlines()[:15]))
    if declared:
        pytest.skip(f"{example.name} needs {declared.group(1)}")
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", done.stderr)
    if done.returncode and missing:
        needs(missing.group(1))  # an extra's module: skips in the no-extras job only
    assert done.returncode == 0, f"{example.name} failed:\n{done.stdout}\n{done.stderr}"
