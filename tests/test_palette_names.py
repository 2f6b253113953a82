import pytest

from plitka.palette import PALETTE, UnknownColorError, normalize_name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("DKGREEN", "DKGREEN"),
        ("dkgreen", "DKGREEN"),
        ("dark green", "DKGREEN"),
        ("Dark-Green", "DKGREEN"),
        ("тёмно-зелёный", "DKGREEN"),
        ("темно-зеленая", "DKGREEN"),
        ("красные", "RED"),
        ("синяя", "BLUE"),
        ("grey", "GRAY"),
        ("зелёное яблоко", "GRNAPL"),
    ],
)
def test_every_spelling_resolves_to_its_code(name, code):
    assert PALETTE.resolve(name).code == code


def test_unknown_name_suggests_the_closest_colours():
    with pytest.raises(UnknownColorError) as caught:
        PALETTE.resolve("turqoise")
    assert caught.value.suggestions[0] == "TURQSE (turquoise)"
    assert "did you mean TURQSE (turquoise)" in str(caught.value)


def test_names_are_unambiguous():
    owners: dict[str, str] = {}
    for color in PALETTE:
        for name in color.names():
            key = normalize_name(name)
            assert owners.setdefault(key, color.code) == color.code, f"{name!r} names two colours"
