"""The layout's directions hold: no import cycle, and no import against the flow of data.

Data flows one way: Prometheus answer (promadapter) -> usage rows (billing.collection) ->
money (billing.ledger) -> export files (billing.sifac) -> pages and API (web), which read.
Every import of the project's packages counts, at the top of a module or inside a function.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("billing", "dashboards", "kubemon", "promadapter", "simulator", "web")
# Pure modules: they import nothing of the project but one another, so that anything,
# the models too, may import them.
PURE = ("billing.utc", "billing.resources", "billing.sap_fields", "billing.field_validators")
# The one door from collection into the ledger.
LEDGER_DOOR = "billing.ledger.intake"

# (importer, imported, why): an import from a module under the first into one under the
# second is against the layout.
FORBIDDEN = [
    ("billing.ledger", "billing.collection", "the ledger prices rows; it never collects"),
    ("billing.sifac", "billing.collection", "the export reads statements, not collection"),
    ("billing.ledger", "billing.sifac", "statements come before their export"),
    ("billing.ledger", "billing.documents", "statements come before their documents"),
    ("billing.ledger", "billing.mail", "statements come before the mails that carry them"),
    ("billing.collection", "billing.documents", "collection writes usage, not documents"),
    ("billing.collection", "billing.mail", "collection writes usage; it mails nobody"),
    ("billing.sifac", "billing.documents", "the export reads statements, not documents"),
    ("billing.sifac", "billing.mail", "the export writes files; it mails nobody"),
    ("billing.documents", "billing.mail", "documents are made before they are mailed"),
    ("billing", "web", "billing never imports the pages"),
    ("promadapter", "web", "promadapter speaks PromQL; the views using it live in web/"),
    ("promadapter", "billing", "promadapter answers queries; billing asks them"),
    ("simulator", "billing", "the simulator plays the cluster; it knows nothing of billing"),
    ("simulator", "web", "the simulator plays the cluster"),
    ("simulator", "promadapter", "the simulator plays the cluster"),
    ("simulator", "kubemon", "the simulator plays the cluster"),
    ("dashboards", "billing", "dashboards query Prometheus, not the database"),
    ("dashboards", "web", "dashboards query Prometheus, not the pages"),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Every module of the packages, by dotted name (migrations left out: they are history)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path, root)] = path
    return found


def imported_names(path: Path, name: str) -> set[tuple[str, str]]:
    """(module, name or "") of every import of a module, function-level ones included."""
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update((alias.name, "") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, *([base] if base else [])])
            names.update((base, alias.name) for alias in node.names)
    return names


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports.

    `from billing.collection import rollup` imports the module rollup, and the package
    too when its __init__ imports anything (it runs first, and could close a cycle).
    """
    modules = project_modules(root, packages)
    imports = {name: imported_names(path, name) for name, path in modules.items()}
    graph = {}
    for name in modules:
        targets = set()
        for base, member in imports[name]:
            if f"{base}.{member}" in modules:
                targets.add(f"{base}.{member}")
                if imports.get(base):
                    targets.add(base)
            elif base in modules:
                targets.add(base)
        graph[name] = targets - {name}
    return graph


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def wrong_way_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import against the directions, said as `importer -> imported: why`."""
    found = []
    for importer, targets in sorted(graph.items()):
        for imported in sorted(targets):
            found += [
                f"{importer} -> {imported}: {why}"
                for source, target, why in FORBIDDEN
                if under(importer, source) and under(imported, target)
            ]
            if (
                under(importer, "billing.collection")
                and under(imported, "billing.ledger")
                and imported != LEDGER_DOOR
            ):
                found.append(f"{importer} -> {imported}: collection enters the ledger by intake")
            allowed = PURE + (("billing.models",) if under(importer, "billing.models") else ())
            if (importer in PURE or under(importer, "billing.models")) and not any(
                under(imported, a) for a in allowed
            ):
                found.append(
                    f"{importer} -> {imported}: the models and pure modules import only pure ones"
                )
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT)


def test_the_project_has_no_import_cycle(graph):
    assert cycles(graph) == []


def test_no_module_imports_against_the_flow_of_data(graph):
    assert wrong_way_imports(graph) == []


def test_the_graph_sees_the_imports_it_guards(graph):
    # A checker that reads nothing passes everything: these edges exist and must be seen.
    assert "billing.ledger.intake" in graph["billing.collection.store"]
    assert "billing.collection.rollup" in graph["billing.management.commands.refresh_rollup"]
    assert "promadapter.series" in graph["web.views.live"]
    assert graph["billing.models.money"] == {
        "billing.resources",
        "billing.sap_fields",
        "billing.field_validators",
        "billing.models.accounts",
        "billing.models.usage",
    }


def plant(root: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph(root, ("billing", "promadapter", "web"))


PLANTED_BASE = {
    "billing/__init__.py": "",
    "billing/models.py": "from billing.utc import HOUR\n",
    "billing/utc.py": "HOUR = 3600\n",
    "billing/collection/__init__.py": "",
    "billing/collection/store.py": "",
    "billing/ledger/__init__.py": "",
    "billing/ledger/intake.py": "from billing.ledger import statements\n",
    "billing/ledger/statements.py": "from billing.models import HOUR\n",
    "promadapter/__init__.py": "",
    "promadapter/client.py": "import json\n",
    "web/__init__.py": "",
    "web/views.py": "from promadapter.client import json\n",
}


def test_the_checker_passes_a_tree_that_keeps_the_directions(tmp_path):
    graph = plant(
        tmp_path, {**PLANTED_BASE, "billing/collection/store.py": "from ..ledger import intake\n"}
    )
    assert graph["billing.collection.store"] == {"billing.ledger.intake"}
    assert cycles(graph) == [] and wrong_way_imports(graph) == []


def test_a_function_level_cycle_is_found(tmp_path):
    graph = plant(
        tmp_path,
        {
            **PLANTED_BASE,
            "promadapter/instrumentation.py": "def f():\n    from promadapter.client import x\n",
            "promadapter/client.py": "from promadapter.instrumentation import observed\n",
        },
    )
    assert cycles(graph) == [["promadapter.client", "promadapter.instrumentation"]]


@pytest.mark.parametrize(
    ("module", "text", "found"),
    [
        (
            "billing/ledger/periods.py",
            "def late():\n    from billing.collection.store import jobs_for\n",
            "billing.ledger.periods -> billing.collection.store: the ledger prices rows",
        ),
        (
            "billing/collection/store.py",
            "from billing.ledger import statements\n",
            "billing.collection.store -> billing.ledger.statements: collection enters the ledger",
        ),
        (
            "promadapter/views.py",
            "from web import views\n",
            "promadapter.views -> web.views: promadapter speaks PromQL",
        ),
        (
            "billing/utc.py",
            "from billing import models\n",
            "billing.utc -> billing.models: the models and pure modules",
        ),
    ],
)
def test_a_planted_wrong_way_import_is_found(tmp_path, module, text, found):
    graph = plant(tmp_path, {**PLANTED_BASE, module: text})
    assert any(line.startswith(found) for line in wrong_way_imports(graph)), wrong_way_imports(
        graph
    )


def test_models_importing_the_ledger_is_found(tmp_path):
    text = "def clean():\n    from billing.ledger.statements import x\n"
    graph = plant(tmp_path, {**PLANTED_BASE, "billing/models.py": text})
    assert wrong_way_imports(graph) == [
        "billing.models -> billing.ledger.statements: "
        "the models and pure modules import only pure ones"
    ]
    assert cycles(graph) == [["billing.ledger.statements", "billing.models"]]


def test_a_models_module_may_import_another_but_a_pure_one_may_not(tmp_path):
    graph = plant(
        tmp_path,
        {
            **PLANTED_BASE,
            "billing/models/money.py": "from billing.models.accounts import Account\n",
            "billing/models/accounts.py": "from billing.utc import HOUR\n",
            "billing/resources.py": "from billing.models.accounts import Account\n",
        },
    )
    assert wrong_way_imports(graph) == [
        "billing.resources -> billing.models.accounts: "
        "the models and pure modules import only pure ones"
    ]
