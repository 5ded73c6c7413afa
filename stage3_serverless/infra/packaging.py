"""`chalice package --merge-template` once per source hash; the result is reused until a source changes."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import chalice

from . import integrations
from .gateway_responses import gateway_responses

PROJECT_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PROJECT_DIR.parent
CORE_DIR = REPO_ROOT / "homesense_core"
# homesense_core.pages serves the contract from beside the package; vendor/ lands at the bundle's root.
CONTRACT_PATH = REPO_ROOT / "contract" / "openapi.yaml"
DEFAULT_BUILD_DIR = PROJECT_DIR / "build"
# The app reads TABLE_STREAM_ARN when chalice imports it; the real ARN only exists after
# deployment, so the merge template replaces this value with Fn::GetAtt Table.StreamArn.
PLACEHOLDER_STREAM_ARN = ("arn:aws:dynamodb:us-east-1:000000000000:table/"
                          "packaging-placeholder/stream/1970-01-01T00:00:00.000")
PACKAGES_KEPT = 3
_PROJECT_FILES = ("app.py", "requirements.txt")
_PROJECT_TREES = ("chalicelib", "resources")
# Files that shape the output besides the app itself.
_TOOL_FILES = (Path(__file__), Path(__file__).with_name("gateway_responses.py"),
               Path(__file__).with_name("integrations.py"))


@dataclass(frozen=True)
class Package:
    """A packaged app: the SAM template chalice wrote and its deployment.zip."""

    directory: Path
    source_hash: str
    reused: bool

    @property
    def template_path(self) -> Path:
        """The packaged SAM template, unmodified."""
        return self.directory / "sam.json"

    @property
    def zip_path(self) -> Path:
        """The Lambda code bundle referenced by every function's CodeUri."""
        return self.directory / "deployment.zip"

    def template(self) -> dict:
        """The packaged template as a dict."""
        return json.loads(self.template_path.read_text())


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def source_files(project_dir: Path = PROJECT_DIR, core_dir: Path = CORE_DIR,
                 contract_path: Path = CONTRACT_PATH) -> dict[str, Path]:
    """Every input of the package, keyed by its path inside the staged Chalice project."""
    files: dict[str, Path] = {}
    for name in _PROJECT_FILES:
        if (project_dir / name).is_file():
            files[name] = project_dir / name
    for tree in _PROJECT_TREES:
        for path in _walk(project_dir / tree):
            files[str(path.relative_to(project_dir))] = path
    for path in sorted((project_dir / ".chalice").glob("*.json")):
        files[f".chalice/{path.name}"] = path
    for path in _walk(core_dir):
        rel = path.relative_to(core_dir)
        if rel.parts[0] != "tests":
            files[f"vendor/homesense_core/{rel}"] = path
    if contract_path.is_file():
        files["vendor/contract/openapi.yaml"] = contract_path
    return files


def source_hash(files: dict[str, Path], stage: str) -> str:
    """A digest of names, contents, the Chalice version, the stage and the packaging code."""
    digest = hashlib.sha256(f"chalice={chalice.__version__};stage={stage};py={sys.version_info[:2]}".encode())
    named = dict(files)
    named.update({f"<tool>/{p.name}": p for p in _TOOL_FILES})
    for name in sorted(named):
        digest.update(name.encode() + b"\0" + named[name].read_bytes() + b"\0")
    return digest.hexdigest()


# The media range of request bodies delivered to the Lambdas as bytes (binary media type).
JSON_BODY_MEDIA_RANGE = "application/*"


def merge_template(project_dir: Path = PROJECT_DIR) -> dict:
    """resources/template.json with the escalation ASL and the gateway responses filled in."""
    template = json.loads((project_dir / "resources" / "template.json").read_text())
    asl = json.loads((project_dir / "resources" / "escalation.asl.json").read_text())
    template["Resources"]["EscalationStateMachine"]["Properties"]["Definition"] = asl
    allow_origin = {"Fn::Sub": ["'${First}'", {"First": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "CorsOrigins"}]}]}}]}
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    body["x-amazon-apigateway-gateway-responses"] = gateway_responses(allow_origin)
    # A text body reaches a Lambda proxy as a string, invalid UTF-8 already replaced by U+FFFD
    # (on AWS as in ministack), so the app could not refuse it with 400 as the other stages do.
    # As a binary media type it arrives base64-encoded, byte for byte. Every body the contract
    # takes is application/json or application/*+json; other types are 415 either way.
    # Responses are unaffected: Chalice encodes only its own binary_types, which stay as they are.
    binary = body.setdefault("x-amazon-apigateway-binary-media-types", [])
    if JSON_BODY_MEDIA_RANGE not in binary:
        binary.append(JSON_BODY_MEDIA_RANGE)
    return template


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two launchers (e.g. the contract suite's normal and low-rate stages) may package at once.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stage_project(files: dict[str, Path], staging: Path) -> None:
    # The staging dir is stable so chalice's dependency cache (.chalice/deployments) survives.
    if staging.exists():
        for child in staging.iterdir():
            if child.name == ".chalice":
                for sub in child.iterdir():
                    if sub.name != "deployments":
                        sub.unlink() if sub.is_file() else shutil.rmtree(sub)
            else:
                child.unlink() if child.is_file() else shutil.rmtree(child)
    for name, path in files.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def _tool(name: str) -> str:
    # Prefer the CLI installed beside this interpreter (the project's virtualenv).
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"the {name} CLI is not installed in this environment")
    return found


def _chalice_command() -> list[str]:
    return [_tool("chalice")]


def cfn_lint_command() -> str:
    """The cfn-lint executable that checks packaged templates."""
    return _tool("cfn-lint")


def cfn_lint(package: Package) -> str | None:
    """cfn-lint the packaged (unmodified) template: its complaints, or None when it passes."""
    result = subprocess.run([cfn_lint_command(), str(package.template_path)], capture_output=True, text=True)
    return None if result.returncode == 0 else f"{result.stdout}{result.stderr}"


def build_package(stage: str = "local", build_dir: Path = DEFAULT_BUILD_DIR,
                  project_dir: Path = PROJECT_DIR, core_dir: Path = CORE_DIR,
                  log: Callable[[str], None] = lambda _msg: None) -> Package:
    """Package the app for `stage`, or reuse the package built from identical sources."""
    files = source_files(project_dir, core_dir)
    if "app.py" not in files:
        raise RuntimeError(f"no app.py in {project_dir}")
    digest = source_hash(files, stage)
    out = build_dir / "packages" / f"{stage}-{digest[:16]}"
    if (out / "sam.json").is_file():
        return Package(out, digest, reused=True)
    with _locked(build_dir / ".package.lock"):
        if (out / "sam.json").is_file():
            return Package(out, digest, reused=True)
        staging = build_dir / "project"
        _stage_project(files, staging)
        merge_path = build_dir / "merge-template.json"
        merge_path.write_text(json.dumps(merge_template(project_dir), indent=2))
        tmp_out = build_dir / "packages" / f".tmp-{out.name}"
        shutil.rmtree(tmp_out, ignore_errors=True)
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
               "TABLE_STREAM_ARN": PLACEHOLDER_STREAM_ARN}
        log(f"packaging: chalice package --stage {stage} --merge-template (sources {digest[:12]})")
        result = subprocess.run(
            [*_chalice_command(), "--project-dir", str(staging), "package", "--stage", stage,
             "--merge-template", str(merge_path), str(tmp_out)],
            env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"chalice package failed:\n{result.stdout}\n{result.stderr}")
        # The Mock and DynamoDB integrations replace two of chalice's Lambda proxy methods.
        sam = tmp_out / "sam.json"
        sam.write_text(json.dumps(integrations.apply(json.loads(sam.read_text())), indent=2))
        os.replace(tmp_out, out)
        _prune(out.parent, keep=out)
    return Package(out, digest, reused=False)


def _prune(packages_dir: Path, keep: Path) -> None:
    olds = sorted((p for p in packages_dir.iterdir() if p != keep and not p.name.startswith(".")),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for old in olds[PACKAGES_KEPT - 1:]:
        shutil.rmtree(old, ignore_errors=True)
