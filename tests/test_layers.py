"""The package layers: every import in every module (lazy ones in functions included) points
down the order below, never up and never sideways between packages of one layer.

This list is the one place the order is written; README's layout section describes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS: list[tuple[str, ...]] = [
    ("tools",),  # sandbox, databases, schemas, policy, records
    ("retrieval",),  # BM25 over the Ibis API docs
    ("agents",),  # the DSPy program and its LM backends
    ("harness",),  # task files, synth, EX judge, metrics, reports, tracking, optimize
    ("finetune", "serving"),  # learning from traces; vLLM serving
    ("service",),  # the web page, HTTP API and MCP server over the pipeline
    ("devstarl",),  # the command line, the composition root
]
LEVEL = {package: i for i, layer in enumerate(LAYERS) for package in layer}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) for every import in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in LEVEL]
    return found


def modules() -> list[Path]:
    return sorted(p for package in LEVEL for p in (ROOT / package).rglob("*.py"))


def test_every_package_is_in_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(LEVEL)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    own = path.relative_to(ROOT).parts[0]
    wrong = [f"line {line}: {own} imports {target}" for line, target in project_imports(path)
             if target != own and LEVEL[target] >= LEVEL[own]]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from devstarl.main import app\n    import harness.synth\n")
    assert project_imports(module) == [(2, "devstarl"), (3, "harness")]
