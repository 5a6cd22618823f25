"""The architecture, checked: dependencies point one way (DEVELOPERS.md, "Layout").

`knowledge/` is the domain, one folder per capability. It never imports the app (`bot`), the
connectors or the actions; `knowledge.shared` (database, settings, ids, reply types) imports
nothing else of the project; `knowledge.text` (words in, values out) only `shared`; every
capability imports `shared`, `text`, `schools` and itself, plus the few edges declared below
with the reason for each. The imports are read from the source with `ast`, so an import
inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from knowledge.shared.settings import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"
APP_PACKAGES = ("bot", "connectors", "actions")
FOUNDATIONS = ("shared", "text")
CAPABILITIES = ("schools", "parents", "surgery", "broadcasts", "safeguarding", "privacy")
# Capability -> the other capabilities it may use, and why. Everything may use shared and text;
# every capability but schools may use schools.
DECLARED_EDGES: dict[str, dict[str, str]] = {
    "parents": {
        "safeguarding": "every parent's message is screened, and a possible concern is answered "
        "with the safeguarding reply or the check question before anything else",
    },
    "privacy": {
        "safeguarding": "erasing a conversation deletes the checks the sender answered 'no' to, "
        "which are kept only as long as the chat logs",
        "parents": "the questions kept for the school to answer are purged with the chat logs",
    },
}


def _project_imports(path: Path) -> set[str]:
    """Every module of this project that `path` imports, as a dotted name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("knowledge", *APP_PACKAGES)}


def _modules() -> list[Path]:
    return sorted(p for p in KNOWLEDGE.rglob("*.py") if "migrations" not in p.parts)


def _package_of(path: Path) -> str:
    parts = path.relative_to(KNOWLEDGE).parts
    return parts[0] if len(parts) > 1 else ""


def _imported_packages(path: Path) -> set[str]:
    """The knowledge packages `path` imports ("shared", "surgery", ...)."""
    return {
        name.split(".")[1]
        for name in _project_imports(path)
        if name.startswith("knowledge.") and name.count(".") >= 1
    }


def test_every_module_of_knowledge_lives_in_a_capability_or_a_foundation():
    loose = [p.name for p in KNOWLEDGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"put these in a capability folder: {loose}"
    folders = {p.name for p in KNOWLEDGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(FOUNDATIONS + CAPABILITIES)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(KNOWLEDGE)))
def test_the_domain_never_imports_the_app_the_connectors_or_the_actions(path):
    upward = sorted(n for n in _project_imports(path) if n.split(".")[0] in APP_PACKAGES)
    assert not upward, f"{path.relative_to(PROJECT_ROOT)} imports {upward}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(KNOWLEDGE)))
def test_each_package_imports_only_what_the_layout_allows(path):
    package = _package_of(path)
    if not package:
        return
    if package == "shared":
        allowed = {"shared"}
    elif package == "text":
        allowed = {"shared", "text"}
    else:
        allowed = {"shared", "text", "schools", package, *DECLARED_EDGES.get(package, {})}
    extra = sorted(_imported_packages(path) - allowed)
    assert not extra, (
        f"{path.relative_to(PROJECT_ROOT)} imports knowledge.{extra}: declare the edge or move the code"
    )


def test_every_declared_edge_is_used_so_the_list_stays_true():
    used = {
        (package, other)
        for path in _modules()
        if (package := _package_of(path)) in CAPABILITIES
        for other in _imported_packages(path)
        if other in CAPABILITIES and other not in (package, "schools")
    }
    declared = {(package, other) for package, edges in DECLARED_EDGES.items() for other in edges}
    assert declared == used


def test_every_staff_intent_is_answered_by_a_handler_named_in_a_table():
    """The desks map intents to handlers through a table that grep can follow."""
    from actions.actions import BROADCAST_INTENTS, SURGERY_INTENTS
    from knowledge.broadcasts import desk as broadcast_desk
    from knowledge.surgery import desk as surgery_desk

    assert set(surgery_desk.HANDLERS) == set(SURGERY_INTENTS)
    assert set(broadcast_desk.HANDLERS) == set(BROADCAST_INTENTS)
    for module in (surgery_desk, broadcast_desk):
        assert "getattr(self" not in Path(module.__file__).read_text()
