"""What the customer page of a web touchpoint (``/s/<slug>``) shows, worked out on the server: the language from
``Accept-Language``, every text in every language of the location (with the kiosk's fallbacks, down to built-in
English), the questions with their follow-up reasons, and the faces as inline SVG. Pure: no I/O.

The page's script (``server/web/static/touch/touch.js``) receives :func:`page_data` as JSON inside the page and
looks texts up by key, so the fallback rules live here, once, and are tested in Python. A text is the config's
``texts[<language>][<key>]``, else the default language's, else English, else :data:`WEB_TEXTS` (the kiosk's
built-in texts, as :mod:`kiosk.texts` has them, plus the page's own keys, ``web.*`` and ``face.*``, which a
config may set like any other text). A question besides the main one brings its own texts, else its id made
readable; a reason's label is the question's ``reason.<id>``, else the config's, else the id made readable.

Faces reuse the report charts' colours (:func:`server.reports.charts.face_colour`) and shape: a coloured circle,
two eyes and a mouth from frown to smile, so neighbouring faces differ in shape, not only in colour.

Raises nothing of its own.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from server.reports.charts import INK, face_colour
from server.touchpoints import PageConfig
from shared import texts
from shared.protocol import FollowUp, LocationConfig, Question, score_range
from shared.questions import all_questions
from shared.scores import side

#: The page's texts: the kiosk's built-in ones (:data:`shared.texts.BUILT_IN_TEXTS`) and the page's own: its
#: privacy note, offline line, language switch, step and the faces' accessible names.
WEB_TEXTS: dict[str, str] = {
    **texts.BUILT_IN_TEXTS,
    "web.language": "Language",
    "web.step": "Question {n} of {total}",
    "web.chars_left": "{n} characters left",
    "web.pending": "Saved on this device: it will be sent when there is a connection.",
    "web.done": "You can close this page now.",
    "web.privacy": (
        "No sign-in, no cookies. Your answer waits on this device until it reaches {location}, beside a copy of "
        "this page (for offline use) and a random number this page made up, so that one device counts once. "
        "Nothing else is kept or shared."
    ),
    "web.missing": "This feedback page does not exist, or it is no longer in use.",
    "face.very_unhappy": "Very unhappy",
    "face.unhappy": "Unhappy",
    "face.neutral": "Neutral",
    "face.happy": "Happy",
    "face.very_happy": "Very happy",
}

#: The faces' names (text keys ``face.<name>``), saddest first, per face scale.
FACE_NAMES: dict[int, tuple[str, ...]] = {
    3: ("unhappy", "neutral", "happy"),
    4: ("very_unhappy", "unhappy", "happy", "very_happy"),
    5: ("very_unhappy", "unhappy", "neutral", "happy", "very_happy"),
}
NPS_SCALE = 11
# A phone's owner reads and types at their own pace: on a phone (not in kiosk mode) the follow-up waits at least
# this long, and a comment this long after the last key; the timers only end a walk-away.
MIN_PHONE_FOLLOWUP_SECONDS = 30.0
PHONE_COMMENT_SECONDS = 120.0


def location_config(page: PageConfig) -> LocationConfig:
    """The page's config as a :class:`LocationConfig`, for the shared question and text helpers (the fields the
    page does not receive keep their defaults)."""
    return LocationConfig(
        question_id=page.question_id, default_language=page.default_language, texts=page.texts,
        followup=page.followup, comment=page.comment, questions=page.questions, question_mode=page.question_mode,
        question_timeout_seconds=page.question_timeout_seconds, thank_you_seconds=page.thank_you_seconds,
        attract_after_seconds=page.attract_after_seconds,
    )  # fmt: skip


def languages(config: LocationConfig) -> list[str]:
    """The location's languages: the default first, then the others in config order."""
    return [config.default_language, *(code for code in config.texts if code != config.default_language)]


def pick_language(accept_language: str | None, offered: list[str]) -> str:
    """The language of ``offered`` (default first) that ``Accept-Language`` prefers: by quality, an exact match
    ("pt-BR"), else the same primary language ("nb" for "nb-NO", "pt-BR" for "pt"); the first offered when
    nothing matches. A malformed header counts as absent."""
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            wanted.append((-quality, index, tag.strip().lower()))
    by_lower = {code.lower(): code for code in offered}
    for _, _, tag in sorted(wanted):
        primary = tag.split("-")[0]
        found = by_lower.get(tag) or by_lower.get(primary)
        found = found or next((code for code in offered if code.split("-")[0].lower() == primary), None)
        if found:
            return found
    return offered[0]


def text_for(config: LocationConfig, key: str, language: str) -> str:
    """Text ``key`` in ``language``, else the default language's, else English, else :data:`WEB_TEXTS` (the rule
    of :func:`shared.texts.text_for`)."""
    return texts.text_for(config, key, language, WEB_TEXTS)


def question_text(config: LocationConfig, question: Question, language: str) -> str:
    """What ``question`` asks in ``language`` (:func:`shared.texts.question_text`, the page's texts built in)."""
    return texts.question_text(config, question, language, WEB_TEXTS)


def reason_label(config: LocationConfig, question: Question, reason: str, language: str) -> str:
    """Label of follow-up reason ``reason`` of ``question`` (:func:`shared.texts.question_reason_label`)."""
    return texts.question_reason_label(config, question, reason, language)


def reasons_by_side(question: Question) -> dict[str, list[str]]:
    """The reason ids a question offers after a negative and after a positive face (none after a neutral one)."""
    followup = question.followup or FollowUp()
    return {"negative": list(followup.negative_reasons), "positive": list(followup.positive_reasons)}


def sides(scale: int) -> dict[str, str]:
    """The side of every score of ``scale`` (:func:`shared.scores.side`), keyed by the score as text."""
    return {str(score): side(scale, score) for score in score_range(scale)}


def face_name(scale: int, score: int) -> str:
    """The text key naming a face (``face.very_unhappy`` ...), or "" for a 0-10 answer (named by its number)."""
    return "" if scale == NPS_SCALE else f"face.{FACE_NAMES[scale][score - 1]}"


def face_svg(score: int, scale: int) -> Markup:
    """A face as inline SVG, hidden from screen readers (the button around it carries the name): a coloured
    circle, two eyes, a mouth from frown to smile (the reports' face, :func:`server.reports.charts.face`)."""
    position = (score - 1) / (scale - 1)
    bend = 22 * (position - 0.5) * 2
    return Markup(
        '<svg viewBox="0 0 100 100" aria-hidden="true" focusable="false">'
        f'<circle cx="50" cy="50" r="46" fill="{face_colour(score, scale)}" stroke="{INK}" stroke-width="3"/>'
        f'<circle cx="35" cy="38" r="6" fill="{INK}"/><circle cx="65" cy="38" r="6" fill="{INK}"/>'
        f'<path d="M28 {64 - bend / 2:.1f} Q50 {64 + bend:.1f} 72 {64 - bend / 2:.1f}" fill="none" '
        f'stroke="{INK}" stroke-width="6" stroke-linecap="round"/></svg>'
    )


def pad(scale: int, language_texts: dict[str, str]) -> list[dict[str, Any]]:
    """The answer buttons of ``scale``, saddest first: score, text key of the name, the name (faces) and the SVG
    (faces) or the colour of the stripe (0-10)."""
    buttons = []
    for score in score_range(scale):
        key = face_name(scale, score)
        buttons.append({
            "score": score, "key": key, "name": language_texts.get(key, str(score)) if key else str(score),
            "svg": face_svg(score, scale) if scale != NPS_SCALE else None, "colour": face_colour(score, scale),
        })  # fmt: skip
    return buttons


def texts_in(config: LocationConfig, questions: list[Question], language: str, location: str) -> dict[str, str]:
    """Every text the page shows in ``language``: the built-in keys and every key of the config, the questions'
    texts (``q.<id>``) and their reasons' labels (``r.<question id>.<reason>``); ``{location}`` in the privacy
    note is the location's name."""
    keys = {*WEB_TEXTS, *(key for by_key in config.texts.values() for key in by_key)}
    found = {key: text_for(config, key, language) for key in sorted(keys)}
    found["web.privacy"] = found["web.privacy"].replace("{location}", location)
    for question in questions:
        found[f"q.{question.id}"] = question_text(config, question, language)
        for reason in {*reasons_by_side(question)["negative"], *reasons_by_side(question)["positive"]}:
            found[f"r.{question.id}.{reason}"] = reason_label(config, question, reason, language)
    return found


def page_data(page: PageConfig, *, language: str, repeat_press_seconds: float, tap_url: str) -> dict[str, Any]:
    """What the page's script receives (as JSON in the page): the touchpoint, its questions main first (each with
    its scale, the side of each score and the reasons per side), the mode and timings, comments, the languages
    with every text in each, and the language to start in."""
    config = location_config(page)
    questions = all_questions(config, page.scale)
    codes = languages(config)
    return {
        "slug": page.slug,
        "tap_url": tap_url,
        "mode": page.question_mode,
        "questions": [
            {
                "id": q.id,
                "scale": q.scale,
                "sides": sides(q.scale),
                "reasons": reasons_by_side(q),
                "followup_seconds": (q.followup or FollowUp()).timeout_seconds,
            }
            for q in questions
        ],  # fmt: skip
        "question_seconds": page.question_timeout_seconds,
        "thank_you_seconds": page.thank_you_seconds,
        "attract_after_seconds": page.attract_after_seconds,
        "repeat_press_seconds": repeat_press_seconds,
        "phone_followup_seconds": MIN_PHONE_FOLLOWUP_SECONDS,
        "phone_comment_seconds": PHONE_COMMENT_SECONDS,
        "comment": {"enabled": page.comment.enabled, "max_chars": page.comment.max_chars},
        "language": language,
        "languages": [{"code": code, "name": texts.language_name(code)} for code in codes],
        "texts": {code: texts_in(config, questions, code, page.location_name) for code in codes},
    }


def scales_of(page: PageConfig) -> list[int]:
    """The scales the page's questions use, main first, each once (the page needs answer buttons for each)."""
    config = location_config(page)
    return list(dict.fromkeys(q.scale for q in all_questions(config, page.scale)))
