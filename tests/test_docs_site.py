"""The documentation site (mkdocs.yml, issue 25): every page is in the navigation, the
API reference names importable modules, links that leave docs/ become repository paths.
.ci/run builds the site with `mkdocs build --strict`."""

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # mkdocs_hooks.py sits at the root, as mkdocs loads it
import mkdocs_hooks  # noqa: E402


def nav_pages():
    return re.findall(r"^\s+- [^:\n]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M)


def test_every_page_is_in_the_navigation_once():
    pages = nav_pages()
    on_disk = sorted(str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md"))
    assert sorted(pages) == on_disk
    assert len(pages) == len(set(pages))


def test_the_api_reference_names_importable_modules():
    targets = [
        line.split()[1]
        for page in (ROOT / "docs" / "reference").glob("*.md")
        for line in page.read_text().splitlines()
        if line.startswith("::: ")
    ]
    assert {"gmmkit", "gmmkit.plugins", "gmmkit.plugins.hookspecs", "gmmkit.cli.helpers",
            "gmmkit_image", "gmmkit_speech", "gmmkit_finance", "gmmkit_outliers"} <= set(targets)
    for target in targets:
        assert importlib.util.find_spec(target) is not None, target


def test_links_that_leave_docs_become_repository_paths():
    page = ("See [benchmarks/README.md](../benchmarks/README.md#out-of-core), the\n"
            "[README](../README.md), [engine](engine.md#threads) and [x](https://a.org/../b).")
    assert mkdocs_hooks.on_page_markdown(page) == (
        "See `benchmarks/README.md`, the\nREADME (`README.md` in the repository), "
        "[engine](engine.md#threads) and [x](https://a.org/../b)."
    )
