"""The SMS segment counter: GSM-7 against UCS-2, single against concatenated segments."""

from __future__ import annotations

import pytest

from bot.intake.sms import Encoding, encoding, fits, segment_count


@pytest.mark.parametrize(
    ("text", "used"),
    [
        ("Reply 1 or 2", Encoding.GSM7),
        ("¿Qué? ¡Ayuda! niño, é, ü, à, ò, ù, ì", Encoding.GSM7),
        ("{[~]} | ^ € \\", Encoding.GSM7),
        ("policía", Encoding.UCS2),
        ("más", Encoding.UCS2),
        ("acción", Encoding.UCS2),
        ("número", Encoding.UCS2),
        ("it’s", Encoding.UCS2),
        ("a — b", Encoding.UCS2),
        ("🙏", Encoding.UCS2),
    ],
)
def test_encoding(text: str, used: Encoding) -> None:
    assert encoding(text) is used


@pytest.mark.parametrize(
    ("length", "segments"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)]
)
def test_gsm7_segments(length: int, segments: int) -> None:
    assert segment_count("a" * length) == segments


@pytest.mark.parametrize(
    ("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_segments(length: int, segments: int) -> None:
    assert segment_count("á" * length) == segments


def test_one_accent_turns_the_whole_message_ucs2() -> None:
    assert segment_count("a" * 100) == 1
    assert segment_count("a" * 99 + "á") == 2


def test_extension_characters_cost_two() -> None:
    assert segment_count("€" * 80) == 1
    assert segment_count("€" * 81) == 2
    # 152 plain characters leave one unit in the first segment: the escape pair moves on.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3


def test_emoji_cost_two_units_and_are_never_split() -> None:
    assert segment_count("🙏" * 35) == 1
    assert segment_count("🙏" * 36) == 2
    assert segment_count("a" + "🙏" * 33 + "🙏" * 34) == 3


def test_fits() -> None:
    assert fits("a" * 306) and not fits("a" * 307)
    assert fits("a" * 307, segments=3)
