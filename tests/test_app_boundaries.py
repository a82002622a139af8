"""Apps read each other through facades (selectors, lookups, entitlements), not models.

The modules below once read another app's tables directly; this keeps them from going
back. A model imported only for type hints (under ``if TYPE_CHECKING:``) is allowed.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "billing", "meetings", "privacy", "recordings", "support")


def runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names.update(f"{child.module}.{alias.name}" for alias in child.names)
                names.add(child.module)
            elif isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            visit(child)

    visit(tree)
    return names


@pytest.mark.parametrize(
    "module", ["recordings/services.py", "recordings/qa.py", "meetings/time_limit.py"]
)
def test_the_module_reads_no_other_apps_models(module):
    own_app = module.split("/")[0]
    others = [app for app in APPS if app not in (own_app, "accounts")]

    imported = runtime_imports(ROOT / module)

    assert not [name for name in imported for app in others if name.startswith(f"{app}.models")], (
        imported
    )
