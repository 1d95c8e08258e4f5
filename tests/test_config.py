"""Settings: defaults, ``CONFERENCING_*`` environment variables, a TOML file, and clear errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from conferencing_widgets import InvalidInput, Settings, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(env={})
    assert s == Settings()
    assert s.max_message_chars == 20_000 and s.page_size == 50 and s.link_ttl == "7d"
    assert s.store_url == f"sqlite:///{(Path('data') / 'conferencing.db').resolve()}"
    assert s.blob_location == str((Path("data") / "blobs").resolve())
    moved = Settings(data_dir=tmp_path)
    assert moved.store_url == f"sqlite:///{tmp_path.resolve() / 'conferencing.db'}"


def test_environment_variables() -> None:
    env = {
        "CONFERENCING_STORE": "postgresql://db.example/cw",
        "CONFERENCING_MAX_MESSAGE_CHARS": "500",
        "CONFERENCING_DATA_DIR": "~/cw-data",
        "CONFERENCING_SECRET": "abc",
        "UNRELATED": "ignored",
    }
    s = load_settings(env=env)
    assert s.store == s.store_url == "postgresql://db.example/cw"
    assert s.max_message_chars == 500 and isinstance(s.max_message_chars, int)
    assert s.data_dir == Path("~/cw-data").expanduser()
    assert s.secret == "abc"


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFERENCING_PAGE_SIZE", "25")
    assert load_settings().page_size == 25


def test_toml_file_and_precedence(tmp_path: Path) -> None:
    path = write(
        tmp_path / "cw.toml",
        '[conferencing]\nbase_url = "https://service.example.com"\nmax_members = 12\npage_size = 20\n',
    )
    s = load_settings(path, env={"CONFERENCING_PAGE_SIZE": "30"})
    assert s.base_url == "https://service.example.com" and s.max_members == 12
    assert s.page_size == 30  # the environment wins over the file
    # The file may also be named by CONFERENCING_CONFIG, and may hold the settings at top level.
    flat = write(tmp_path / "flat.toml", 'video_provider = "builtin"\n')
    assert load_settings(env={"CONFERENCING_CONFIG": str(flat)}).video_provider == "builtin"


def test_unknown_setting_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path / "cw.toml", '[conferencing]\nmax_mesage_chars = 10\nsecret = "x"\n')
    with pytest.raises(InvalidInput, match=r"Unknown setting\(s\): max_mesage_chars\. See the README"):
        load_settings(path, env={})


def test_bad_values_are_clear_errors(tmp_path: Path) -> None:
    for env in (
        {"CONFERENCING_MAX_MESSAGE_CHARS": "lots"},
        {"CONFERENCING_MAX_MESSAGE_CHARS": "0"},
        {"CONFERENCING_POSTS_PER_MINUTE": "-5"},
    ):
        with pytest.raises(InvalidInput, match="must be a positive whole number"):
            load_settings(env=env)
    with pytest.raises(InvalidInput, match="max_members"):
        load_settings(write(tmp_path / "b.toml", "max_members = true\n"), env={})
    with pytest.raises(InvalidInput, match="Cannot read settings file"):
        load_settings(write(tmp_path / "broken.toml", "this is = = not toml"), env={})
    with pytest.raises(InvalidInput, match="Cannot read settings file"):
        load_settings(tmp_path / "missing.toml", env={})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"CONFERENCING_{f.name.upper()}" not in readme]
    assert not missing, f"README lacks: {missing}"


def test_replace_returns_a_copy() -> None:
    s = Settings()
    t = s.replace(max_message_chars=10)
    assert t.max_message_chars == 10 and s.max_message_chars == 20_000


def test_values_are_parsed_by_the_settings_real_types(tmp_path: Path) -> None:
    path = write(
        tmp_path / "typed.toml",
        'data_dir = "~/cw"\njitsi_app_id = 42\nmax_members = 12.0\npage_size = " 25 "\nsecret = "s3"\n',
    )
    s = load_settings(path, env={})
    assert s.data_dir == Path("~/cw").expanduser() and isinstance(s.data_dir, Path)
    assert s.jitsi_app_id == "42"  # a str setting keeps a TOML number as its text
    assert s.max_members == 12 and isinstance(s.max_members, int)  # a whole TOML float is a whole number
    assert s.page_size == 25 and s.secret == "s3"


def test_values_that_used_to_be_mangled_are_clear_errors(tmp_path: Path) -> None:
    # 12.5 was truncated to 12 and inf raised a bare OverflowError (nan was refused already).
    for value in ("12.5", "inf", "nan"):
        with pytest.raises(InvalidInput, match=r"'max_members' must be a positive whole number"):
            load_settings(write(tmp_path / "f.toml", f"max_members = {value}\n"), env={})
    # A TOML array or table became its Python repr ("['image/*']", a data_dir named "{'x': 1}").
    with pytest.raises(InvalidInput, match=r"'allowed_types' must be a str, got \['image/\*'\]"):
        load_settings(write(tmp_path / "a.toml", 'allowed_types = ["image/*"]\n'), env={})
    with pytest.raises(InvalidInput, match=r"'data_dir' must be a Path"):
        load_settings(write(tmp_path / "t.toml", "[conferencing.data_dir]\nx = 1\n"), env={})
