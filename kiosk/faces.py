"""Pure helpers for the kiosk's screens: which faces to draw, in which colour and with which mouth, which
texts to show in which language, which follow-up reasons to offer, which keys the comment keyboard has.

No Kivy here, so the shapes and texts can be tested without a window. Mood runs from 0 (saddest face)
to 1 (happiest face).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import texts
from shared.protocol import DEFAULT_TEXTS, KioskConfig, score_range
from shared.scores import side

#: English texts for every key in shared.protocol.TEXT_KEYS; a config's texts override them per language.
KIOSK_TEXTS: dict[str, str] = {
    **DEFAULT_TEXTS,
    "followup_question": "What was the main reason?",
    "comment_prompt": "Anything you would like to add?",
    "closed": "We are closed right now.\nSee you soon!",
    "attract": "How did we do?\nTouch the screen to tell us.",
    "skip": "No, thanks",
    "comment_button": "Write a comment",
    "send": "Send",
    "cancel": "Cancel",
    "nps_low": "Not at all likely",
    "nps_high": "Extremely likely",
}

#: Names of languages in themselves, for the language button; unknown codes show in capitals.
LANGUAGE_NAMES = {
    "en": "English", "nb": "Norsk", "nn": "Nynorsk", "no": "Norsk", "sv": "Svenska", "da": "Dansk",
    "fi": "Suomi", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano", "nl": "Nederlands",
    "pt": "Português", "pl": "Polski", "tr": "Türkçe", "is": "Íslenska",
}  # fmt: skip

#: Extra letters on the comment keyboard per language (the base rows are a-z).
EXTRA_LETTERS = {
    "nb": "æøå", "nn": "æøå", "no": "æøå", "da": "æøå", "sv": "åäö", "fi": "åäö", "de": "äöüß",
    "fr": "éèàçù", "es": "ñáéíóú", "it": "àèéìòù", "pt": "ãçáéíóõ", "pl": "ąćęłńóśźż", "is": "áðéíóúýþæö",
    "tr": "çğıöşü", "nl": "éë",
}  # fmt: skip
KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm,.?!")

#: Colour stops from the saddest to the happiest face: red, orange, yellow, light green, green (RGB, 0..1).
COLOUR_STOPS: tuple[tuple[float, float, float], ...] = (
    (0.90, 0.16, 0.16),
    (0.96, 0.55, 0.10),
    (0.98, 0.84, 0.15),
    (0.56, 0.82, 0.25),
    (0.16, 0.66, 0.27),
)

#: Shown until the server's config arrives (a kiosk that was never paired, or never reached the server).
UNPAIRED_CONFIG = KioskConfig(kiosk_id="unpaired", location_id=0, location_name="", timezone="UTC")


@dataclass(frozen=True)
class Mouth:
    """A mouth as a quadratic bezier, in units of the face radius, relative to the face centre."""

    left: tuple[float, float]
    control: tuple[float, float]
    right: tuple[float, float]

    def points(self, cx: float, cy: float, radius: float) -> list[float]:
        """Flat [x0, y0, x1, y1, x2, y2] for kivy.graphics.Line(bezier=...)."""
        return [coord for x, y in (self.left, self.control, self.right) for coord in (cx + x * radius, cy + y * radius)]


def scores_for(scale: int) -> list[int]:
    """Scores shown, saddest first: 1..n for faces, 0..10 for NPS. Raises ValueError for an unknown scale."""
    return list(score_range(scale))


def mood(score: int, scale: int) -> float:
    """Where ``score`` sits on ``scale``: 0.0 saddest .. 1.0 happiest. Raises ValueError if not on it."""
    scores = scores_for(scale)
    if score not in scores:
        raise ValueError(f"score {score} is not on scale {scale}")
    return (score - scores[0]) / (scores[-1] - scores[0])


def face_colour(m: float) -> tuple[float, float, float]:
    """Colour for mood ``m`` (clamped to 0..1), interpolated between the COLOUR_STOPS."""
    m = min(1.0, max(0.0, m))
    position = m * (len(COLOUR_STOPS) - 1)
    index = min(int(position), len(COLOUR_STOPS) - 2)
    frac = position - index
    low, high = COLOUR_STOPS[index], COLOUR_STOPS[index + 1]
    r, g, b = (a + (c - a) * frac for a, c in zip(low, high, strict=True))
    return (r, g, b)


def mouth(m: float) -> Mouth:
    """Mouth for mood ``m``: a deep frown at 0, a straight line at 0.5, a wide smile at 1.

    The corners rise and the middle drops as the mood improves, so neighbouring faces differ in shape,
    not only in colour.
    """
    curve = (min(1.0, max(0.0, m)) - 0.5) * 2  # -1 frown .. +1 smile
    corner_y = -0.38 + 0.08 * curve
    half_width = 0.42 + 0.06 * curve
    return Mouth(
        left=(-half_width, corner_y),
        control=(0.0, corner_y - 0.55 * curve),
        right=(half_width, corner_y),
    )


def text_for(config: KioskConfig, key: str, language: str | None = None) -> str:
    """Text ``key`` in ``language`` (default: the config's), else the default language's, else English, else
    the built-in English text (:data:`KIOSK_TEXTS`); "" for a key nobody knows."""
    for lang in (language or config.default_language, config.default_language, "en"):
        text = config.texts.get(lang, {}).get(key)
        if text:
            return text
    return KIOSK_TEXTS.get(key, "")


def reason_label(config: KioskConfig, reason: str, language: str | None = None) -> str:
    """Label of follow-up reason ``reason`` ("reason.<id>" in the texts), else the id made readable: the rule the
    dashboard shows it by too (:func:`shared.texts.reason_label`)."""
    return texts.reason_label(config, reason, language)


def languages(config: KioskConfig) -> list[str]:
    """Languages the language button cycles through: the default first, then the others in config order."""
    codes = list(config.texts)
    return [config.default_language, *(c for c in codes if c != config.default_language)]


def language_name(code: str) -> str:
    """``code``'s own name ("Deutsch" for de), or the code in capitals."""
    return LANGUAGE_NAMES.get(code.split("-")[0], code.upper())


def followup_reasons(config: KioskConfig, score: int) -> list[str]:
    """Reason ids to offer after ``score``: the negative set after a negative answer, the positive set after a
    positive one, none after a middle answer or without a follow-up question."""
    if config.followup is None:
        return []
    lists = {"negative": config.followup.negative_reasons, "positive": config.followup.positive_reasons}
    return list(lists.get(side(config.scale, score), []))


def key_rows(language: str) -> list[str]:
    """Rows of letter keys for the comment keyboard in ``language`` (a-z plus that language's letters)."""
    extra = EXTRA_LETTERS.get(language.split("-")[0], "")
    return [*KEY_ROWS, extra] if extra else list(KEY_ROWS)
