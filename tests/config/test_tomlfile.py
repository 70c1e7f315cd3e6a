"""The TOML line finder behind every configuration error."""

from __future__ import annotations

from pathlib import Path

from ivr.config.tomlfile import dotted, load_toml

TEXT = '''\
# comment with "quotes" and [brackets]
title = "x"   # trailing
[a.b]
one = 1
"quoted.key" = "v"
list = [
    "first",
    { inner = "second" },  # comment
    """third
spans""",
]
dotted.key = true

[[items]]
name = "p"

[[items]]
name = "q"
'''


def test_lines_of_keys_tables_and_array_elements(tmp_path: Path) -> None:
    file = tmp_path / "x.toml"
    file.write_text(TEXT, encoding="utf-8")
    document = load_toml(file)
    assert document.line_of(("title",)) == 2
    assert document.line_of(("a", "b")) == 3
    assert document.line_of(("a", "b", "quoted.key")) == 5
    assert document.line_of(("a", "b", "list", 0)) == 7
    assert document.line_of(("a", "b", "list", 1, "inner")) == 8
    assert document.line_of(("a", "b", "list", 2)) == 9
    assert document.line_of(("a", "b", "dotted", "key")) == 12
    assert document.line_of(("items", 1, "name")) == 18
    assert document.line_of(("a", "b", "unknown", 3)) == 3  # nearest known ancestor


def test_dotted_paths_read_like_toml() -> None:
    assert dotted(("regions", "cn", "hours", "mon", 0)) == "regions.cn.hours.mon[0]"
