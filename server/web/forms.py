"""The admin forms: the settings form as a view of a location's config (:func:`form_of` fills the form from a
config and :func:`config_from_form` reads it back, so that posting the form unchanged gives back an equal config),
and the alert rule form (:func:`rule_from_form`).

Raises :class:`server.InvalidInput` naming the field that cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from server import InvalidInput
from shared.protocol import INT32_MAX, MAX_EXTRA_QUESTIONS, FollowUp, LocationConfig, Question

Model = TypeVar("Model", bound=BaseModel)
QUESTION_SLOTS = tuple(range(1, MAX_EXTRA_QUESTIONS + 1))  # the form's q1 … q3: questions besides the main one

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}:\d{2})-(\d{2}:\d{2})$")


def form_of(config: LocationConfig) -> dict[str, Any]:
    """The settings form's fields filled from a config. A reason shows ``id: label`` when the default language has
    a label for it and ``id`` alone otherwise, so that posting the form unchanged stores exactly the same config
    (:func:`config_from_form`)."""
    followup = config.followup or FollowUp()
    texts = config.texts.get(config.default_language, {})
    form: dict[str, Any] = {
        "default_language": config.default_language,
        "languages": " ".join(config.texts),
        "thank_you_seconds": config.thank_you_seconds,
        "repeat_press_seconds": config.repeat_press_seconds,
        "negative_reasons": _reason_lines(followup.negative_reasons, texts),
        "positive_reasons": _reason_lines(followup.positive_reasons, texts),
        "opening_hours": _hours_text(config.opening_hours),
        "question_mode": config.question_mode,
        "question_timeout_seconds": config.question_timeout_seconds,
        "web_repeat_minutes": config.web_repeat_minutes,
    }
    for language, values in config.texts.items():
        form[f"question.{language}"] = values.get("question", "")
        form[f"thanks.{language}"] = values.get("thanks", "")
    for slot, question in zip(QUESTION_SLOTS, config.questions, strict=False):
        own = question.texts.get(config.default_language, {})
        asked = question.followup or FollowUp()
        form |= {
            f"q{slot}.id": question.id, f"q{slot}.scale": question.scale, f"q{slot}.question": own.get("question", ""),
            f"q{slot}.negative_reasons": _reason_lines(asked.negative_reasons, own),
            f"q{slot}.positive_reasons": _reason_lines(asked.positive_reasons, own),
        }  # fmt: skip
    return form


def _reason_lines(reasons: list[str], texts: Mapping[str, str]) -> str:
    """``id: label`` lines (``id`` alone where ``texts`` has no label for it)."""
    return "\n".join(f"{r}: {texts[f'reason.{r}']}" if texts.get(f"reason.{r}") else r for r in reasons)


def _hours_text(hours: Mapping[Any, list[tuple[str, str]]] | None) -> str:
    if hours is None:
        return ""
    return "\n".join(f"{day} " + ", ".join(f"{a}-{b}" for a, b in hours[day]) for day in WEEKDAYS if day in hours)


def config_from_form(current: LocationConfig, form: dict[str, str]) -> LocationConfig:
    """A new config from the settings form; what the form does not show (other texts, PIN, timeouts) is kept.

    The form is a view of the config: posting it unchanged gives back a config equal to ``current``. A text left
    empty is not set (the kiosk falls back to the default language); a reason line ``id: label`` sets the label in
    the default language and a bare ``id`` keeps no label there (labels in other languages stay, and so do the
    labels of reasons taken off the lists, which their history on the dashboard still shows).
    Raises InvalidInput naming the field that cannot be used.
    """
    languages = form.get("languages", "").split() or list(current.texts)
    default = form.get("default_language", current.default_language).strip()
    if default not in languages:
        languages.insert(0, default)
    negative = _reasons(form.get("negative_reasons", ""), "negative reasons")
    positive = _reasons(form.get("positive_reasons", ""), "positive reasons")
    texts: dict[str, dict[str, str]] = {}
    for language in languages:
        values = dict(current.texts.get(language, {}))
        for key in ("question", "thanks"):
            _set_text(values, key, form.get(f"{key}.{language}", ""))
        texts[language] = values
    for reason_id, label in [*negative, *positive]:
        _set_text(texts[default], f"reason.{reason_id}", label)
    followup = _followup(current.followup, negative, positive)
    values = current.model_dump() | {
        "default_language": default,
        "texts": texts,
        "followup": followup,
        "thank_you_seconds": _number(form.get("thank_you_seconds", ""), "thank-you seconds"),
        "repeat_press_seconds": _number(form.get("repeat_press_seconds", ""), "repeat-press seconds"),
        "opening_hours": _hours(form.get("opening_hours", "")),
        "question_mode": form.get("question_mode", current.question_mode),
        "question_timeout_seconds": _number(
            form.get("question_timeout_seconds", str(current.question_timeout_seconds)), "aspect question seconds"
        ),
        "web_repeat_minutes": _number(
            form.get("web_repeat_minutes", str(current.web_repeat_minutes)), "web repeat minutes"
        ),  # fmt: skip
        "questions": [q.model_dump() for q in _questions(current, form, default)],
    }
    return _validated(LocationConfig, values)


def _followup(
    current: FollowUp | None, negative: list[tuple[str, str]], positive: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """A follow-up with these reason lists (the current timeout kept), None when both are empty."""
    if not (negative or positive):
        return None
    timeout = current.timeout_seconds if current else FollowUp().timeout_seconds
    return {"negative_reasons": [r for r, _ in negative], "positive_reasons": [r for r, _ in positive],
            "timeout_seconds": timeout}  # fmt: skip


def _questions(current: LocationConfig, form: dict[str, str], default: str) -> list[Question]:
    """The questions besides the main one from the form's slots (a slot with no id is none). A question keeps its
    texts in other languages and its follow-up timeout from the current question of the same id; the form sets
    its question text and reason labels in the default language as the main question's fields do.
    Raises InvalidInput naming the slot's field."""
    if not any(f"q{slot}.id" in form for slot in QUESTION_SLOTS):
        return list(current.questions)  # a form without the question fields changes none
    by_id = {q.id: q for q in current.questions}
    out = []
    for slot in QUESTION_SLOTS:
        question_id = form.get(f"q{slot}.id", "").strip()
        if not question_id:
            continue
        before = by_id.get(question_id)
        texts = {lang: dict(values) for lang, values in (before.texts if before else {}).items()}
        own = texts.setdefault(default, {})
        _set_text(own, "question", form.get(f"q{slot}.question", ""))
        negative = _reasons(form.get(f"q{slot}.negative_reasons", ""), f"question {slot} negative reasons")
        positive = _reasons(form.get(f"q{slot}.positive_reasons", ""), f"question {slot} positive reasons")
        for reason_id, label in [*negative, *positive]:
            _set_text(own, f"reason.{reason_id}", label)
        if not own:
            del texts[default]
        scale = form.get(f"q{slot}.scale", "5").strip()
        values = {"id": question_id, "scale": int(scale) if scale.isdigit() else scale, "texts": texts,
                  "followup": _followup(before.followup if before else None, negative, positive)}  # fmt: skip
        out.append(_validated(Question, values, f"question {slot} "))
    return out


def _validated(model: type[Model], values: dict[str, Any], prefix: str = "") -> Model:
    """``values`` validated as ``model``. Raises InvalidInput naming the first field that cannot be used."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{prefix}{where}: {first['msg']}") from exc


def _set_text(values: dict[str, str], key: str, typed: str) -> None:
    """Set text ``key`` to what was typed (surrounding spaces aside); an empty field removes it. A value equal to
    the stored one but for surrounding spaces is kept as stored."""
    typed = typed.strip()
    if not typed:
        values.pop(key, None)
    elif values.get(key, "").strip() != typed:
        values[key] = typed


def _reasons(text: str, what: str) -> list[tuple[str, str]]:
    """``id: label`` (or bare ``id``) lines as (id, label or ""). Raises InvalidInput for a line without an id."""
    out = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        reason_id, _, label = line.partition(":")
        if not reason_id.strip():
            raise InvalidInput(f"{what}: each line is 'id: label', e.g. 'queue: Waiting time'")
        out.append((reason_id.strip(), label.strip()))
    return out


def _hours(text: str) -> dict[str, list[tuple[str, str]]] | None:
    """``mon 08:00-20:00, 21:00-23:00`` lines; empty means always open. Raises InvalidInput for a bad line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    hours: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        day, _, spans = line.partition(" ")
        matches = [_SPAN.match(span.strip()) for span in spans.split(",")]
        if day.lower() not in WEEKDAYS or not all(matches):
            raise InvalidInput(f"opening hours: {line!r} should look like 'mon 08:00-20:00, 21:00-23:00'")
        hours[day.lower()] = [(m.group(1), m.group(2)) for m in matches if m]
    return hours


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidInput(f"{what}: expected a number of seconds, got {text!r}") from exc


def whole_number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise InvalidInput(f"{what}: expected a whole number, got {text!r}") from exc


def rule_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments of :func:`server.alerts.rules.add_rule` (but ``created_by``) from the rule form: its
    ``scope`` (``location:ID`` or ``group:ID``), ``metric``, ``above``/``below`` (empty: none), ``window``,
    ``min_responses`` (empty: the metric's default) and ``notify`` (``email:ADDR`` / ``webhook:ID``, one per line
    or separated by commas). The library checks what the values mean.

    Raises InvalidInput for a scope, number or whole number that cannot be read, naming the option as
    ``smilepost alert add`` does.
    """
    kind, _, key = form.get("scope", "").strip().partition(":")
    if kind not in ("", "location", "group"):
        raise InvalidInput(f"--location/--group: pick a location or a group, got {form.get('scope')!r}")
    scope_id = whole_number(key, f"--{kind}") if kind else None
    if scope_id is not None and not 1 <= scope_id <= INT32_MAX:
        raise InvalidInput(f"--{kind}: {scope_id} does not exist")
    minimum = form.get("min_responses", "").strip()
    return {
        "location_id": scope_id if kind == "location" else None,
        "group_id": scope_id if kind == "group" else None,
        "metric": form.get("metric", "").strip(),
        "above": _optional_number(form.get("above", ""), "--above"),
        "below": _optional_number(form.get("below", ""), "--below"),
        "window": form.get("window", "").strip() or "30m",
        "min_responses": whole_number(minimum, "--min-responses") if minimum else None,
        "notify": [part for part in re.split(r"[\s,;]+", form.get("notify", "")) if part],
    }


def _optional_number(text: str, option: str) -> float | None:
    """A number typed in a form (a decimal comma too); None for an empty field. Raises InvalidInput otherwise."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidInput(f"{option}: expected a number, got {text!r}") from exc
