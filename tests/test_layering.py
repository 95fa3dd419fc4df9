"""Who may import whom (ARCHITECTURE.md): pages and the app shell reach core only through
`core.api` and never open the store; the store imports no domain module (it would invert the
layers and invite cycles). Imports are read from the syntax tree, so lazy imports inside
functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What core/store may import from core: itself and the leaf modules every layer shares.
STORE_MAY_IMPORT = ("core.store", "core.errors", "core.config", "core.access", "core.text")
# What a page may import from core: the service layer and the leaf modules (roles, errors, text).
PAGE_MAY_IMPORT = ("core.api", "core.access", "core.errors", "core.text")


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names; `from core import x` yields core.x)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _files(*dirs: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for d in dirs for p in (ROOT / d).rglob("*.py"))


def _store_imports(rel: str) -> list[str]:
    return sorted(m for m in imports(ROOT / rel) if m == "core.store" or m.startswith("core.store."))


@pytest.mark.parametrize("rel", [f for f in _files("pages", "app")])
def test_pages_and_app_do_not_import_the_store(rel):
    assert _store_imports(rel) == [], f"{rel} reaches past core.api into the store"


@pytest.mark.parametrize("rel", [f for f in _files("pages")])
def test_pages_reach_core_only_through_the_api(rel):
    bad = sorted(m for m in imports(ROOT / rel) if m.startswith("core.")
                 and not m.startswith(PAGE_MAY_IMPORT))
    assert bad == [], f"{rel} calls domain modules {bad} directly; go through core.api"


@pytest.mark.parametrize("rel", _files("core/store"))
def test_store_imports_no_domain_module(rel):
    bad = sorted(m for m in imports(ROOT / rel) if m.startswith("core.")
                 and not m.startswith(STORE_MAY_IMPORT))
    assert bad == [], f"{rel} imports domain modules {bad}"


def test_core_imports_no_streamlit_app_or_pages():
    for rel in _files("core"):
        bad = sorted(m for m in imports(ROOT / rel)
                     if m.split(".")[0] in ("streamlit", "app", "pages"))
        assert bad == [], f"{rel} imports {bad}"


def test_the_checker_sees_a_violation(tmp_path):
    """The AST reader must see both import forms, nested in functions too."""
    f = tmp_path / "x.py"
    f.write_text("def g():\n    from core.store import session\n\nimport core.store.sales\n")
    assert {"core.store", "core.store.session", "core.store.sales"} <= imports(f)
