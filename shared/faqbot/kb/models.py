"""The knowledge-base entry as every part of faqbot sees it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KbEntry(BaseModel):
    """One row of the client's Q&A sheet, after parsing."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    category: str | None = None
    row: int | None = Field(default=None, description="1-based spreadsheet row (header is row 1)")
