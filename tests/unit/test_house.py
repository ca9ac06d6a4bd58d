"""The house drawn from the imports (docs/manual/house.md): no cycle, and every import points
down the map: the run -> its stages (load, catch-up) -> the two systems -> the pure rules."""

import ast
import os
from typing import Dict, Set

from tests.session import REPO

LEVEL = {"mapping": 0, "jobs.mysql": 1, "jobs.dynamodb": 1, "jobs.load": 2, "jobs.catchup": 2}
RUN = 3  # jobs' own top-level modules
# The run's vocabulary, which its stages and the two systems share: the config, the plan, a
# table's unit of work, the state, progress, the report, files, errors.
SHARED = {
    "jobs.errors",
    "jobs.config",
    "jobs.storage",
    "jobs.planner",
    "jobs.table_job",
    "jobs.state",
    "jobs.progress",
    "jobs.report",
}


def imports() -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for top in ("jobs", "mapping"):
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".").removesuffix(".__init__")
                found = set()
                with open(path, encoding="utf-8") as handle:
                    tree = ast.parse(handle.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    else:
                        continue
                    found |= {n for n in names if n in MODULES and n not in PACKAGES}
                graph[module] = found - {module}
    return graph


def _modules() -> Set[str]:
    found = set()
    for top in ("jobs", "mapping"):
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith(".py"):
                    relative = os.path.relpath(os.path.join(folder, name), REPO)[:-3]
                    found.add(relative.replace(os.sep, ".").removesuffix(".__init__"))
    return found


MODULES = _modules()
PACKAGES = {"jobs", "mapping", "jobs.load", "jobs.catchup", "jobs.mysql", "jobs.dynamodb"}


def level(module: str) -> int:
    for prefix, value in LEVEL.items():
        if module == prefix or module.startswith(prefix + "."):
            return value
    return RUN


def test_no_module_imports_one_that_imports_it_back():
    graph = imports()
    cycles = []

    def visit(module, path):
        for target in graph.get(module, ()):
            if target == path[0]:
                cycles.append(path + [target])
            elif target not in path and len(path) < 12:
                visit(target, path + [target])

    for module in graph:
        visit(module, [module])
    assert not cycles, cycles[:3]


def test_every_import_points_down_the_map():
    upward = [
        (module, target)
        for module, targets in imports().items()
        for target in targets
        if target not in SHARED and level(target) > level(module) and level(module) != RUN
    ]
    upward += [(m, t) for m, ts in imports().items() if m.startswith("mapping") for t in ts if level(t) != 0]
    assert not upward, upward
