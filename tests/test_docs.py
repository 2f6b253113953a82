"""The docs stay true to the code: the palette table, the API's inputs, links, runnable blocks.
(tools/check_docs.py runs the blocks themselves; that takes minutes and a free port range.)"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_palette_table_equals_colors_json():
    colours = json.loads((ROOT / "plitka/palette/colors.json").read_text(encoding="utf-8"))["colors"]
    rows = {}
    for line in (ROOT / "docs/colors.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 6 and re.fullmatch(r"[A-Z]+", cells[0]):
            rows[cells[0]] = cells
    for colour in colours:
        r, g, b = colour["rgb"]
        names = [colour["code"], colour["name_en"], colour["name_ru"]]
        expected = [*names, f"`#{r:02X}{g:02X}{b:02X}`", f"{r}, {g}, {b}", ", ".join(colour["aliases"])]
        assert rows.pop(colour["code"], None) == expected, colour["code"]
    assert not rows, f"codes in docs/colors.md but not in colors.json: {sorted(rows)}"


def test_api_md_lists_every_input_of_the_committed_schema_with_its_default():
    schema = json.loads((ROOT / ".cog/openapi_schema.json").read_text(encoding="utf-8"))
    inputs = schema["components"]["schemas"]["Input"]["properties"]
    table = (ROOT / "docs/api.md").read_text(encoding="utf-8")
    for name, field in inputs.items():
        row = next((line for line in table.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row, f"docs/api.md has no row for the input {name}"
        default = field.get("default")
        shown = "empty" if default is None else f"`{default}`"
        assert f"| {shown} |" in row, f"{name}: the default {shown} is not in its row: {row}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_point_at_files_that_exist(page):
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
