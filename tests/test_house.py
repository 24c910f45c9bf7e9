"""tools/house.py measures a package's structure (issue 25's numbers): checked on a made-up package."""

from __future__ import annotations

import importlib.util

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
