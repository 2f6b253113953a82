from pathlib import Path

import pytest

REFERENCE_TILES = Path(__file__).resolve().parents[1].parent / "shared" / "reference-tiles"


@pytest.fixture(scope="session")
def reference_tiles() -> Path:
    """../shared/reference-tiles (real photos with known proportions); skips where it is absent."""
    if not (REFERENCE_TILES / "labels.csv").is_file():
        pytest.skip(f"reference photos not found: {REFERENCE_TILES} has no labels.csv")
    return REFERENCE_TILES
