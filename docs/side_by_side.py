"""Regenerates the diffs in docs/architecture.md "Side by side" from the code in the tree.

    python docs/side_by_side.py           rewrite the diff blocks in place
    python docs/side_by_side.py --check   exit 1 if a block is stale (the workshop tests run this)

Each block follows a `<!-- side-by-side: A B -->` marker: the unified diff of file A against
file B as `diff -u` prints it, without the two file-name lines. `path:name` instead of a path
takes only the function (or Class.method) called name from that file.
"""

import ast
import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
MARKER = re.compile(r"<!-- side-by-side: (\S+) (\S+) -->\n```diff\n.*?```\n", re.S)


def extract(spec: str) -> list[str]:
    """The lines of `path`, or of the function (or Class.method) called name in `path:name`."""
    path, _, name = spec.partition(":")
    lines = (ROOT / path).read_text().splitlines(keepends=True)
    if not name:
        return lines
    body = ast.parse("".join(lines)).body
    *owners, function = name.split(".")
    for owner in owners:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == owner).body
    node = next(n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and n.name == function)
    return lines[node.lineno - 1:node.end_lineno]


def unified(a: str, b: str) -> str:
    """diff -u of A against B, file-name lines dropped."""
    diff = list(difflib.unified_diff(extract(a), extract(b)))[2:]
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def render(text: str) -> str:
    """The document with every marked diff block regenerated."""
    def block(match: re.Match) -> str:
        a, b = match.groups()
        head = match.group(0).split("\n", 1)[0]
        return f"{head}\n```diff\n{unified(a, b)}```\n"
    return MARKER.sub(block, text)


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    fresh = render(text)
    if "--check" in argv:
        if fresh != text:
            print(f"{DOC.relative_to(ROOT)} is stale: run python docs/side_by_side.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
