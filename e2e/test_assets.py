"""What the stages serve and Newman runs is what the repository says: no stale generated files."""
from __future__ import annotations

import json

from e2e.conftest import E2E_DIR, NODE_MODULES
from homesense_core.pages import STATIC_DIR
from postman import generate

VENDORED = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE")


def test_postman_collection_is_generated_from_the_current_contract():
    assert generate.main(["--check"]) == 0, "run: python postman/generate.py"


def test_vendored_swagger_ui_is_the_pinned_package_unchanged(node_tools):
    pinned = json.loads((E2E_DIR / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    installed = json.loads((NODE_MODULES / "swagger-ui-dist" / "package.json").read_text())["version"]
    assert installed == pinned
    assert pinned in (STATIC_DIR / "swagger-ui" / "VERSION").read_text()
    for name in VENDORED:
        vendored = (STATIC_DIR / "swagger-ui" / name).read_bytes()
        assert vendored == (NODE_MODULES / "swagger-ui-dist" / name).read_bytes(), f"re-copy {name}"
