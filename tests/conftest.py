from pathlib import Path

import pytest

from plitka.analysis.evaluate import DEFAULT_REFERENCE


@pytest.fixture(scope="session")
def reference_tiles() -> Path:
    """../shared/reference-tiles (real photos with known proportions); skips where it is absent."""
    if not (DEFAULT_REFERENCE / "labels.csv").is_file():
        pytest.skip(f"reference photos not found: {DEFAULT_REFERENCE} has no labels.csv")
    return DEFAULT_REFERENCE
