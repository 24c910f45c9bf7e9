"""Measure the package's structure: import circles, function-level imports, signature lengths, config reads.

    .venv/bin/python tools/house.py [--package src/neft] [--json FILE]

prints, from the source alone (every ``import`` statement, module-level and inside functions, parsed with ``ast``):

- the import circles between modules (strongly connected components of the import graph, once with module-level
  imports only and once with function-level imports added);
- the function-level imports of the package's own modules (each a hidden edge of the graph);
- the longest signatures (parameters of a function, ``self`` and ``cls`` not counted);
- ``.get("key", default)`` reads outside ``config.py`` (each a default stated a second time, if it reads a config
  slice);
- the number of top-level modules and subpackages, and the largest modules' lines.

Issue 25 uses it for its before-and-after numbers; tests/test_house.py checks it on a made-up package.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(path: Path, package: Path, modules: set[str]) -> list[tuple[str, bool, int]]:
    """(imported module of the package, inside a function?, line) for every import statement of ``path``."""
    current = module_name(path, package)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def known(name: str) -> str | None:
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    def visit(node, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = known(alias.name)
                    if target and target != current:
                        found.append((target, in_function, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(child, current, path.name == "__init__.py")
                for alias in child.names:
                    target = known(f"{base}.{alias.name}") or known(base)
                    if target and target != current:
                        found.append((target, in_function, child.lineno))
            visit(child, nested)

    visit(tree, False)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out, key=lambda c: (-len(c), c))


def signatures(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
            names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
            count = len([n for n in names if n not in ("self", "cls")])
            out.append((count, f"{node.name} (line {node.lineno})"))
    return out


def get_reads(path: Path) -> list[int]:
    """Lines of ``x.get("literal", default)`` calls (two arguments, the first a string constant)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and len(node.args) == 2
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def measure(package: Path) -> dict:
    files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    modules = {module_name(p, package) for p in files}
    # a namespace package (no __init__.py) is still a module one can import from
    modules |= {module_name(d / "__init__.py", package) for d in [package, *package.rglob("*")] if d.is_dir()}
    top = package.name
    module_graph: dict[str, set[str]] = {m: set() for m in modules}
    full_graph: dict[str, set[str]] = {m: set() for m in modules}
    function_level = []
    for p in files:
        m = module_name(p, package)
        for target, in_function, line in imports(p, package, modules):
            full_graph[m].add(target)
            if in_function:  # one per statement and module imported
                where = f"{p.relative_to(package.parent)}:{line} -> {target}"
                if where not in function_level:
                    function_level.append(where)
            else:
                module_graph[m].add(target)
    sigs = sorted(
        ((n, f"{p.relative_to(package.parent)}: {name}") for p in files for n, name in signatures(p)), reverse=True
    )
    reads = [f"{p.relative_to(package.parent)}:{line}" for p in files if p.name != "config.py" for line in get_reads(p)]
    sizes = sorted(
        ((len(p.read_text(encoding="utf-8").splitlines()), str(p.relative_to(package.parent))) for p in files),
        reverse=True,
    )
    entries = [
        p
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and p.name != "__pycache__")
    ]
    return {
        "package": top,
        "top_level_entries": len(entries),
        "top_level_modules": len([p for p in entries if p.suffix == ".py"]),
        "subpackages": len([p for p in entries if p.is_dir()]),
        "circles_module_level": circles(module_graph),
        "circles_with_function_level": circles(full_graph),
        "function_level_imports": function_level,
        "longest_signatures": [{"parameters": n, "where": w} for n, w in sigs[:10]],
        "over_8_parameters": len([1 for n, _ in sigs if n > 8]),
        "get_with_default_outside_config": reads,
        "largest_modules": [{"lines": n, "module": m} for n, m in sizes[:5]],
    }


def report(m: dict) -> str:
    lines = [
        f"{m['package']}: {m['top_level_modules']} top-level modules, {m['subpackages']} subpackages",
        f"import circles (module-level imports): {len(m['circles_module_level'])}",
        *[f"  {' <-> '.join(c)}" for c in m["circles_module_level"]],
        f"import circles (with function-level imports): {len(m['circles_with_function_level'])}"
        + (
            f", the largest of {len(m['circles_with_function_level'][0])} modules"
            if m["circles_with_function_level"]
            else ""
        ),
        f"function-level imports of the package's own modules: {len(m['function_level_imports'])}",
        f"functions with more than 8 parameters: {m['over_8_parameters']}; the longest:",
        *[f"  {s['parameters']:3d}  {s['where']}" for s in m["longest_signatures"][:5]],
        f'.get("key", default) calls outside config.py: {len(m["get_with_default_outside_config"])}',
        "largest modules: " + ", ".join(f"{s['module']} ({s['lines']} lines)" for s in m["largest_modules"][:3]),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", type=Path, default=REPO / "src/neft", help="the package folder (default src/neft)")
    ap.add_argument("--json", type=Path, default=None, help="also write every number and name to this JSON file")
    args = ap.parse_args(argv)
    if not args.package.is_dir():
        print(f"tools/house.py: {args.package} is not a folder", file=sys.stderr)
        return 1
    m = measure(args.package)
    print(report(m))
    if args.json:
        args.json.write_text(json.dumps(m, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
