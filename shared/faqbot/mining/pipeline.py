"""The mining run end to end: transcripts (a folder, or `transcripts/<bot_id>/` in S3) → ranked groups → draft.

Audio dropped under `transcripts/<bot_id>/` starts an Amazon Transcribe job (language identified
among uk-UA, ru-RU, en-US; speaker labels on) whose JSON output lands back under the same prefix,
where the next run reads it like any other transcript.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from faqbot.config import Language
from faqbot.mining.draft import draft_key, draft_xlsx
from faqbot.mining.grouping import DEFAULT_THRESHOLD, QuestionGroup, group_questions
from faqbot.mining.questions import Question, extract_questions
from faqbot.mining.transcripts import (
    Transcript,
    UnreadableTranscript,
    is_audio_file,
    is_transcript_file,
    load_transcripts,
    parse_transcript,
)

TRANSCRIPTS_PREFIX = "transcripts/"
TRANSCRIBE_LANGUAGES = ("uk-UA", "ru-RU", "en-US")
MAX_SPEAKERS = 2  # a phone call: the customer and the manager
READ_WORKERS = 10  # S3 reads in flight while reading a bot's folder (botocore's default connection pool)


@dataclass(frozen=True)
class MiningResult:
    transcripts: int
    questions: list[Question]
    groups: list[QuestionGroup]
    skipped: tuple[str, ...] = ()  # files that are not transcripts we can read


def mine(transcripts: Iterable[Transcript], threshold: float = DEFAULT_THRESHOLD) -> MiningResult:
    """Questions of every call, grouped by meaning, most asked first."""
    calls = list(transcripts)
    questions = [question for transcript in calls for question in extract_questions(transcript)]
    return MiningResult(len(calls), questions, group_questions(questions, threshold=threshold))


def mine_directory(directory: Path, threshold: float = DEFAULT_THRESHOLD) -> MiningResult:
    """`faqbot mine`: every transcript file under `directory`."""
    return mine(load_transcripts(directory), threshold)


def transcripts_prefix(bot_id: str) -> str:
    return f"{TRANSCRIPTS_PREFIX}{bot_id}/"


def bot_of_transcript_key(key: str) -> str | None:
    """`transcripts/<bot_id>/...` → bot_id."""
    match = re.match(rf"^{TRANSCRIPTS_PREFIX}([^/]+)/.+", key)
    return match.group(1) if match else None


def mine_bucket(
    s3: Any, bucket: str, bot_id: str, *, language: Language = Language.RU, today: date | None = None
) -> tuple[str, MiningResult]:
    """Mine every transcript under `transcripts/<bot_id>/` and write the draft; returns its key and the result."""
    transcripts: list[Transcript] = []
    skipped: list[str] = []
    keys = [
        key
        for key in _keys(s3, bucket, transcripts_prefix(bot_id))
        if is_transcript_file(key) and not _is_transcribe_metadata(key)
    ]
    for key, body in zip(keys, _read_objects(s3, bucket, keys), strict=True):
        try:
            transcripts.append(parse_transcript(body, PurePosixPath(key).name))
        except UnreadableTranscript:
            skipped.append(key)
    result = mine(transcripts)
    result = MiningResult(result.transcripts, result.questions, result.groups, tuple(skipped))
    key = draft_key(bot_id, today or date.today())
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=draft_xlsx(result.groups, language),
        ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return key, result


def transcription_job_name(key: str) -> str:
    """A Transcribe job name (letters, digits, `._-`, ≤ 200 chars) unique to the audio file's key."""
    return re.sub(r"[^0-9A-Za-z._-]+", "-", key.removeprefix(TRANSCRIPTS_PREFIX))[:200]


def start_transcription(transcribe: Any, bucket: str, key: str) -> str | None:
    """Start the Transcribe job for an audio file under `transcripts/<bot_id>/`; its output lands beside it.

    Returns the job name, or None when the key is not audio under `transcripts/`.
    """
    bot_id = bot_of_transcript_key(key)
    if bot_id is None or not is_audio_file(key):
        return None
    name = transcription_job_name(key)
    output_key = f"{transcripts_prefix(bot_id)}{PurePosixPath(key).stem}.json"
    transcribe.start_transcription_job(
        TranscriptionJobName=name,
        Media={"MediaFileUri": f"s3://{bucket}/{key}"},
        IdentifyLanguage=True,
        LanguageOptions=list(TRANSCRIBE_LANGUAGES),
        Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": MAX_SPEAKERS},
        OutputBucketName=bucket,
        OutputKey=output_key,
    )
    return name


def _is_transcribe_metadata(key: str) -> bool:
    """Transcribe writes `.write_access_check_file.temp` and similar beside its output."""
    return PurePosixPath(key).name.startswith(".")


def _read_objects(s3: Any, bucket: str, keys: Sequence[str]) -> list[bytes]:
    """The objects' bodies, in order, `READ_WORKERS` requests at a time: reading a folder of a few thousand
    calls one by one would spend the function's whole timeout waiting on S3."""

    def read(key: str) -> bytes:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return list(pool.map(read, keys))


def _keys(s3: Any, bucket: str, prefix: str) -> Sequence[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)
