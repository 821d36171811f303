"""Every public function and method of gmmkit has type annotations (issue 16, item 4).

"Public" is every function or method whose name has no leading underscore, plus
``__init__`` and ``__call__`` (a constructor's and a callable's parameters are API),
in a module whose dotted path has no part with a leading underscore; methods count
when their class is public too. Functions nested in functions are not API. The
deprecated forwarding modules (``gmmkit.io`` ...) define nothing but their
``__getattr__``. mypy (``.ci/run``, pyproject's ``[tool.mypy]``) checks that the
annotations are right; this test checks that they are there, with the standard
library only, so it runs wherever the suite runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gmmkit"

#: dunder methods that are API: their parameters are what a user passes
API_DUNDERS = {"__init__", "__call__"}


def public_modules(package=PACKAGE):
    """``(dotted name, path)`` of every module of ``package`` whose path is public."""
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            yield ".".join(parts), path


def is_public(name):
    return not name.startswith("_") or name in API_DUNDERS


def public_functions(tree):
    """``(qualified name, def node)`` of the public functions and methods of ``tree``."""
    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if is_public(node.name):
                    yield prefix + node.name, node
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from walk(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.Try)):  # defs under `if`/`try` at top level
                yield from walk(node.body + node.orelse, prefix)

    yield from walk(tree.body, "")


def missing_annotations(node, method):
    """Names of ``node``'s unannotated parameters, with "return" if the return is."""
    args = node.args
    params = args.posonlyargs + args.args
    if method and params and not _is_staticmethod(node):
        params = params[1:]  # self or cls
    params = params + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    missing = [param.arg for param in params if param.annotation is None]
    if node.returns is None:
        missing.append("return")
    return missing


def _is_staticmethod(node):
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def unannotated(package=PACKAGE):
    """``{"module:function": [missing, ...]}`` over every public module of ``package``."""
    found = {}
    for module, path in public_modules(package):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, node in public_functions(tree):
            missing = missing_annotations(node, method="." in name)
            if missing:
                found[f"{module}:{name}"] = missing
    return found


def test_every_public_function_and_method_is_annotated():
    found = unannotated()
    lines = [f"{name}({', '.join(missing)})" for name, missing in sorted(found.items())]
    assert not found, (
        f"{len(found)} public functions or methods lack annotations (the parameters, or "
        "'return'); annotate them (docs/contributing.md, 'Lint, type-check, test, "
        "benchmark'):\n" + "\n".join(lines)
    )


def test_the_walk_sees_public_functions_and_methods_and_flags_what_is_missing(tmp_path):
    """The check itself: a fake package with one of each case."""
    package = tmp_path / "pkg"
    (package / "_private").mkdir(parents=True)
    (package / "__init__.py").write_text("def top(x): ...\n")
    (package / "_private" / "hidden.py").write_text("def f(x): ...\n")
    (package / "mod.py").write_text(
        "from __future__ import annotations\n"
        "def good(x: int, *args: str, flag: bool = False, **kw: float) -> int: ...\n"
        "def no_return(x: int): ...\n"
        "def _private(x): ...\n"
        "def outer() -> None:\n"
        "    def nested(x): ...\n"
        "class Model:\n"
        "    def __init__(self, n): ...\n"
        "    def fit(self, X: object) -> Model: ...\n"
        "    def predict(self, X) -> object: ...\n"
        "    @classmethod\n"
        "    def make(cls) -> Model: ...\n"
        "    @staticmethod\n"
        "    def helper(a) -> None: ...\n"
        "    def __repr__(self): ...\n"
        "    def _inner(self, x): ...\n"
        "class _Hidden:\n"
        "    def method(self, x): ...\n"
        "if True:\n"
        "    def conditional(*args): ...\n"
    )
    assert unannotated(package) == {
        "pkg:top": ["x", "return"],
        "pkg.mod:no_return": ["return"],
        "pkg.mod:Model.__init__": ["n", "return"],
        "pkg.mod:Model.predict": ["X"],
        "pkg.mod:Model.helper": ["a"],
        "pkg.mod:conditional": ["args", "return"],
    }


@pytest.mark.parametrize("module", ["gmmkit", "gmmkit.cli.helpers", "gmmkit.plugins.hookspecs"])
def test_the_public_api_modules_are_walked(module):
    assert module in dict(public_modules())
