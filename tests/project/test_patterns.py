"""File patterns of `include` and `included_files`: `!` exclusions, warnings naming their
file, and a clear message for every entry that cannot be a usable pattern."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from build_support import HEALTHY, PYPROJECT, error_lines, make_site, run
from support import zip_names

from bundler.errors import Problem
from bundler.project.patterns import FilePattern, IncludeEntry, parse_pattern

HANDLER = "def handler(event, context):\n    return 1\n"
EXAMPLE = 'e.g. "templates/**" or "data/*.json"'


def pattern(text: str) -> FilePattern:
    parsed = parse_pattern(IncludeEntry(text))
    assert isinstance(parsed, FilePattern), parsed
    return parsed


def names(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


def pattern_warnings(stderr: str) -> list[str]:
    """Warnings about patterns (HEALTHY's site also has an unused dependency)."""
    return [
        line for line in stderr.splitlines() if line.startswith("warning: ") and "pattern" in line
    ]


# --- matching --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "matched"),
    [
        ("data/*.json", "data/a.json", True),
        ("data/*.json", "data/sub/a.json", False),
        ("data/*.json", "data/.hidden.json", False),  # wildcards skip hidden names
        ("data/.hidden.json", "data/.hidden.json", True),  # naming one is the way in
        ("templates/**", "templates", True),
        ("templates/**", "templates/a/b/c.html", True),
        ("**/*.html", "a/b/c.html", True),
        ("**/*.html", "c.html", True),
        ("**/*.html", ".venv/lib/c.html", False),  # ** never enters a virtualenv...
        ("**/*.html", "node_modules/x/c.html", False),  # ...or node_modules
        ("**/*.html", "a/__pycache__/c.html", False),
        ("node_modules/x/*.html", "node_modules/x/c.html", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "b.txt", False),
        ("./data//x.txt", "data/x.txt", True),
        ("static/", "static", True),
        ("Data/*.json", "data/a.json", False),  # case-sensitive, as on Lambda
    ],
)
def test_matching(text: str, path: str, matched: bool) -> None:
    assert pattern(text).matches(names(path)) is matched


def test_an_exclusion_removes_a_folder_and_what_is_under_it() -> None:
    drafts = pattern("!templates/drafts")
    assert drafts.excludes
    assert drafts.excludes_path(names("templates/drafts/a/b.html"))
    assert not drafts.excludes_path(names("templates/draft.html"))


def test_a_pathological_pattern_costs_names_times_names() -> None:
    text = "/".join(["**", "a*a*a*a*a*a*a*a*b"] * 40)
    path = names("/".join(["a" * 200] * 40))
    started = time.perf_counter()
    assert not pattern(text).matches(path)
    assert time.perf_counter() - started < 1.0


# --- entries that cannot be patterns: each a usage error naming its file ------------------

ODD_ENTRIES = {
    "empty": ("", f"is empty; remove it, or name files from the site root, {EXAMPLE}"),
    "blank": ("   ", f"is empty; remove it, or name files from the site root, {EXAMPLE}"),
    "only a bang": ("!", f"is empty; remove it, or name files from the site root, {EXAMPLE}"),
    "dot": (".", f"names the whole site; name the files or folders the function reads, {EXAMPLE}"),
    "dot slash": (
        "./",
        f"names the whole site; name the files or folders the function reads, {EXAMPLE}",
    ),
    "excluding the whole site": (
        "!.",
        f"names the whole site; name the files or folders the function reads, {EXAMPLE}",
    ),
    "stars": (
        "**",
        "matches the whole site, its virtualenv, caches and output included; name the files "
        f"or folders the function reads, {EXAMPLE}",
    ),
    "star": (
        "*",
        "matches the whole site, its virtualenv, caches and output included; name the files "
        f"or folders the function reads, {EXAMPLE}",
    ),
    "every file": (
        "./**/*",
        "matches the whole site, its virtualenv, caches and output included; name the files "
        f"or folders the function reads, {EXAMPLE}",
    ),
    "slash": ("/", "is an absolute path; name files relative to the site root, inside it"),
    "absolute": (
        "/etc/passwd",
        "is an absolute path; name files relative to the site root, inside it",
    ),
    "parent": ("..", "leaves the site root ('..'); name files inside the site, from its root"),
    "above": (
        "../secrets/*",
        "leaves the site root ('..'); name files inside the site, from its root",
    ),
    "down and up": (
        "data/../../x",
        "leaves the site root ('..'); name files inside the site, from its root",
    ),
    "backslash": (
        "templates\\*.html",
        "holds a backslash; separate folders with '/', e.g. templates/*.html",
    ),
    "leading space": (" data/*.json", "starts or ends with white space; remove the spaces"),
    "trailing newline": ("data/*.json\n", "starts or ends with white space; remove the spaces"),
    "space after the bang": ("! data", "starts or ends with white space; remove the spaces"),
    "NUL byte": ("data/a\x00b", "contains the control character '\\x00'; remove it"),
    "tab inside": ("data/a\tb", "contains the control character '\\t'; remove it"),
    "long name": ("x" * 256, "is longer than a path can be; name a shorter path"),
    "long path": ("/".join(["abc"] * 1100), "is longer than a path can be; name a shorter path"),
}


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text):,} characters)"


def _toml(text: str) -> str:
    """`text` as a TOML basic string (control characters escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if ord(c) >= 32 else f"\\u{ord(c):04x}" for c in escaped) + '"'


@pytest.mark.parametrize("case", sorted(ODD_ENTRIES))
def test_an_odd_include_entry_is_a_usage_error(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    text, message = ODD_ENTRIES[case]
    site = make_site(
        tmp_path / "site",
        HEALTHY,
        PYPROJECT + f"\n[tool.bundler.functions.good]\ninclude = [{_toml(text)}]\n",
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"error: pyproject.toml: `tool.bundler.functions.good.include` entry {_shown(text)} "
        + message
    ]
    assert not (site / "dist").exists()  # found before any work


def test_an_odd_included_files_entry_names_netlify_toml(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site", HEALTHY, extra={"netlify.toml": '[functions]\nincluded_files = [""]\n'}
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: netlify.toml: `functions.included_files` entry '' is empty; remove it, or "
        f"name files from the site root, {EXAMPLE}"
    ]


def test_every_odd_entry_is_reported_at_once(tmp_path: Path) -> None:
    from bundler.errors import UsageError
    from bundler.project.config import SiteConfig

    (tmp_path / "pyproject.toml").write_text('[tool.bundler]\ninclude = ["", "/x", "certifi"]\n')
    (tmp_path / "netlify.toml").write_text('[functions."api"]\nincluded_files = ["**"]\n')
    with pytest.raises(UsageError) as caught:
        SiteConfig.from_root(tmp_path)
    assert [(p.file, p.message.split(" entry ")[0]) for p in caught.value.problems] == [
        (tmp_path / "pyproject.toml", "`tool.bundler.include`"),
        (tmp_path / "pyproject.toml", "`tool.bundler.include`"),
        (tmp_path / "netlify.toml", '`functions."api".included_files`'),
    ]
    assert all(isinstance(p, Problem) and p.severity == "error" for p in caught.value.problems)


# --- `!` exclusions ------------------------------------------------------------------------

POSTS = {"files/post-1.md": "one\n", "files/post-2.md": "two\n", "files/post-3.md": "three\n"}


@pytest.mark.parametrize(
    "included",
    [
        '["files/*.md", "!files/post-1.md"]',
        '["!files/post-1.md", "files/*.md"]',  # in any order, as Netlify applies them
    ],
)
def test_included_files_exclusions(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, included: str
) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "blog.py": HANDLER},
        extra={**POSTS, "netlify.toml": f'[functions."blog"]\nincluded_files = {included}\n'},
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0, result.output
    assert pattern_warnings(result.stderr) == []
    out = site / "dist" / "functions"
    assert zip_names(out / "blog.zip") == ["blog.py", "files/post-2.md", "files/post-3.md"]
    assert zip_names(out / "good.zip")[0] == "good.py"


def test_include_exclusions_remove_folders_and_function_files(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {
            **HEALTHY,
            "api/api.py": HANDLER,
            "api/schema.json": "{}\n",
            "api/fixtures/big.json": "[]\n",
        },
        PYPROJECT
        + "\n[tool.bundler.functions.api]\n"
        + 'include = ["templates/**", "!templates/drafts", '
        + '"!netlify/functions/api/fixtures"]\n',
        {"templates/page.html": "<p>\n", "templates/drafts/next.html": "<p>\n"},
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0, result.output
    assert zip_names(site / "dist" / "functions" / "api.zip") == [
        "api.py",
        "schema.json",
        "templates/page.html",
    ]


def test_patterns_that_do_nothing_are_warnings_naming_their_file(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "api.py": HANDLER},
        PYPROJECT + '\n[tool.bundler.functions.api]\ninclude = ["nothing/*.json", "!*.md"]\n',
        {
            "VERSION.txt": "1\n",
            "netlify.toml": '[functions."api"]\nincluded_files = ["missing/*.txt", "VERSION"]\n',
        },
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0, result.output
    fix = "fix the pattern or remove it"
    assert pattern_warnings(result.stderr) == [
        f"warning: netlify.toml: included_files pattern 'missing/*.txt' matches no file; {fix}",
        # a netlify.toml entry is always a path, never a distribution name
        f"warning: netlify.toml: included_files pattern 'VERSION' matches no file; {fix}",
        f"warning: pyproject.toml: include pattern 'nothing/*.json' matches no file; {fix}",
        f"warning: pyproject.toml: include pattern '!*.md' leaves out no file; {fix} "
        "(imported modules always ship; `exclude` leaves out distributions)",
    ]


def test_include_still_tells_distributions_from_files(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "api.py": HANDLER},
        PYPROJECT + '\n[tool.bundler.functions.api]\ninclude = ["tinyapp", "VERSION"]\n',
        {"VERSION": "1\n"},
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0, result.output
    assert [n for n in zip_names(site / "dist" / "functions" / "api.zip") if "/" not in n] == [
        "VERSION",
        "api.py",
        "tinydist.py",
    ]
    assert "tinyapp/__init__.py" in zip_names(site / "dist" / "functions" / "api.zip")


def test_globs_never_sweep_virtualenvs_caches_or_hidden_files(
    python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(
        tmp_path / "site",
        {**HEALTHY, "api.py": HANDLER},
        PYPROJECT + '\n[tool.bundler.functions.api]\ninclude = ["**/*.txt", ".well-known/*.txt"]\n',
        {
            "notes/a.txt": "a\n",
            ".venv/lib/site-packages/x.txt": "venv\n",
            "node_modules/pkg/y.txt": "node\n",
            ".git/z.txt": "git\n",
            ".env.txt": "SECRET=1\n",
            "notes/__pycache__/c.txt": "cache\n",
            ".well-known/security.txt": "contact\n",
        },
    )
    result = run(site, monkeypatch, python=python)
    assert result.exit_code == 0, result.output
    assert zip_names(site / "dist" / "functions" / "api.zip") == [
        ".well-known/security.txt",
        "api.py",
        "netlify/functions/other/data.txt",
        "notes/a.txt",
    ]
