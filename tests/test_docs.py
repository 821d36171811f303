"""The Python examples in README.md and docs/ run as written.

A python block followed by a ``text`` block that starts with
``SomeError: message`` must raise exactly that error, so the messages
quoted in docs/errors.md stay true.
"""

import re
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.S | re.M)
ERROR_LINE = re.compile(r"^(\w+(?:Error|Exception)): (.*)$")


def examples(path):
    """(code, expected error name or None, expected message or None) per python block."""
    blocks = [
        (m.group(2), textwrap.dedent(m.group(3))) for m in BLOCK.finditer((ROOT / path).read_text())
    ]
    for i, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        expected = None
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            expected = ERROR_LINE.match(blocks[i + 1][1].strip().splitlines()[0])
        yield code, expected.group(1) if expected else None, expected.group(2) if expected else None


#: the extra each document's examples need; without it the document is skipped
EXTRAS = {
    "docs/distributed.md": ("distributed", ("dask", "distributed")),
    "docs/image.md": ("image", ("skimage", "imageio")),
    "docs/speech.md": ("speech", ("librosa", "soundfile")),
}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_python_examples_run(document, tmp_path, monkeypatch):
    extra, modules = EXTRAS.get(document, ("", ()))
    for module in modules:
        pytest.importorskip(module, reason=f"the {extra} extra: pip install 'gmmkit[{extra}]'")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    found = list(examples(document))
    for code, error_name, message in found:
        compiled = compile(code, f"{document}:python", "exec")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if error_name is None:
                exec(compiled, namespace)  # noqa: S102
                continue
            with pytest.raises(Exception) as raised:  # noqa: PT011
                exec(compiled, namespace)  # noqa: S102
        assert type(raised.value).__name__ == error_name, code
        assert str(raised.value) == message, code


def test_every_document_has_examples_checked():
    assert all(
        list(examples(document))
        for document in ["README.md", "docs/getting-started.md", "docs/errors.md"]
    )


def test_reliability_page_cites_tests_that_exist():
    """Every `test_file.py::test_name` that docs/reliability.md cites is a real test."""
    text = (ROOT / "docs" / "reliability.md").read_text()
    cited = re.findall(r"`(tests/[\w/]*test_\w+\.py)(?:::(\w+))?`", text)
    # a "`::name`" after a cited file names another test of that file
    for row in text.splitlines():
        files = re.findall(r"`(tests/[\w/]*test_\w+\.py)::", row)
        cited += [(files[0], name) for name in re.findall(r"`::(\w+)`", row)] if files else []
    assert len(cited) > 40
    for file, name in cited:
        assert (ROOT / file).is_file(), file
        source = (ROOT / file).read_text()
        assert not name or re.search(rf"^def {name}\(", source, re.M), f"{file}::{name}"


def test_documents_cite_test_files_by_their_path():
    """Every tests/.../test_x.py that the docs, the benchmarks and the plugins name exists."""
    texts = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("benchmarks/*"),
             *ROOT.glob("datasets/*.md"), *ROOT.glob("plugins/*/*.py")]
    cited = {
        (path.relative_to(ROOT), name)
        for path in texts if path.is_file()
        for name in re.findall(r"(?<![\w/])(tests/[\w/]*test_\w+\.py)", path.read_text())
    }
    assert len(cited) > 20
    assert [(str(path), name) for path, name in sorted(cited) if not (ROOT / name).is_file()] == []
