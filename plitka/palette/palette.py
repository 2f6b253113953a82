"""Palette lookup. The data lives in colors.json; its sRGB values are written by tools/measure_palette.py."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

DATA_FILE = Path(__file__).with_name("colors.json")

# Russian adjectives change their ending with gender and number ("красная плитка", "красные");
# a name given in the dictionary form also matches these forms.
_RU_ENDINGS = {"ый": ("ая", "ое", "ые"), "ий": ("яя", "ее", "ие"), "ой": ("ая", "ое", "ые")}


def normalize_name(text: str) -> str:
    """Key used to compare colour names: lower case, 'ё' as 'е', letters and digits only."""
    return "".join(ch for ch in text.lower().replace("ё", "е") if ch.isalnum())


def _russian_forms(name: str) -> list[str]:
    forms = [name]
    for ending, others in _RU_ENDINGS.items():
        if name.endswith(ending):
            forms += [name[: -len(ending)] + other for other in others]
    return forms


def _measured_rgb(row: dict) -> tuple[int, int, int]:
    """The row's measured sRGB; a missing or malformed value is an error, not a grey placeholder."""
    rgb = row.get("rgb")
    if not isinstance(rgb, list) or len(rgb) != 3 or not all(_is_channel(value) for value in rgb):
        raise ValueError(f"colour {row['code']}: rgb must be three integers 0-255, got {rgb!r}")
    red, green, blue = rgb
    return red, green, blue


def _is_channel(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255


@dataclass(frozen=True)
class PaletteColor:
    code: str
    name_en: str
    name_ru: str
    aliases: tuple[str, ...]
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)

    def names(self) -> list[str]:
        """Every spelling that resolves to this colour."""
        return [self.code, self.name_en, *_russian_forms(self.name_ru), *self.aliases]


class UnknownColorError(ValueError):
    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown colour {name!r}{hint}")


class Palette:
    def __init__(self, colors: list[PaletteColor]):
        self._by_code = {color.code: color for color in colors}
        self._by_key: dict[str, PaletteColor] = {}
        for color in colors:
            for name in color.names():
                self._by_key.setdefault(normalize_name(name), color)

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> Palette:
        data = json.loads(path.read_text(encoding="utf-8"))
        colors = [
            PaletteColor(
                code=row["code"],
                name_en=row["name_en"],
                name_ru=row["name_ru"],
                aliases=tuple(row["aliases"]),
                rgb=_measured_rgb(row),
            )
            for row in data["colors"]
        ]
        return cls(colors)

    def __iter__(self) -> Iterator[PaletteColor]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __getitem__(self, code: str) -> PaletteColor:
        return self._by_code[code]

    @cached_property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def resolve(self, name: str) -> PaletteColor:
        """Find a colour by code or any of its names; raise UnknownColorError with suggestions."""
        color = self._by_key.get(normalize_name(name))
        if color is None:
            raise UnknownColorError(name, self.suggest(name))
        return color

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Closest palette names, reported as 'code (english name)'."""
        keys = difflib.get_close_matches(normalize_name(name), self._by_key, n=limit * 3, cutoff=0.5)
        codes = list(dict.fromkeys(self._by_key[key].code for key in keys))[:limit]
        return [f"{code} ({self._by_code[code].name_en})" for code in codes]


PALETTE = Palette.load()
