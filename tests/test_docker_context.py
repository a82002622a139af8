"""The image builds from what .dockerignore lets through: no registry is reachable from CI,
so the build context is rebuilt here with Docker's matching rules and the image's build
steps that need the project (`check`, `collectstatic`) run in it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dockerignore_rules(text: str) -> list[tuple[re.Pattern[str], bool]]:
    """(pattern, excludes) pairs, in order; a later match overrides an earlier one."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        rules.append((re.compile(_regex(pattern)), excludes))
    return rules


def _regex(pattern: str) -> str:
    # Go's filepath.Match (`*` and `?` stop at a slash, [classes], \\ escapes) plus
    # Docker's `**`, which matches any number of directories, none included.
    out, i = "^", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return out + "$"


def is_excluded(path: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    """Docker's rule: a pattern matching the path or any of its parent folders applies."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern, excludes in rules:
        if any(pattern.match(candidate) for candidate in candidates):
            excluded = excludes
    return excluded


def build_context(source: Path, target: Path) -> list[str]:
    """Copy what the .dockerignore lets through from `source` to `target`."""
    rules = dockerignore_rules((source / ".dockerignore").read_text())
    can_prune = all(excludes for _, excludes in rules)  # no "!" exception to look inside for
    copied = []
    for folder, dirnames, filenames in os.walk(source):
        relative = Path(folder).relative_to(source).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        if can_prune:
            dirnames[:] = [d for d in dirnames if not is_excluded(prefix + d, rules)]
        for name in filenames:
            path = prefix + name
            if not is_excluded(path, rules):
                (target / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / path, target / path)
                copied.append(path)
    return copied


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".venv/bin/python", True),
        ("var/db.sqlite3", True),
        (".git/HEAD", True),
        (".env", True),
        ("accounts/__pycache__/models.cpython-311.pyc", True),
        ("conferencing.egg-info/PKG-INFO", True),
        ("tests/conftest.py", True),
        ("support/models.py", False),
        ("static/js/room/signalling.js", False),
        ("templates/base.html", False),
        ("pyproject.toml", False),
        ("manage.py", False),
        ("environment.py", False),
    ],
)
def test_the_dockerignore_keeps_out_local_state_and_lets_the_project_through(path, excluded):
    rules = dockerignore_rules((ROOT / ".dockerignore").read_text())

    assert is_excluded(path, rules) is excluded


def test_the_matcher_follows_dockers_rules():
    rules = dockerignore_rules("*.md\n!README.md\n**/*.log\n/docs/?.txt\nbuild\n")

    assert is_excluded("CHANGES.md", rules)
    assert not is_excluded("README.md", rules)
    assert not is_excluded("docs/CHANGES.md", rules)  # `*` stays in its folder
    assert is_excluded("a/b/c.log", rules) and is_excluded("c.log", rules)
    assert is_excluded("docs/a.txt", rules) and not is_excluded("docs/ab.txt", rules)
    assert is_excluded("build/lib/x.py", rules)  # a folder's files go with it


def test_the_dockerfile_copies_the_whole_context():
    copies = re.findall(r"(?m)^COPY\s+(.+)$", (ROOT / "Dockerfile").read_text())

    assert copies == [". ."]


def test_the_image_build_steps_run_in_the_build_context(tmp_path):
    context = tmp_path / "app"
    copied = build_context(ROOT, context)
    top_level = {path.split("/")[0] for path in copied}
    assert {"manage.py", "pyproject.toml", "templates", "static", "support"} <= top_level
    assert not top_level & {".venv", "var", ".git", "tests", "bench"}

    # -S: no site hooks, so the editable install cannot reach back into the checkout;
    # the project comes from the context only, the dependencies from the venv.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH")
    }
    env |= {
        "PYTHONPATH": os.pathsep.join([str(context), sysconfig.get_paths()["purelib"]]),
        # As in the Dockerfile's collectstatic step.
        "PRODUCTION": "1",
        "SECRET_KEY": "collectstatic-only-not-a-secret",
        "ALLOWED_HOSTS": "localhost",
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-S", *args],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    where = run("-c", "import conferencing, support; print(support.__file__)")
    assert Path(where.strip()).is_relative_to(context)
    run("manage.py", "check")
    run("manage.py", "collectstatic", "--noinput")
    assert (context / "var" / "staticfiles" / "js" / "room" / "signalling.js").is_file()
