"""Settings: one declaration each, environment overrides, documented on the settings page."""

from pathlib import Path

from kb.settings import CHECKOUT, ENV_NAMES, Settings


def test_every_setting_is_listed_on_the_settings_page():
    page = (CHECKOUT / "docs" / "settings.md").read_text(encoding="utf-8")
    for env in ENV_NAMES.values():
        assert f"`{env}`" in page, env


def test_environment_then_explicit_override(monkeypatch, tmp_path):
    monkeypatch.setenv("SCRKB_HOME", str(tmp_path / "from-env"))
    monkeypatch.setenv("SCRKB_PORT", "5050")
    assert Settings.load().home == tmp_path / "from-env"
    assert Settings.load().port == 5050
    assert Settings.load(home=tmp_path / "explicit").home == tmp_path / "explicit"


def test_default_store_is_inside_the_checkout_and_ignored_by_git(monkeypatch):
    monkeypatch.delenv("SCRKB_HOME", raising=False)
    home = Settings.load().home
    assert home == CHECKOUT / "var" / "kb"
    assert "/var/" in (CHECKOUT / ".gitignore").read_text().splitlines()


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("SCRKB_PORT", "lots")
    try:
        Settings.load()
    except ValueError as exc:
        assert "SCRKB_PORT" in str(exc)
    else:
        raise AssertionError("expected a ValueError")


def test_kb_option_chooses_the_store(tmp_path, child_s_pdf):
    from conftest import run_cli

    run_cli("ingest", str(child_s_pdf), "--kb", str(tmp_path / "chosen"), home=tmp_path / "env-home")
    assert (tmp_path / "chosen" / "catalogue.sqlite3").exists()
    assert not Path(tmp_path / "env-home").exists()
