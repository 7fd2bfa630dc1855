"""The README and docs/: the two commands first, a short README, and every link between them resolving."""

import re

from kb.settings import CHECKOUT

README = CHECKOUT / "README.md"
DOCS = CHECKOUT / "docs"
LINK = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]+)?\)")


def anchors(path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add("#" + slug)
    return found


def test_the_readme_starts_with_the_two_commands_and_stays_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[2:6] == [
        "```sh",
        "make run     # install into .venv, ingest the sample corpus on first run, serve http://127.0.0.1:5000/",
        "make test    # install into .venv and run the test suite",
        "```",
    ]
    assert len(lines) < 300


def test_every_docs_page_is_linked_from_the_readme():
    linked = {m.group(1) for m in LINK.finditer(README.read_text(encoding="utf-8"))}
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked


def test_every_link_between_the_readme_and_docs_resolves():
    for page in [README, *DOCS.glob("*.md")]:
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = (page.parent / match.group(1)).resolve()
            assert target.is_file(), f"{page.name} links to a missing {match.group(1)}"
            if match.group(2):
                assert match.group(2) in anchors(target), f"{page.name} links to a missing {match.group(0)}"


def test_the_make_test_command_is_what_ci_runs():
    assert "make test" in (CHECKOUT / ".ci" / "run").read_text(encoding="utf-8")
