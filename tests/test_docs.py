"""The README cannot rot: its command examples parse and run, and its configuration table names
every setting (the way datasette tests its docs)."""

from __future__ import annotations

import re
import shlex

import pytest

from assistant.cli import build_parser, main
from assistant.config import Settings
from tests.helpers import REPO, SAMPLE_DOCS, TEST_VECTOR_CACHE

README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def _command_lines() -> list[str]:
    block = re.search(r"```sh\n(plan-assistant .*?)```", _section("Command line"), re.S)
    assert block, "README: no command block"
    lines: list[str] = []
    for raw in block.group(1).splitlines():
        line = raw.split("#")[0].rstrip()
        if line.startswith("plan-assistant"):
            lines.append(line)
        elif line.strip() and lines:
            lines[-1] += " " + line.strip()  # a continuation of the option list
    return lines


def _subcommand(line: str) -> str:
    words = [w for w in line.split()[1:] if not w.startswith(("-", "[")) and w not in ("DIR",)]
    return words[0]


COMMANDS = _command_lines()


def test_readme_lists_every_subcommand_and_nothing_else():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert COMMANDS, "the README's command block is empty"
    assert {_subcommand(c) for c in COMMANDS} == set(subparsers.choices)


@pytest.mark.parametrize("line", COMMANDS, ids=[c.split("  ")[0][:50] for c in COMMANDS])
def test_readme_command_options_exist(line, capsys):
    sub = _subcommand(line)
    with pytest.raises(SystemExit) as done:
        main([sub, "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line):
        if option != "--data-dir":
            assert option in help_text, f"README says `{option}` for `{sub}`; its --help does not"
    for choice_list in re.findall(r"--[a-z-]+ ((?:[a-z_]+\|)+[a-z_]+)", line):
        for choice in choice_list.split("|"):
            assert choice in help_text, f"README offers {choice!r} in `{line}`; --help does not"


def test_top_level_help_names_the_subcommands(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "ingest" in out and "check" in out and "where" in out


def test_readme_examples_run_on_the_samples(tmp_path, capsys, monkeypatch):
    """The README's everyday commands, run as written on the bundled sample documents."""
    monkeypatch.setenv("PLAN_ASSISTANT_VECTOR_CACHE", str(TEST_VECTOR_CACHE))
    monkeypatch.setenv("PLAN_ASSISTANT_GENERATOR", "extractive")
    data = str(tmp_path / "data")
    examples = [
        f"ingest {SAMPLE_DOCS} --manifest {SAMPLE_DOCS / 'manifest.json'} --quiet",
        "documents",
        "search 計画期間 --k 3",
        "ask 計画期間は？ --json",
        "check --text 計画期間は令和10年度までとする。 --json",
        "where 認知症サポーター",
    ]
    for example in examples:
        assert any(_subcommand("plan-assistant " + example) == _subcommand(c) for c in COMMANDS)
        capsys.readouterr()
        code = main(["--data-dir", data, *shlex.split(example)])
        out, err = capsys.readouterr()
        assert code == 0, (example, err)
        assert out.strip(), example


def _configuration_names() -> str:
    return _section("Configuration")


def test_every_setting_is_in_the_readme_table():
    table = _configuration_names()
    for name, field in Settings.model_fields.items():
        env = (field.validation_alias if isinstance(field.validation_alias, str)
               else f"PLAN_ASSISTANT_{name.upper()}")
        short = "_" + name.upper()
        assert env in table or f"`{short}`" in table or f", `{short}`" in table, \
            f"Settings.{name} ({env}) is missing from the README's configuration table"


def test_readme_defaults_match_the_settings():
    """A default the table states is the default the code uses (the table once gave a stale weight)."""
    table = _configuration_names()
    defaults = Settings.model_construct()
    for name, field in Settings.model_fields.items():
        env = f"PLAN_ASSISTANT_{name.upper()}"
        row = next((r for r in table.splitlines() if f"`{env}`" in r), None)
        if row is None or isinstance(field.default, bool) or not isinstance(field.default, int | float):
            continue
        stated = row.split("|")[2].strip()
        first = stated.split(",")[0].strip()
        assert first == f"{getattr(defaults, name)}" or first == f"`{getattr(defaults, name)}`", (name, stated)
