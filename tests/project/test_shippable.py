"""The boundary a shipped file must stay inside, and the walks that respect it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bundler.errors import Problem
from bundler.project.shippable import Root, walk_files, within_site


def test_system_files_are_never_inside_a_root_that_does_not_hold_them() -> None:
    everything = Root(Path("/"), "the machine", "")
    assert everything.holds("/etc/passwd")
    assert not everything.holds(os.path.realpath("/proc/self/environ"))
    assert not everything.holds("/sys/kernel/notes")
    assert not everything.holds("/dev/null")
    assert Root(Path("/dev/shm"), "a tmpfs site", "").holds("/dev/shm/site/a.txt")


def test_a_root_is_a_folder_not_a_prefix(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    root = within_site(tmp_path / "site")
    assert root.holds(str(tmp_path / "site" / "a.txt"))
    assert not root.holds(str(tmp_path / "site-backup" / "a.txt"))


def test_a_walk_follows_links_inside_once_and_reports_links_out(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "fn" / "sub").mkdir(parents=True)
    (site / "shared").mkdir()
    (tmp_path / "outside").mkdir()
    for name in ("fn/a.txt", "fn/sub/b.txt", "shared/c.txt", "fn/.hidden", "fn/x.pyc"):
        (site / name).write_text(name)
    (site / "fn" / "linked").symlink_to(site / "shared", target_is_directory=True)
    (site / "fn" / "sub" / "again").symlink_to(site / "shared", target_is_directory=True)
    (site / "shared" / "loop").symlink_to(site / "fn", target_is_directory=True)
    (site / "fn" / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    problems: list[Problem] = []
    found = list(walk_files(site / "fn", within_site(site), problems, "fn"))
    # each real folder once: `sub/again` is `linked` seen already, `loop` is `fn` itself
    assert [p.relative_to(site / "fn").as_posix() for p in found] == [
        "a.txt",
        "linked/c.txt",
        "sub/b.txt",
    ]
    assert problems == [
        Problem(
            f"links to {tmp_path / 'outside'}, a folder outside the site",
            file=site / "fn" / "out",
            function="fn",
            hint="copy it into the site instead of linking to it",
        )
    ]


@pytest.mark.parametrize("target", ["a-fifo", "a-file"])
def test_a_walk_never_treats_a_non_folder_as_one(tmp_path: Path, target: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    if target == "a-fifo":
        os.mkfifo(site / "entry")
    else:
        (site / "entry").write_text("x")
    problems: list[Problem] = []
    assert list(walk_files(site, within_site(site), problems, "fn")) == [site / "entry"]
    assert problems == []


def test_a_file_outside_by_its_own_path_is_not_called_a_link(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "elsewhere").mkdir()
    root = within_site(tmp_path / "site")
    outside = tmp_path / "elsewhere" / "api.py"
    assert root.refusal(outside, str(outside), "api") == Problem(
        "is outside the site", file=outside, function="api", hint="move it inside the site"
    )
