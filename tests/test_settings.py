import tempfile
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


def documented_defaults() -> dict[str, str]:
    """{'MAX_CONCURRENCY': '1', ...} from the first two cells of the table's rows."""
    defaults = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:3]] if line.startswith("| `PLITKA_") else []
        if cells:
            defaults[cells[0].strip("`").removeprefix("PLITKA_")] = cells[1]
    return defaults


def code_default_as_documented(value: object) -> str:
    if value is None or value == "":
        return "unset"
    if isinstance(value, Path) and value.is_relative_to(tempfile.gettempdir()):
        return f"`<system temp>/{value.relative_to(tempfile.gettempdir())}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_the_table_gives_each_setting_its_real_default(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"PLITKA_{name.upper()}", raising=False)
    documented = documented_defaults()
    mismatched = {
        name: (documented[name.upper()], code_default_as_documented(field.default))
        for name, field in Settings.model_fields.items()
        if documented[name.upper()] != code_default_as_documented(field.default)
    }
    assert not mismatched, f"(documented, real) defaults differ in {DOCS}: {mismatched}"
