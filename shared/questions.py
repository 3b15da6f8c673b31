"""A location's questions, main first, and which one a device asks next (pure; used by kiosk, web page and server).

The main question lives in the config's top-level fields (``question_id``, ``texts[...]["question"]``, ``followup``)
and the location's scale, which keeps a v1 kiosk's config unchanged; :func:`all_questions` lists it first as a
:class:`~shared.protocol.Question`, followed by ``config.questions``.
"""

from __future__ import annotations

from shared.protocol import LocationConfig, Question, Scale

QUESTION_KEY = "question"


def main_question(config: LocationConfig, scale: Scale) -> Question:
    """The main question as a :class:`Question`: its texts are the config's ``question`` and reason labels."""
    texts = {
        lang: {key: text for key, text in by_key.items() if key == QUESTION_KEY or key.startswith("reason.")}
        for lang, by_key in config.texts.items()
    }
    return Question(id=config.question_id, scale=scale, texts=texts, followup=config.followup)


def all_questions(config: LocationConfig, scale: Scale) -> list[Question]:
    """Every question of the location, main first (only the main one in ``single`` mode)."""
    main = main_question(config, scale)
    return [main] if config.question_mode == "single" else [main, *config.questions]


def question_by_id(config: LocationConfig, scale: Scale, question_id: str) -> Question | None:
    """The location's question with that id (in any mode), or None."""
    return next((q for q in [main_question(config, scale), *config.questions] if q.id == question_id), None)


def rotation_pick(config: LocationConfig, scale: Scale, turn: int) -> Question:
    """In ``rotate`` mode, the question for a device's ``turn``-th customer (0, 1, 2 ...): in turn, main first.
    In other modes always the main question."""
    if config.question_mode != "rotate":
        return main_question(config, scale)
    questions = all_questions(config, scale)
    return questions[turn % len(questions)]


def sequence_after_main(config: LocationConfig) -> list[Question]:
    """In ``sequence`` mode, the aspect questions asked after the main one, in order; else none."""
    return list(config.questions) if config.question_mode == "sequence" else []
