"""One definition per check: every pre-commit check hook runs its make target, nothing else, and
only checks; `make test` runs each check once."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
REQUIRED_TARGETS = {
    "help", "setup", "run", "test", "check", "lint", "format", "typecheck", "security",
    "test-unit", "test-integration", "openapi", "docs", "docs-serve", "compose-ci",
    "docker-build", "docker-scan", "up", "down", "logs", "clean",
}  # fmt: skip
# hook id -> (make target, a command its recipe must run)
CHECK_HOOKS = {
    "ruff": ("lint", "ruff format --check"),
    "mypy": ("typecheck", "mypy"),
    "bandit": ("security", "bandit"),
    "import-linter": ("imports", "lint-imports"),
    "web-lint": ("web-lint", "run --silent lint"),
    "web-typecheck": ("web-typecheck", "run --silent typecheck"),
    "web-test-unit": ("web-test-unit", "run --silent test"),
}


def make_targets() -> dict[str, str]:
    """Target name -> its recipe text (lines after the rule until the next rule)."""
    targets: dict[str, str] = {}
    current: list[str] = []
    for line in (ROOT / "Makefile").read_text().splitlines():
        rule = re.match(r"^([a-zA-Z0-9_. -]+):(?!=)", line)
        if rule and not line.startswith("\t"):
            current = rule.group(1).split()
            for name in current:
                targets.setdefault(name, "")
        elif line.startswith("\t"):
            for name in current:
                targets[name] += line.strip() + "\n"
    return targets


def hooks() -> dict[str, dict[str, object]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_every_required_target_exists() -> None:
    assert set(make_targets()) >= REQUIRED_TARGETS


def test_hooks_are_local_only() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert {repo["repo"] for repo in config["repos"]} == {"local"}


@pytest.mark.parametrize(("hook_id", "target_and_tool"), CHECK_HOOKS.items())
def test_check_hook_runs_exactly_its_make_target(
    hook_id: str, target_and_tool: tuple[str, str]
) -> None:
    target, tool = target_and_tool
    hook = hooks()[hook_id]
    assert hook["entry"] == f"make {target}"
    assert hook.get("args") is None, "extra args would make the hook differ from the target"
    assert tool in make_targets()[target]


def test_no_hook_runs_a_target_that_changes_files() -> None:
    entries = {str(hook["entry"]) for hook in hooks().values()}
    assert "make format" not in entries
    assert not [entry for entry in entries if "--fix" in entry]


def test_pre_commit_ci_skips_exactly_the_check_hooks() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert set(config["ci"]["skip"]) == set(CHECK_HOOKS)


def test_check_and_test_are_built_from_the_single_checks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^check: lint typecheck security imports\b", makefile, re.M)
    test = re.search(r"^test: ([^#]*)##", makefile, re.M)
    assert test, "no test target"
    assert test.group(1).split() == ["check", "$(TEST_SUITES)"]
    test_ci = re.search(r"^test-ci: ([^#]*)##", makefile, re.M)
    assert test_ci, "no test-ci target"
    assert test_ci.group(1).split() == ["$(TEST_SUITES)"]  # the same suites, no checks
    suites = re.search(r"^TEST_SUITES := (.*)$", makefile, re.M)
    assert suites, "no TEST_SUITES"
    assert suites.group(1).split()[-2:] == ["test-local", "test-cluster-down"]
    assert "check" not in suites.group(1).split()
    assert "pytest" in make_targets()["test-local"]


def test_checks_do_not_sync_the_environment_each_time() -> None:
    """`install` is a stamp on uv.lock; the checks run their tool with uv's sync turned off."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^UV_RUN := .*uv run --frozen --no-sync$", makefile, re.M)
    stamp = re.search(r"^\$\(SYNCED\): \$\(BACKEND\)/uv.lock.*\n((?:\t.*\n)+)", makefile, re.M)
    assert stamp, "no stamp rule on uv.lock"
    assert "uv sync" in stamp.group(1)
    assert "touch $@" in stamp.group(1)
    for target in ("lint", "typecheck", "security", "imports", "test-local"):
        assert "uv sync" not in make_targets()[target], target


def test_hygiene_hooks_come_from_the_locked_pre_commit_hooks_package() -> None:
    wanted = {
        "trailing-whitespace", "end-of-file-fixer", "check-yaml", "check-toml",
        "check-added-large-files", "check-merge-conflict", "detect-private-key",
    }  # fmt: skip
    found = hooks()
    assert wanted <= set(found)
    for hook_id in wanted:
        entry = str(found[hook_id]["entry"])
        assert entry.startswith("backend/.venv/bin/"), entry


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)
