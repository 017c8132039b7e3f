"""The layering rules of the three apps, checked on the source.

- ``integrations`` is the bottom layer: it imports neither ``interviews`` nor ``governance``,
  not even inside functions (it publishes events instead).
- No import cycles between project modules (imports inside functions are deliberate late
  bindings and are not counted; ``TYPE_CHECKING`` blocks neither).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "integrations", "interviews", "governance")


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def test_integrations_imports_neither_interviews_nor_governance() -> None:
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("integrations"):
            continue
        offenders.extend(
            f"{name} imports {target}"
            for node in ast.walk(ast.parse(path.read_text()))
            for target in _imported(node)
            if target.split(".")[0] in ("interviews", "governance")
        )
    assert offenders == []


def test_no_import_cycles_between_project_modules() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.parse(path.read_text()).body:  # module level only
            deps.update(target for target in _imported(node) if target in modules)
        graph[name] = deps - {name}

    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_interviews_module_reads_demographics() -> None:
    """Demographic data feeds the auditors' adverse-impact report only: nothing that scores,
    routes or decides may read it (not even through a late import or a string lookup)."""
    markers = ("demographics", "candidatedemographics")
    offenders = [
        name
        for name, path in _modules().items()
        if name.startswith("interviews")
        and any(marker in path.read_text().lower() for marker in markers)
    ]
    assert offenders == []
    templates = ROOT / "templates" / "interviews"
    assert [
        path.name
        for path in templates.rglob("*.html")
        if any(marker in path.read_text().lower() for marker in markers)
    ] == []
