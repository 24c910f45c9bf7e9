"""Measure the package's structure: import circles, function-level imports, signature lengths, config reads.

    .venv/bin/python tools/house.py [--package src/neft] [--json FILE] [--check]

prints, from the source alone (every ``import`` statement, module-level and inside functions, parsed with ``ast``):

- the import circles between modules (strongly connected components of the import graph, once with module-level
  imports only and once with function-level imports added);
- the function-level imports of the package's own modules (each a hidden edge of the graph);
- the longest signatures (parameters of a function, ``self`` and ``cls`` not counted);
- ``.get("key", default)`` reads outside ``config.py`` (each a default stated a second time, if it reads a config
  slice);
- the number of top-level modules and subpackages, and the largest modules' lines;
- the imports that go up the layers of ``pyproject.toml``'s import-linter ``layers`` contract (a module importing one
  of a higher layer, or of an independent sibling), and the modules in no layer.

``--check`` exits 1, naming each offence, unless: no circles, no upward import, no module outside the layers, every
function-level import of the package's own modules outside ``tools`` carries its reason (a comment on the line or the
line above) and there are at most ``FUNCTION_LEVEL_BUDGET`` of them, and no function outside ``tools`` takes more
than ``MAX_PARAMETERS`` parameters. CI runs it (tests/test_house.py), beside ``lint-imports``.

Issue 25 uses it for its before-and-after numbers; tests/test_house.py checks it on a made-up package.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: function-level imports of the package's own modules allowed outside ``tools`` (each with its reason)
FUNCTION_LEVEL_BUDGET = 5
#: parameters a function outside ``tools`` may take (``self`` and ``cls`` not counted)
MAX_PARAMETERS = 8


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


def has_reason(path: Path, line: int) -> bool:
    """Whether the import statement at ``line`` says why it is where it is: a comment on it or just above it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    above = lines[line - 2].strip() if line >= 2 else ""
    return "#" in lines[line - 1] or above.startswith("#")


def read_layers(pyproject: Path) -> list[list[str]]:
    """The layers of the first import-linter ``layers`` contract in ``pyproject``, highest first; each a list of
    its independent siblings (``a | b``). Empty when there is none."""
    if not pyproject.is_file():
        return []
    config = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("importlinter", {})
    for contract in config.get("contracts", []):
        if contract.get("type") == "layers":
            return [[m.strip() for m in layer.split("|")] for layer in contract["layers"]]
    return []


def _layer(module: str, layers: list[list[str]]) -> tuple[int, str] | None:
    for i, siblings in enumerate(layers):
        for name in siblings:
            if module == name or module.startswith(name + "."):
                return i, name
    return None


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


def measure(package: Path, layers: list[list[str]] | None = None) -> dict:
    """Every number of the report; ``layers`` (highest first, each a list of independent siblings) as
    :func:`read_layers` gives them."""
    layers = layers or []
    files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    modules = {module_name(p, package) for p in files}
    # a namespace package (no __init__.py) is still a module one can import from
    modules |= {module_name(d / "__init__.py", package) for d in [package, *package.rglob("*")] if d.is_dir()}
    top = package.name
    module_graph: dict[str, set[str]] = {m: set() for m in modules}
    full_graph: dict[str, set[str]] = {m: set() for m in modules}
    function_level, unexplained, upward = [], [], []
    for p in files:
        m = module_name(p, package)
        for target, in_function, line in imports(p, package, modules):
            full_graph[m].add(target)
            where = f"{p.relative_to(package.parent)}:{line} -> {target}"
            if in_function:  # one per statement and module imported
                if where not in function_level:
                    function_level.append(where)
                    if not has_reason(p, line):
                        unexplained.append(where)
            else:
                module_graph[m].add(target)
            a, b = _layer(m, layers), _layer(target, layers)
            if a and b and (b[0] < a[0] or (b[0] == a[0] and b[1] != a[1])):
                upward.append(f"{where} ({a[1]} imports {b[1]})")
    unlayered = sorted(m for m in modules if layers and m != top and not _layer(m, layers))
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
        "function_level_without_reason": unexplained,
        "layers": [" | ".join(x) for x in layers],
        "upward_imports": upward,
        "unlayered_modules": unlayered,
        "signatures_over_limit": [f"{w} ({n})" for n, w in sigs if n > MAX_PARAMETERS and not _in_tools(w)],
        "longest_signatures": [{"parameters": n, "where": w} for n, w in sigs[:10]],
        "over_8_parameters": len([1 for n, _ in sigs if n > 8]),
        "get_with_default_outside_config": reads,
        "largest_modules": [{"lines": n, "module": m} for n, m in sizes[:5]],
    }


def _in_tools(where: str) -> bool:
    return where.split(":")[0].split("/")[1:2] == ["tools"]


def offences(m: dict) -> list[str]:
    """What ``--check`` refuses (see the module's docstring); empty when the house is in order."""
    out = [f"import circle: {' <-> '.join(c)}" for c in m["circles_with_function_level"]]
    out += [f"upward import: {u}" for u in m["upward_imports"]]
    out += [f"module in no layer: {u}" for u in m["unlayered_modules"]]
    inside = [f for f in m["function_level_imports"] if not _in_tools(f)]
    out += [
        f"function-level import without its reason: {f}" for f in m["function_level_without_reason"] if not _in_tools(f)
    ]
    if len(inside) > FUNCTION_LEVEL_BUDGET:
        out.append(f"{len(inside)} function-level imports outside tools, more than {FUNCTION_LEVEL_BUDGET}")
    out += [f"more than {MAX_PARAMETERS} parameters: {s}" for s in m["signatures_over_limit"]]
    return out


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
        f"layers: {' < '.join(reversed(m['layers'])) or 'none declared'}",
        f"upward imports: {len(m['upward_imports'])}; modules in no layer: {len(m['unlayered_modules'])}",
        *[f"  {u}" for u in m["upward_imports"][:10]],
        f"function-level imports of the package's own modules: {len(m['function_level_imports'])}"
        f" ({len([f for f in m['function_level_imports'] if not _in_tools(f)])} outside tools)",
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
    ap.add_argument("--pyproject", type=Path, default=REPO / "pyproject.toml", help="where the layers are declared")
    ap.add_argument("--check", action="store_true", help="exit 1 naming each offence against the house rules")
    args = ap.parse_args(argv)
    if not args.package.is_dir():
        print(f"tools/house.py: {args.package} is not a folder", file=sys.stderr)
        return 1
    m = measure(args.package, read_layers(args.pyproject))
    print(report(m))
    if args.json:
        args.json.write_text(json.dumps(m, indent=1) + "\n", encoding="utf-8")
    if args.check:
        found = offences(m)
        for line in found:
            print(f"tools/house.py --check: {line}", file=sys.stderr)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
