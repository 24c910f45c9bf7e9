"""tools/house.py measures a package's structure (issue 25's numbers): checked on a made-up package."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("house", REPO / "tools/house.py")
house = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(house)


def _package(root):
    pkg = root / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("from pkg import b\n\n\ndef f(x, y=None):\n    return x.get('key', 3)\n")
    (pkg / "b.py").write_text("def g():\n    from pkg.sub import c\n    import pkg.a\n    return c, pkg.a\n")
    (pkg / "sub/c.py").write_text("from .. import d\n\n\ndef h(a, b, c, d, e, f, g, h, i, *, j):\n    return a\n")
    (pkg / "d.py").write_text("import os\n\n\nclass K:\n    def m(self, one):\n        return os.sep\n")
    return pkg


def test_house_finds_circles_hidden_imports_long_signatures_and_get_defaults(tmp_path):
    m = house.measure(_package(tmp_path))
    assert m["circles_module_level"] == []  # a -> b only at module level
    assert m["circles_with_function_level"] == [["pkg.a", "pkg.b"]]  # b imports a inside g
    assert sorted(x.split(" -> ")[1] for x in m["function_level_imports"]) == ["pkg.a", "pkg.sub.c"]
    assert m["over_8_parameters"] == 1 and m["longest_signatures"][0]["parameters"] == 10
    assert m["longest_signatures"][-1]["parameters"] == 0  # g; self is not counted in K.m (1)
    assert len(m["get_with_default_outside_config"]) == 1
    assert m["top_level_modules"] == 3 and m["subpackages"] == 1


def test_house_runs_on_this_package(capsys):
    assert house.main(["--package", str(REPO / "src/neft")]) == 0
    assert "import circles" in capsys.readouterr().out


def test_this_package_has_no_import_circles():
    """Issue 25: no module imports one that imports it back, function-level imports included."""
    m = house.measure(REPO / "src/neft")
    assert m["circles_with_function_level"] == [], m["circles_with_function_level"]


def test_house_finds_upward_imports_sibling_imports_and_modules_in_no_layer(tmp_path):
    pkg = tmp_path / "pkg"
    for sub in ("low", "mid", "left", "right"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "low/a.py").write_text("def f():\n    # here: a reason\n    from pkg.mid import b\n    return b\n")
    (pkg / "mid/b.py").write_text("from pkg.low import a\n")
    (pkg / "left/c.py").write_text("from pkg.right import d\n")
    (pkg / "right/d.py").write_text("def g():\n    from pkg.low import a\n    return a\n")
    (pkg / "stray.py").write_text("")
    layers = [["pkg.left", "pkg.right"], ["pkg.mid"], ["pkg.low"]]
    m = house.measure(pkg, layers)
    assert [u.split(" (")[1] for u in m["upward_imports"]] == [
        "pkg.left imports pkg.right)",
        "pkg.low imports pkg.mid)",
    ]
    assert m["unlayered_modules"] == ["pkg.stray"]
    assert m["function_level_without_reason"] == ["pkg/right/d.py:2 -> pkg.low.a"]  # a.py's import says why
    found = house.offences(m)
    assert any("import circle" in o for o in found) and any("module in no layer: pkg.stray" in o for o in found)


def test_layers_are_read_from_the_import_linter_contract():
    layers = house.read_layers(REPO / "pyproject.toml")
    assert layers[0] == ["neft.tools"] and layers[-1] == ["neft.util"]
    assert ["neft.analysis", "neft.jobs"] in layers


def test_this_package_keeps_its_layers():
    """Issue 25: no module imports a higher layer or its independent sibling (analysis | jobs), every module is in
    a layer, and function-level imports of neft outside tools are few and explained."""
    m = house.measure(REPO / "src/neft", house.read_layers(REPO / "pyproject.toml"))
    assert m["upward_imports"] == [] and m["unlayered_modules"] == []
    inside = [f for f in m["function_level_imports"] if not house._in_tools(f)]
    assert len(inside) <= house.FUNCTION_LEVEL_BUDGET, inside
    assert [f for f in m["function_level_without_reason"] if not house._in_tools(f)] == []


def test_import_linter_contract_is_kept():
    """The same layers, checked by import-linter (PyPI), whose graph (grimp) includes function-level imports."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is in requirements/lock.txt: lint-imports must be installed beside this Python"
    run = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "1 kept, 0 broken" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]


def test_house_check_passes_on_this_package(capsys):
    """``tools/house.py --check`` as CI runs it: no circle, no upward import, every module in a layer, few and
    explained function-level imports, and no function outside ``tools`` with more than 8 parameters."""
    assert house.main(["--package", str(REPO / "src/neft"), "--check"]) == 0, capsys.readouterr().err
