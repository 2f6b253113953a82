from pathlib import Path

import pytest

from plitka.settings import Settings, SettingsError, load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "tuning.md"


def test_defaults_load_without_environment(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"PLITKA_{name.upper()}", raising=False)
    settings = load_settings()
    assert settings.keep_outputs == 16


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("PLITKA_WORK_DIR", str(tmp_path))
    monkeypatch.setenv("PLITKA_IMAGE_QUALITY", "80")
    settings = load_settings()
    assert settings.work_dir == tmp_path
    assert settings.image_quality == 80


@pytest.mark.parametrize(
    ("name", "value"), [("KEEP_OUTPUTS", "0"), ("IMAGE_QUALITY", "high"), ("LOG_LEVEL", "LOUD")]
)
def test_bad_value_stops_start_up_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(f"PLITKA_{name}", value)
    with pytest.raises(SettingsError, match=f"PLITKA_{name}"):
        load_settings()


def test_every_setting_is_documented_in_the_table():
    table = DOCS.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`PLITKA_{name.upper()}`" in table, f"PLITKA_{name.upper()} missing from {DOCS}"
