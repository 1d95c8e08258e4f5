"""Packaging: the public API list, and environment.yml in step with pyproject.toml."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import yaml

import conferencing_widgets
from conferencing_widgets.core import errors, model

ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;#]*)")


def test_all_is_sorted_unique_and_every_name_exists() -> None:
    names = conferencing_widgets.__all__
    assert names == sorted(names), "keep __all__ sorted"
    assert len(set(names)) == len(names)
    missing = [n for n in names if not hasattr(conferencing_widgets, n)]
    assert not missing, f"__all__ names that do not exist: {missing}"
    for n in names:
        obj = getattr(conferencing_widgets, n)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__.startswith("conferencing_widgets."), n


def test_every_error_and_model_class_is_exported() -> None:
    exported = set(conferencing_widgets.__all__)
    model_classes = {n for n, obj in vars(model).items() if inspect.isclass(obj) and obj.__module__ == model.__name__}
    assert set(errors.__all__) <= exported
    assert model_classes <= exported, f"add to conferencing_widgets.__all__: {sorted(model_classes - exported)}"


def canonical(name: str) -> str:
    """PEP 503 name normalisation (conda's inotify_simple == PyPI's inotify-simple)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(requirement: str) -> tuple[str, str]:
    """(canonical name, version spec without spaces) of a PEP 508 or conda match spec string."""
    m = _NAME.match(requirement)
    assert m, f"cannot parse {requirement!r}"
    return canonical(m.group(1)), re.sub(r"\s+", "", m.group(3))


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = dict(parse(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])

    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["name"] == "conferencing_widgets"
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [r for d in env["dependencies"] if isinstance(d, dict) for r in d.get("pip", [])]
    parsed = [parse(r) for r in conda + pip]
    have = dict(parsed)
    assert len(have) == len(parsed), "a package is listed twice in environment.yml"

    python = have.pop("python", None)
    assert python == project["requires-python"] == ">=3.11"
    if pip:
        assert have.pop("pip", None) == "", "list pip itself when using a pip: section"
    missing, extra = sorted(set(wanted) - set(have)), sorted(set(have) - set(wanted))
    assert not missing, f"environment.yml lacks {missing} (in pyproject.toml)"
    assert not extra, f"environment.yml has {extra}, which pyproject.toml does not list"
    differ = {n: (wanted[n], have[n]) for n in wanted if wanted[n] != have[n]}
    assert not differ, f"version ranges differ (pyproject, environment.yml): {differ}"
