"""The docs say what the code does: generated pages are current, and every make target named exists.

- docs/reference/openapi.json must equal the spec the app factory produces (`make openapi`);
- docs/reference/configuration.md must equal what scripts/gen_config_docs.py renders from
  Settings (`make docs-config`);
- every `make <target>` written as code in docs/ or README.md must be a target of the Makefile;
- the vendored mermaid is byte for byte the npm file its SOURCE.txt names (no hook rewrote it).
"""

import hashlib
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from sandpod.api.app import create_app

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
OPENAPI = DOCS / "reference" / "openapi.json"
CONFIGURATION = DOCS / "reference" / "configuration.md"
MERMAID = DOCS / "assets" / "vendor" / "mermaid"
GENERATOR = ROOT / "scripts" / "gen_config_docs.py"
RUNTIMES = DOCS / "reference" / "runtimes.md"
RUNTIME_GENERATOR = ROOT / "scripts" / "gen_runtime_docs.py"


# ---------------------------------------------------------------- generated reference pages


def json_differences(committed: Any, produced: Any, path: str = "") -> Iterator[str]:
    """JSON pointers where two documents differ (a short, readable failure message)."""
    if isinstance(committed, dict) and isinstance(produced, dict):
        for key in sorted(committed.keys() | produced.keys()):
            where = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in produced:
                yield f"{where}: only in the committed file"
            elif key not in committed:
                yield f"{where}: missing from the committed file"
            else:
                yield from json_differences(committed[key], produced[key], where)
    elif isinstance(committed, list) and isinstance(produced, list):
        if len(committed) != len(produced):
            yield f"{path or '/'}: {len(committed)} items committed, {len(produced)} produced"
        for index, (old, new) in enumerate(zip(committed, produced, strict=False)):
            yield from json_differences(old, new, f"{path}/{index}")
    elif committed != produced:
        yield f"{path or '/'}: committed {committed!r:.60}, produced {produced!r:.60}"


def test_committed_openapi_spec_is_what_the_app_produces() -> None:
    produced = json.loads(json.dumps(create_app().openapi()))  # as `sandpod openapi` writes it
    committed = json.loads(OPENAPI.read_text())
    differences = list(json_differences(committed, produced))
    assert not differences, (
        "docs/reference/openapi.json is out of date with the API: run `make openapi`\n  "
        + "\n  ".join(differences[:15])
        + (f"\n  ... and {len(differences) - 15} more" if len(differences) > 15 else "")
    )


def test_json_differences_names_each_changed_place() -> None:
    old = {"paths": {"/a": {"get": {"summary": "A"}}, "/b/{id}": {}}, "tags": [1, 2]}
    new = {"paths": {"/a": {"get": {"summary": "B"}}, "/c": {}}, "tags": [1]}
    assert list(json_differences(old, new)) == [
        "/paths/~1a/get/summary: committed 'A', produced 'B'",
        "/paths/~1b~1{id}: only in the committed file",
        "/paths/~1c: missing from the committed file",
        "/tags: 2 items committed, 1 produced",
    ]
    assert list(json_differences(new, new)) == []


def load_generator(path: Path = GENERATOR) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_what_settings_produce() -> None:
    render: Callable[[], str] = load_generator().render
    assert CONFIGURATION.read_text() == render(), (
        "docs/reference/configuration.md is out of date with sandpod.config.Settings: "
        "run `make docs-config`"
    )


def test_configuration_reference_lists_every_setting_and_its_variable() -> None:
    from sandpod.config import variables

    page = CONFIGURATION.read_text()
    for name in variables():
        assert f"| `{name}` |" in page


def test_generator_check_mode_fails_on_drift_and_passes_when_current(tmp_path: Path) -> None:
    main: Callable[[list[str]], int] = load_generator().main
    page = tmp_path / "configuration.md"
    assert main(["--check", "--output", str(page)]) == 1  # missing
    assert main(["--output", str(page)]) == 0
    assert main(["--check", "--output", str(page)]) == 0
    page.write_text(page.read_text().replace("SANDPOD_PORT", "SANDPOD_PORTS"))
    assert main(["--check", "--output", str(page)]) == 1


def test_runtime_reference_is_what_the_catalogue_produces() -> None:
    render: Callable[[], str] = load_generator(RUNTIME_GENERATOR).render
    assert RUNTIMES.read_text() == render(), (
        "docs/reference/runtimes.md is out of date with the runtime catalogue: "
        "run `make docs-runtimes`"
    )


def test_runtime_reference_check_mode_fails_on_drift(tmp_path: Path) -> None:
    main: Callable[[list[str]], int] = load_generator(RUNTIME_GENERATOR).main
    page = tmp_path / "runtimes.md"
    assert main(["--output", str(page)]) == 0
    assert main(["--check", "--output", str(page)]) == 0
    page.write_text(page.read_text().replace("java:17", "java:16"))
    assert main(["--check", "--output", str(page)]) == 1


# ---------------------------------------------------------------- make targets named in the docs

RULE = re.compile(r"^([A-Za-z0-9_.%/-]+(?:[ \t]+[A-Za-z0-9_.%/-]+)*)[ \t]*:(?!=)")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
OPTIONS_WITH_ARGUMENT = {"-C", "-f", "--file", "--directory", "-I", "-o", "-W"}


def makefile_targets(makefile: Path = ROOT / "Makefile") -> set[str]:
    targets: set[str] = set()
    for line in makefile.read_text().splitlines():
        if line.startswith(("\t", "#")):
            continue
        rule = RULE.match(line)
        if rule:
            targets.update(rule.group(1).split())
    return targets


def code_snippets(markdown: str) -> Iterator[str]:
    """The text of fenced code blocks (line by line) and of inline code spans."""
    fence: str | None = None
    for line in markdown.splitlines():
        opener = FENCE.match(line)
        if fence is None and opener:
            fence = opener.group(2)
            continue
        if fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
            else:
                yield line
            continue
        for span in INLINE_CODE.finditer(line):
            yield span.group(2)


def make_targets_named(snippet: str) -> Iterator[str]:
    """Targets of each make command in a snippet: `A=1 make x y B=2 && make z` gives x, y, z."""
    command = re.split(r"(?:^|\s)#", snippet, maxsplit=1)[0]
    for part in re.split(r"&&|\|\||[;|]", command):
        words = part.split()
        while words and words[0] != "make":
            if "=" not in words[0] and words[0] not in ("sudo", "$"):
                break
            words.pop(0)
        if not words or words[0] != "make":
            continue
        skip = False
        for word in words[1:]:
            if skip:
                skip = False
            elif word in OPTIONS_WITH_ARGUMENT:
                skip = True
            elif not word.startswith("-") and "=" not in word and TARGET.match(word):
                yield word


def named_targets() -> Iterator[tuple[str, str]]:
    pages = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    for page in pages:
        for snippet in code_snippets(page.read_text()):
            for target in make_targets_named(snippet):
                yield str(page.relative_to(ROOT)), target


def test_code_snippets_and_make_commands_are_found_as_written() -> None:
    markdown = (
        "Run `make run` (or `make` alone); make sure prose is ignored.\n"
        "```bash\n"
        "make services-up test-local PYTEST_WORKERS=2  # comment make nope\n"
        "OPENAPI_URL=http://x make openapi && cd backend && make -C .. docs\n"
        "```\n"
        "`sudo make system-deps`, `make <target>`, `uv run make-believe`\n"
    )
    found = [
        target for snippet in code_snippets(markdown) for target in make_targets_named(snippet)
    ]
    assert found == ["run", "services-up", "test-local", "openapi", "docs", "system-deps"]


def test_makefile_targets_are_parsed_from_rules_only() -> None:
    targets = makefile_targets()
    assert {"help", "test", "docs", "docs-serve", "docs-config", "openapi"} <= targets
    assert not {"UV_RUN", "SHELL", "export", "OPENAPI_FILE"} & targets


def test_every_make_target_named_in_the_docs_exists() -> None:
    targets = makefile_targets()
    named = list(named_targets())
    assert named, "no `make <target>` found in the docs: the scanner is broken"
    missing = sorted({f"{page}: make {target}" for page, target in named if target not in targets})
    assert not missing, "the docs name make targets the Makefile does not have:\n  " + "\n  ".join(
        missing
    )


# ---------------------------------------------------------------- vendored assets


def test_vendored_mermaid_is_the_npm_file_its_source_names() -> None:
    source = (MERMAID / "SOURCE.txt").read_text()
    recorded = re.search(r"sha256\s+([0-9a-f]{64})\s+mermaid\.min\.js", source)
    assert recorded, "docs/assets/vendor/mermaid/SOURCE.txt records no sha256 of mermaid.min.js"
    actual = hashlib.sha256((MERMAID / "mermaid.min.js").read_bytes()).hexdigest()
    assert actual == recorded.group(1), (
        "docs/assets/vendor/mermaid/mermaid.min.js differs from the npm file SOURCE.txt names "
        "(a hook that strips whitespace must exclude docs/assets/vendor/)"
    )
    assert "mermaid.min.js" in (ROOT / "mkdocs.yml").read_text()


# ---------------------------------------------------------------- copied code


def test_the_webhooks_page_shows_the_signature_module_as_it_is() -> None:
    """Receivers copy the verification code from the page: it must be the code sandpod runs."""
    module = ROOT / "backend" / "sandpod" / "domain" / "webhook_signatures.py"
    page = (DOCS / "webhooks.md").read_text()
    assert f"```python\n{module.read_text()}```" in page, (
        "docs/webhooks.md must show backend/sandpod/domain/webhook_signatures.py verbatim"
    )
