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


# ------------------------------------------------------------------ links and paths

FENCE = re.compile(r"^ *```.*?^ *```[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)
#: the Markdown pages of the repository whose relative links must resolve
LINKED_DOCUMENTS = sorted(
    {
        str(p.relative_to(ROOT))
        for pattern in ("*.md", "docs/*.md", "benchmarks/*.md", "plugins/**/*.md",
                        "gmmkit/**/*.md", "datasets/*.md")
        for p in ROOT.glob(pattern)
    }
)


def markdown_text(text):
    """``text`` without fenced code blocks and inline code (where links are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    """Every heading anchor of a Markdown file (repeated headings get -1, -2 ...)."""
    seen = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(document):
    """Every relative link target of a Markdown document (external URLs left out)."""
    text = markdown_text((ROOT / document).read_text())
    targets = LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [t for t in targets if not EXTERNAL.match(t)]


def broken_links(document):
    """The relative links of ``document`` whose file or heading does not exist."""
    source = ROOT / document
    broken = []
    for target in relative_links(document):
        path, _, anchor = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with anchor #{anchor} in {linked.name}")
    return broken


def test_link_checker_finds_missing_files_and_headings(tmp_path):
    """The checker itself: a link to a missing file or heading is reported, code is ignored."""
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## Float32 work, `float64` sums\n")
    page.write_text(
        "# Page\n[ok](other.md) [ok](other.md#float32-work-float64-sums) [ok](#page)\n"
        "[gone](DESIGN.md) [bad anchor](other.md#threads) [web](https://example.com/x.md)\n"
        "`[code](code.md)`\n```md\n[fenced](fenced.md)\n```\n[ref]: performance.md\n"
    )
    assert relative_links(page) == [
        "other.md", "other.md#float32-work-float64-sums", "#page", "DESIGN.md",
        "other.md#threads", "performance.md",
    ]
    assert [b.split(":")[0] for b in broken_links(page)] == [
        "DESIGN.md", "other.md#threads", "performance.md",
    ]


def test_documents_are_found():
    assert {"README.md", "CHANGELOG.md", "docs/index.md", "docs/contributing.md",
            "benchmarks/README.md"} <= set(LINKED_DOCUMENTS)


@pytest.mark.parametrize("document", LINKED_DOCUMENTS)
def test_relative_links_point_to_existing_files_and_headings(document):
    assert broken_links(document) == []


TOP_FOLDERS = "docs|benchmarks|tests|plugins|gmmkit|datasets|\\.ci"
#: a repository path (``docs/engine.md``, ``../shared/DESIGN.md``) or a bare ``NAME.md``
PATH_MENTION = re.compile(
    rf"(?<![\w./-])((?:\.\./)+[\w./-]*\w\.\w+|(?:{TOP_FOLDERS})/[\w./-]*\w\.\w+|[\w-]+\.md)\b"
)
#: files whose comments, docstrings and text name other files of the repository
MENTIONING_FILES = ["pyproject.toml", ".ci/run", "gmmkit/**/*.py", "plugins/**/*.py",
                    "benchmarks/*.py", "docs/figures/*.py", "datasets/*.py"]


def in_repository(path):
    """True if ``path`` exists inside the repository (a file outside it is not shipped)."""
    resolved = path.resolve()
    return resolved.exists() and resolved.is_relative_to(ROOT)


def missing_mentions(path, *, markdown=False):
    """[(line, mention)] of the files ``path`` names that exist neither relative to it,
    to the repository root nor to docs/ (in Markdown, bare ``NAME.md`` names other
    projects' files too, so only paths with a folder count there)."""
    text = path.read_text()
    missing = []
    for match in PATH_MENTION.finditer(text):
        mention = match.group(1)
        if markdown and "/" not in mention:
            continue
        if not any(in_repository(base / mention) for base in (path.parent, ROOT, ROOT / "docs")):
            missing.append((text.count("\n", 0, match.start()) + 1, mention))
    return missing


def test_mention_checker_finds_missing_files(tmp_path):
    source = tmp_path / "module.py"
    source.write_text('"""See DESIGN.md, README.md and docs/engine.md."""\n'
                      "# threads: see docs/performance.md or ../shared/DESIGN.md\n")
    assert missing_mentions(source) == [
        (1, "DESIGN.md"), (2, "docs/performance.md"), (2, "../shared/DESIGN.md"),
    ]
    page = tmp_path / "page.md"
    page.write_text("arch's `LICENSE.md`; `gmmkit/nothing.py`\n")
    assert missing_mentions(page, markdown=True) == [(1, "gmmkit/nothing.py")]


@pytest.mark.parametrize("pattern", MENTIONING_FILES)
def test_files_named_in_code_and_config_exist(pattern):
    """No comment, docstring or setting names a file the repository does not have."""
    missing = {
        str(path.relative_to(ROOT)): found
        for path in ROOT.glob(pattern)
        if (found := missing_mentions(path))
    }
    assert missing == {}


@pytest.mark.parametrize("document", LINKED_DOCUMENTS)
def test_paths_named_in_documents_exist(document):
    assert missing_mentions(ROOT / document, markdown=True) == []
