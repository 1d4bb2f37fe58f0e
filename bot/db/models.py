"""Tables. Answers and per-dimension scores are rows (not JSON) so digests aggregate in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, UTCDateTime

LOCAL_WORKSPACE = "local"  # the workspace of terminal users


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Slack team id (T...), or "local" for people assessing in a terminal.
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Respondent(Base):
    __tablename__ = "respondents"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_respondents_workspace_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Slack user id (U...), or the login name of a terminal user.
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    workspace: Mapped[Workspace] = relationship()


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        # At most one in-progress assessment per person, enforced by the database.
        Index(
            "uq_assessments_one_open",
            "respondent_id",
            unique=True,
            sqlite_where=text("status = 'asking'"),
            postgresql_where=text("status = 'asking'"),
        ),
        Index("ix_assessments_respondent_completed", "respondent_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    bank_version: Mapped[str] = mapped_column(String(64))
    bank_hash: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    overall_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    overall_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_count: Mapped[int] = mapped_column(Integer, default=0)
    # The report as shown at completion; keeps history readable after the bank changes.
    report_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Where the live question message sits in Slack (DM channel and ts), if any.
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)

    respondent: Mapped[Respondent] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="Answer.id"
    )


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id", name="uq_answers_assessment_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    dimension_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)  # NULL = not applicable
    weight: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    assessment: Mapped[Assessment] = relationship(back_populates="answers")


class DimensionScore(Base):
    __tablename__ = "dimension_scores"

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True)
    dimension_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered: Mapped[int] = mapped_column(Integer)


class ProcessedEvent(Base):
    """Events API deliveries already handled; Slack retries reuse the event_id."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
