"""One option layer for both faces: every Action input is a shared option or declared the
Action's own, and the CLI's flags and the Action's inputs default, choose and fail alike."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engram_ci.action import config as action_config
from engram_ci.cli.app import build_parser
from engram_ci.errors import FatalError
from engram_ci.options import OPTIONS, Option, option, provider_or_none
from engram_ci.transcripts.project_names import PROJECT_NAME_RULES

from .conftest import ROOT

ACTION_INPUTS: dict[str, dict[str, object]] = yaml.safe_load(
    (ROOT / "action.yml").read_text(encoding="utf-8")
)["inputs"]
SHARED = {o.action_input: o for o in OPTIONS.values() if o.action_input}


def cli_actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every option of every (sub)command, the global ones included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from cli_actions(sub)
        else:
            yield action


CLI = list(cli_actions(build_parser()))


def test_every_action_input_is_a_shared_option_or_declared_the_actions_own() -> None:
    own = action_config.ACTION_ONLY_INPUTS
    assert not set(SHARED) & set(own), "an input is both shared and the Action's own"
    assert set(ACTION_INPUTS) == set(SHARED) | set(own)
    for name, (_, why) in own.items():
        assert why.strip(), f"say why {name} is the Action's only"


@pytest.mark.parametrize("name", sorted(ACTION_INPUTS))
def test_action_yml_defaults_are_the_adapters(name: str) -> None:
    assert str(ACTION_INPUTS[name]["default"]) == action_config.INPUT_DEFAULTS[name]


@pytest.mark.parametrize("spec", OPTIONS.values(), ids=lambda o: o.name)
def test_the_cli_flag_defaults_and_chooses_as_the_table_says(spec: Option) -> None:
    if spec.cli_flag is None:
        return
    flags = [a for a in CLI if spec.cli_flag in a.option_strings]
    assert flags, f"{spec.cli_flag} is in the table but no command has it"
    for flag in flags:
        assert flag.choices in (None, spec.choices) and bool(flag.choices) == bool(spec.choices)
        if spec.kind == "switch":
            assert flag.default is False
        elif spec.kind == "list":
            assert flag.default == []
        elif flag.default is not argparse.SUPPRESS:  # --memory-dir: resolved when used
            assert flag.default == spec.value(spec.default)


@pytest.mark.parametrize("spec", list(SHARED.values()), ids=lambda o: o.name)
def test_the_action_input_defaults_and_chooses_as_the_cli_flag(spec: Option) -> None:
    if spec.action_default is not None:  # a runner's own default (memory-path's temp folder)
        assert spec.action_default.startswith("${{ runner.temp }}")
        return
    assert action_config.INPUT_DEFAULTS[spec.name] == spec.default
    description = str(ACTION_INPUTS[spec.name]["description"])
    for choice in spec.choices:
        assert f"`{choice}`" in description, f"action.yml's {spec.name} omits {choice}"


def test_the_action_reads_the_shared_defaults_as_the_cli_does(tmp_path: object) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/repo"}
    config = action_config.parse_config(action_config.read_inputs(env), env)
    args = build_parser().parse_args(["ingest", "--samples"])
    assert config.provider == provider_or_none(args.provider) is None
    assert config.budget is args.budget is None
    assert config.force is args.force is False
    assert config.since_seconds is args.since is None
    assert config.jobs is args.jobs is None
    assert config.project_name == args.project_name == "cwd"
    assert option("project-name").choices == PROJECT_NAME_RULES


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("budget", "50"),
        ("provider", "gpt"),
        ("since", "soon"),
        ("jobs", "0"),
        ("project-name", "folder"),
    ],
)
def test_a_refused_value_is_worded_by_each_face(name: str, bad: str) -> None:
    spec = option(name)
    with pytest.raises(FatalError) as refused:
        spec.value(bad)
    assert refused.value.worded("cli").startswith(f"invalid {name} {bad!r}: {spec.cli_flag} wants")
    if spec.action_input:
        assert f"the `{spec.action_input}` input wants" in refused.value.worded("action")
        assert refused.value.title == f"invalid input {spec.action_input}"


@pytest.mark.parametrize(
    ("inputs", "wording"),
    [
        ({"INPUT_PROVIDER": "gpt"}, "the `provider` input wants one of offline, anthropic"),
        ({"INPUT_BUDGET": "lots"}, "the `budget` input wants a number of characters >= 1,000"),
        ({"INPUT_FORCE": "yes"}, "the `force` input wants true or false"),
        ({"INPUT_SKIP-INGEST": "no"}, "the `skip-ingest` input wants true or false"),
        ({"INPUT_SINCE": "soon"}, "the `since` input wants a duration like 30s, 5m, 2h or 1d"),
        ({"INPUT_JOBS": "0"}, "the `jobs` input wants a whole number >= 1"),
        ({"INPUT_JOBS": "abc"}, "the `jobs` input wants a whole number >= 1"),
        ({"INPUT_PROJECT-NAME": "folder"}, "the `project-name` input wants one of cwd, engram"),
    ],
)
def test_the_action_names_the_input(inputs: dict[str, str], wording: str, tmp_path: object) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/repo", **inputs}
    with pytest.raises(FatalError) as refused:
        action_config.parse_config(action_config.read_inputs(env), env)
    assert wording in refused.value.worded("action")
    assert "--" not in refused.value.worded("action")


def test_both_faces_state_the_default_budget() -> None:
    from engram_ci.knowledge.context import DEFAULT_BUDGET

    assert f"default: {DEFAULT_BUDGET}" in option("budget").help
    assert f"default {DEFAULT_BUDGET}" in str(ACTION_INPUTS["budget"]["description"])


@pytest.mark.parametrize(
    ("inputs", "flags"),
    [
        ({"INPUT_SINCE": "2h"}, ["--since", "2h"]),
        ({"INPUT_SINCE": "90"}, ["--since", "90"]),
        ({"INPUT_JOBS": "2"}, ["--jobs", "2"]),
        ({"INPUT_PROJECT-NAME": "engram"}, ["--project-name", "engram"]),
    ],
)
def test_ingest_is_asked_alike_by_the_input_and_the_flag(
    inputs: dict[str, str], flags: list[str], tmp_path: Path
) -> None:
    """The Action's IngestOptions and `engram ingest`'s agree on what the shared options set."""
    from engram_ci.cli.ingest_cmd import options_from

    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/repo", **inputs}
    config = action_config.parse_config(action_config.read_inputs(env), env)
    action = config.ingest_options((tmp_path,), (), ())
    cli = options_from(build_parser().parse_args(["ingest", "--samples", *flags]))
    for name in ("since_seconds", "jobs", "project_name", "force", "provider", "context_budget"):
        assert getattr(action, name) == getattr(cli, name), name
