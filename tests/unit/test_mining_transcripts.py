"""Reading call transcripts (plain text, Amazon Transcribe JSON, SRT, VTT) and finding the customer's questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faqbot.mining.questions import extract_questions, looks_like_question, split_sentences, tidy_question
from faqbot.mining.transcripts import Role, UnreadableTranscript, load_transcripts, parse_transcript

DATA = Path(__file__).parents[1] / "data" / "transcripts"


def _transcribe_items(words: list[tuple[str, str]]) -> list[dict[str, object]]:
    """Transcribe `items`: (speaker, token) pairs, punctuation tokens typed as such."""
    items: list[dict[str, object]] = []
    for index, (speaker, token) in enumerate(words):
        if token in "?.,!":
            items.append({"type": "punctuation", "alternatives": [{"content": token, "confidence": "0.0"}]})
        else:
            start = f"{index:.2f}"
            items.append(
                {
                    "type": "pronunciation",
                    "start_time": start,
                    "end_time": f"{index + 0.5:.2f}",
                    "speaker_label": speaker,
                    "alternatives": [{"content": token, "confidence": "0.99"}],
                }
            )
    return items


def _said(speaker: str, tokens: str) -> list[tuple[str, str]]:
    return [(speaker, token) for token in tokens.split(" ")]


def test_plain_text_with_role_labels_keeps_the_customers_turns() -> None:
    # given
    text = "Менеджер: Салон, добрий день.\nКлієнт: Добрий день. Скільки коштує стрижка\nдля шпіца?\nМенеджер: 900."

    # when
    transcript = parse_transcript(text.encode(), "calls/call007.txt")

    # then
    assert transcript.call == "call007"
    assert [u.role for u in transcript.utterances] == [Role.AGENT, Role.CUSTOMER, Role.AGENT]
    assert transcript.utterances[1].text == "Добрий день. Скільки коштує стрижка для шпіца?"


def test_a_side_labelled_with_a_word_no_list_knows_is_a_speaker_all_the_same() -> None:
    # given: "Приёмщик" beside "Клиент"; and a chat export where both sides go by their names
    receptionist = (
        "Приёмщик: Да, слушаю.\nКлиент: Сколько берёте за замену масла?\n"
        "Приёмщик: Триста пятьдесят. Какая машина?\nКлиент: Шкода."
    )
    names = (
        "Ирина: СТО АвтоМайстер, добрый день, чем могу помочь?\nИгорь: Здравствуйте, вы в субботу работаете?\n"
        "Ирина: Да, до восьми.\nИгорь: А где вы находитесь?\nИрина: Клочковская, 190."
    )
    # and: a word before a colon once, inside a customer's turn, is no speaker
    once = "Менеджер: Слушаю.\nКлиент: Вопрос такой:\nВопрос: сколько стоит?\nМенеджер: 300."

    # when
    questions = [q.text for q in extract_questions(parse_transcript(receptionist, "call.txt"))]
    roles = [(u.speaker, u.role) for u in parse_transcript(names, "chat.txt").utterances]
    turns = parse_transcript(once, "call.txt").utterances

    # then: the agent's "Какая машина?" is not taken for the customer's
    assert questions == ["Сколько берёте за замену масла?"]
    assert roles == [("Ирина", Role.AGENT), ("Игорь", Role.CUSTOMER)] * 2 + [("Ирина", Role.AGENT)]
    assert [u.role for u in turns] == [Role.AGENT, Role.CUSTOMER, Role.AGENT]


def test_each_question_carries_the_agents_reply_when_the_speakers_are_known() -> None:
    # given: two questions in one turn, then a question the call ends on
    text = (
        "Менеджер: Салон, добрий день.\nКлієнт: Де ви знаходитесь? Біля метро?\n"
        "Менеджер: Яворницького, 42.\nКлієнт: А знижки є?\n"
    )

    # when
    questions = extract_questions(parse_transcript(text, "call.txt"))
    unlabelled = extract_questions(parse_transcript("Де ви знаходитесь? Яворницького, 42.", "call.txt"))

    # then
    assert [(q.text, q.reply) for q in questions] == [
        ("Де ви знаходитесь?", "Яворницького, 42."),
        ("Біля метро?", "Яворницького, 42."),
        ("Знижки є?", ""),
    ]
    assert [q.reply for q in unlabelled] == [""]


def test_plain_text_without_labels_infers_who_is_the_customer() -> None:
    # given: one turn per line, the agent greets and offers help, the caller asks
    text = "- Салон Пухнастик, слухаю вас\n- Добрий день скільки коштує стрижка\n- 900 гривень\n- А де ви знаходитесь"

    # when
    transcript = parse_transcript(text, "call.txt")

    # then
    roles = [u.role for u in transcript.utterances]
    assert roles == [Role.AGENT, Role.CUSTOMER, Role.AGENT, Role.CUSTOMER]


def test_transcribe_json_with_speaker_labels_on_items() -> None:
    # given: Amazon Transcribe output, speaker-labelled, the agent (spk_0) opens the call
    words = _said("spk_0", "Салон добрий день , чим можу допомогти ?")
    words += _said("spk_1", "Скільки коштує стрижка ?")
    words += _said("spk_0", "Дев'ятсот гривень .")
    doc = {
        "jobName": "call01",
        "status": "COMPLETED",
        "results": {
            "language_code": "uk-UA",
            "transcripts": [{"transcript": "..."}],
            "items": _transcribe_items(words),
        },
    }

    # when
    transcript = parse_transcript(json.dumps(doc).encode(), "call01.json")

    # then
    assert transcript.language == "uk-UA"
    assert [(u.role, u.text) for u in transcript.utterances] == [
        (Role.AGENT, "Салон добрий день, чим можу допомогти?"),
        (Role.CUSTOMER, "Скільки коштує стрижка?"),
        (Role.AGENT, "Дев'ятсот гривень."),
    ]
    assert [q.text for q in extract_questions(transcript)] == ["Скільки коштує стрижка?"]


def test_transcribe_json_without_speakers_is_one_stretch_of_speech() -> None:
    # given
    doc = {"results": {"transcripts": [{"transcript": "Добрый день подскажите сколько стоит стрижка собаки"}]}}

    # when
    transcript = parse_transcript(json.dumps(doc), "call02.json")

    # then
    assert [u.role for u in transcript.utterances] == [Role.UNKNOWN]
    assert [q.text for q in extract_questions(transcript)] == ["Сколько стоит стрижка собаки?"]


def test_transcribe_json_with_older_speaker_segments() -> None:
    # given: the corpus file in the older `speaker_labels.segments` layout
    transcript = parse_transcript((DATA / "call25.json").read_bytes(), "call25.json")

    # then: the caller's questions, none of the salon's answers
    questions = [q.text for q in extract_questions(transcript)]
    assert questions[0] == "Подскажите цены на груминг для бишон фризе?"
    assert not any("девятьсот" in q.casefold() for q in questions)


def test_srt_subtitles_with_labels_spanning_lines() -> None:
    # given
    srt = (
        "1\n00:00:00,400 --> 00:00:01,720\nМенеджер: Пухнастик, добрий день.\n\n"
        "2\n00:00:02,660 --> 00:00:06,020\nКлієнт: А скільки коштує\nпостригти собачку?\n"
    )

    # when
    transcript = parse_transcript(srt, "call28.srt")

    # then
    assert [(u.role, u.text, u.start) for u in transcript.utterances] == [
        (Role.AGENT, "Пухнастик, добрий день.", 0.4),
        (Role.CUSTOMER, "А скільки коштує постригти собачку?", 2.66),
    ]


def test_vtt_voice_tags_name_the_speakers() -> None:
    # given
    vtt = (
        "WEBVTT\n\n00:00.400 --> 00:02.060\n<v Менеджер>Пухнастик, добрий день.\n\n"
        "00:03.000 --> 00:06.360\n<v Клієнт>Як до вас записатися на грумінг?\n"
    )

    # when
    transcript = parse_transcript(vtt, "call30.vtt")

    # then
    assert [u.role for u in transcript.utterances] == [Role.AGENT, Role.CUSTOMER]
    assert [q.text for q in extract_questions(transcript)] == ["Як до вас записатися на грумінг?"]


def test_a_file_that_is_no_transcript_is_refused_with_the_reason() -> None:
    with pytest.raises(UnreadableTranscript, match="not Amazon Transcribe output"):
        parse_transcript(b'{"hello": 1}', "x.json")


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        ("скажите пожалуйста сколько стоит стрижка", True),  # no "?"
        ("хотела узнать можно ли оплатить картой", True),  # a request form
        ("вы работаете в воскресенье ли", True),  # the particle "ли"
        ("чи можна записатися на завтра", True),
        ("спасибо до свидания.", False),
        ("у меня шпиц померанский.", False),
    ],
)
def test_questions_are_told_without_question_marks(sentence: str, question: bool) -> None:
    assert looks_like_question(sentence) is question


def test_fillers_greetings_and_requests_are_dropped_from_the_phrasing() -> None:
    assert tidy_question("Ну... э-э скажіть будь ласка, скільки коштує грумінг") == "Скільки коштує грумінг?"


def test_in_unpunctuated_speech_a_question_ends_where_the_answer_begins() -> None:
    # given: one run of speech, no speakers, no punctuation (a bakery, a hall for hire)
    ru = "алло здравствуйте сколько дней идёт доставка в киев доставка два три дня хорошо спасибо до свидания"
    uk = "добрий день а парковка біля вас є зрозуміло дякую а скільки коштує оренда зали оренда від двох тисяч"

    # when
    questions = [tidy_question(s) for text in (ru, uk) for s in split_sentences(text) if looks_like_question(s)]

    # then: the answer echoes the question's word ("доставка"), and thanks close an answer
    assert questions == ["Сколько дней идёт доставка в киев?", "Парковка біля вас є?", "Скільки коштує оренда зали?"]


def test_the_corpus_is_read_in_every_format() -> None:
    # when
    transcripts = load_transcripts(DATA)

    # then: 33 calls (txt, json, srt, vtt), every one with its customer's questions found
    assert len(transcripts) == 33
    assert {Path(t.source).suffix for t in transcripts} == {".txt", ".json", ".srt", ".vtt"}
    assert all(extract_questions(t) for t in transcripts)
