"""The import rules of issue 16 hold: the import-linter contracts in pyproject.toml.

.ci/run runs ``lint-imports`` too; this test makes plain ``pytest`` check them
wherever import-linter is installed (the ``test`` extra installs it).
"""

from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli")

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_linter_contracts_are_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    status = importlinter_cli.lint_imports(no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "0 broken" in out
