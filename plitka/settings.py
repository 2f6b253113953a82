"""Every setting of the service, in one place: environment variables PLITKA_*, validated at start-up.

docs/tuning.md has the table; tests/test_settings.py keeps it in step with this class.
"""

from __future__ import annotations

import logging
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A PLITKA_* variable holds a value the service cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLITKA_", extra="ignore", frozen=True)

    work_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "plitka",
        description="Folder for the files of each prediction (one sub-folder per prediction).",
    )
    keep_outputs: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="How many predictions' output folders are kept in work_dir before the oldest go.",
    )
    image_quality: int = Field(
        default=95, ge=50, le=100, description="Encoder quality for webp and jpg outputs (png is lossless)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the service's log lines."
    )


def load_settings() -> Settings:
    """Read the environment; a bad value stops start-up with one line per offending variable."""
    try:
        return Settings()
    except ValidationError as error:
        lines = [
            f"PLITKA_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
            for item in error.errors()
        ]
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
