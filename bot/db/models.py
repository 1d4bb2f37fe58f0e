"""Tables. Answers and per-dimension scores are rows (not JSON) so digests aggregate in SQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, UTCDateTime


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Slack team id (T...), or "local" for people assessing in a terminal.
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when Slack says the app was uninstalled (or its bot token revoked): the scheduler skips
    # the workspace at once, and its data goes at ``purge_after`` unless it reinstalls first.
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The Enterprise Grid organisation (E...) the workspace belongs to, when a request or job from it
    # said so: an org-wide uninstall stops, and a reinstall of the org restores, all of its workspaces.
    # NULL for workspaces outside a grid, and for rows not seen since this column came (0014).
    enterprise_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class Respondent(Base):
    __tablename__ = "respondents"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_respondents_workspace_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # Slack user id (U...), or the login name of a terminal user.
    user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # From Slack's user directory, refreshed by the scheduler.
    tz: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    # The person's own controls over invitations and reminders.
    reminders_paused: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

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
    # The workspace bank it was answered on ("full", "core", "custom"...): NULL for the deployment's
    # default bank (COMPASS_QUESTIONS), and for assessments stored before migration 0017.
    bank_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The question ids of that bank, a JSON list, so that a later bank's new questions can be
    # named; NULL for assessments begun before migration 0006.
    bank_questions: Mapped[str | None] = mapped_column(Text, nullable=True)
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
    # Question.content_hash of the question as it was answered: the answer survives an edit of
    # the bank while the question keeps this hash. NULL for answers given before migration 0006.
    question_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Whether the answer fitted what the team's measured signals supported when it was given
    # (bot/domain/evidence.py); NULL when the question cites no metric or nothing was measured.
    evidence_agreed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

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


class DigestSubscription(Base):
    """A channel that receives the team digest; its members are the team."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", name="uq_digest_subscriptions_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    cadence: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paused_reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # set when Slack refused a post


class ChannelMember(Base):
    """The last known human members of a digest channel, so digests aggregate with one join."""

    __tablename__ = "channel_members"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("digest_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class TeamTarget(Base):
    """A team's target level for one dimension, per channel (so a channel without a digest may have
    targets too), with the team's score when it was set, so that progress can be judged."""

    __tablename__ = "team_targets"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "dimension_id", name="uq_team_targets_dimension"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    dimension_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    due_quarter: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "2027-Q2"; NULL: no date
    # The team mean in this dimension when the target was set; NULL when the team was under the
    # respondent threshold then (no figure may be kept that was never shown).
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TeamSession(Base):
    """A facilitated session in a team channel (bot/domain/team_session.py). ``live_channel`` is the
    channel while the session is live and NULL after it ended: its unique key lets one session at a
    time live in a channel."""

    __tablename__ = "team_sessions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "live_channel", name="uq_team_sessions_live_channel"),
        Index("ix_team_sessions_channel", "workspace_id", "channel_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    live_channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    facilitator: Mapped[str | None] = mapped_column(String(64), nullable=True)  # NULL once forgotten
    dimension_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # NULL: all dimensions
    question_ids: Mapped[str] = mapped_column(Text)  # JSON list, in the order asked
    position: Mapped[int] = mapped_column(Integer, default=0)  # index into question_ids of the live question
    stage: Mapped[str] = mapped_column(String(16))  # team_session.Stage
    members: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the channel's people at the start
    opening_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the live question message
    # The response_url of the vote click that queued the pending refresh: the live message's vote count
    # is refreshed through it (outside chat.update's Tier 3 budget); refresh_claimed_at: a refresh is
    # queued (coalesces votes).
    live_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    live_url_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refresh_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)  # finished, ended, idle
    summary_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)


class SessionVote(Base):
    """One person's private vote on one question of a session, changed in place until the reveal."""

    __tablename__ = "session_votes"

    session_id: Mapped[int] = mapped_column(ForeignKey("team_sessions.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)  # 1-4, or 0 for not applicable
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SessionOutcome(Base):
    """The level a session's team agreed for one question (NULL: not applicable), and its vote spread."""

    __tablename__ = "session_outcomes"

    session_id: Mapped[int] = mapped_column(ForeignKey("team_sessions.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mixed: Mapped[bool] = mapped_column(Boolean, default=False)
    votes: Mapped[int] = mapped_column(Integer)
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SessionAction(Base):
    """Something a team agreed to do in a session, with its owner and due date; open until marked done."""

    __tablename__ = "session_actions"
    __table_args__ = (Index("ix_session_actions_channel", "workspace_id", "channel_id", "done_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[int] = mapped_column(ForeignKey("team_sessions.id", ondelete="CASCADE"))
    question_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)  # NULL: nobody (or forgotten)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What added it (the form's view id): a submission handled twice adds one action.
    source: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Send(Base):
    """One scheduled message. The unique key makes a second scheduler, a retry or a
    restart find the row and stay silent instead of sending again."""

    __tablename__ = "sends"
    __table_args__ = (
        UniqueConstraint("kind", "workspace_id", "target", "period", name="uq_sends_key"),
        Index("ix_sends_workspace_kind_status", "workspace_id", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # digest, prompt, reminder, notice
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(64))  # channel or user id
    period: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # claimed, sent, failed, skipped
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class PendingWork(Base):
    """Slack requests the web process has acknowledged and queued for the worker (bot/queue/worker.py).

    A row lives from the ack until the worker has done the work; a lease that runs out
    (the worker died mid-job) lets another worker take it again.
    """

    __tablename__ = "pending_work"
    # Never reuse an id: a worker that lost its lease must not delete a newer row.
    __table_args__ = (Index("ix_pending_work_owner_id", "owner", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Whose request it is (team:user): one person's requests are done one at a time, oldest first.
    owner: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str] = mapped_column(Text)  # the Slack request body, JSON
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ProcessBeat(Base):
    """Long-running processes that say they are alive: workers every few seconds, the scheduler
    after each tick. /healthz and `compass status` read it; a clean stop deletes the row."""

    __tablename__ = "process_beats"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # role:host:pid:random, one per process start
    role: Mapped[str] = mapped_column(String(16))  # "worker" or "scheduler"
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignalSource(Base):
    """A system that reports delivery signals for one team channel (GitHub, GitLab, MLflow, any CI)."""

    __tablename__ = "signal_sources"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # public: it is in the webhook path
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # HMAC kinds (GitHub, MLflow) keep the secret itself, since a signature is checked against it;
    # token kinds (GitLab, events) keep only the token's SHA-256, prefixed "sha256:".
    secret: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(64), server_default=text("'production'"), default="production")
    training_pattern: Mapped[str] = mapped_column(String(128), server_default=text("'train'"), default="train")
    serving_aliases: Mapped[str] = mapped_column(
        String(128), server_default=text("'production,champion'"), default="production,champion"
    )
    # Workflow or pipeline names (comma-separated, each matched as a case-insensitive substring) whose runs are checks.
    check_patterns: Mapped[str] = mapped_column(String(512), server_default=text("''"), default="")
    # Alertmanager: the alert label that says what an alert concerns (drift, model_quality, service).
    alert_label: Mapped[str] = mapped_column(String(64), server_default=text("'compass_kind'"), default="compass_kind")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignalDelivery(Base):
    """One webhook delivery (or one imported line), kept raw so that it can be processed again."""

    __tablename__ = "signal_deliveries"
    __table_args__ = (UniqueConstraint("source_id", "delivery_id", name="uq_signal_deliveries_delivery"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("signal_sources.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(128))  # X-GitHub-Delivery, a body hash, an event id
    event_name: Mapped[str] = mapped_column(String(64))  # the sender's name for it (push, Deployment Hook, ...)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignalEventRow(Base):
    """A normalised event derived from a delivery (bot/domain/signals.py: SignalEvent)."""

    __tablename__ = "signal_events"
    __table_args__ = (
        UniqueConstraint("source_id", "type", "external_id", name="uq_signal_events_event"),
        # the window's counts read off the index alone (migration 0010; 0007 had source_id, type, at)
        Index("ix_signal_events_source_type_at", "source_id", "type", "at", "counted", "sha", "model"),
        # lead time: the push whose head is a deployed sha, then the changes pushed since (migration 0008)
        Index("ix_signal_events_source_head", "source_id", "head", "pushed_at"),
        Index("ix_signal_events_source_type_pushed_at", "source_id", "type", "pushed_at", "at"),
        # lead time read off the linked changes; the latest deployment of each model (migration 0010)
        Index("ix_signal_events_source_type_deployed_at", "source_id", "type", "deployed_at", "lead_seconds"),
        Index("ix_signal_events_source_type_model_at", "source_id", "type", "model", "at"),
        # checks per name, alerts and reviews per name (migration 0016)
        Index("ix_signal_events_source_type_name_at", "source_id", "type", "name", "at"),
        # alerts per category, registered model versions documented and tracked: read off the index
        Index(
            "ix_signal_events_source_type_at_status",
            "source_id",
            "type",
            "at",
            "category",
            "status",
            "model",
            "version",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("signal_sources.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("signal_deliveries.id", ondelete="SET NULL"), nullable=True
    )
    type: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # False for a deployment to another environment than the source's: stored, not counted.
    counted: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    environment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    head: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # a change: when its push was made; a deployment (derived, bot/db/lead_times.py): when its sha was first pushed
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    root_cause: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Derived, for a change: when the deployment that first shipped it ran, and that minus the
    # commit time (bot/db/lead_times.py keeps them; NULL while no deployment has shipped it).
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lead_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Checks, alerts and reviews (migration 0016; bot/domain/signals.py says which type uses which).
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)


class QuestionBank(Base):
    """The banks a workspace was given, newest last: its current bank is the row with the highest
    ``revision``; a workspace without rows uses the deployment's default bank (revision 0).

    Each change inserts revision n+1 after reading n: the unique constraint lets one of two admins
    who changed the bank at once through, and the other is told who came first.
    """

    __tablename__ = "question_banks"
    __table_args__ = (UniqueConstraint("workspace_id", "revision", name="uq_question_banks_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))  # a pack name, or "custom"
    version: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)  # the bank's JSON document
    content_hash: Mapped[str] = mapped_column(String(64))
    set_by: Mapped[str] = mapped_column(String(64))  # a Slack user id, or "cli:<login>"
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeploymentSecret(Base):
    """Random secrets that belong to the deployment's data rather than to its environment.

    ``export-person-key`` keys the HMAC that turns (workspace, user) into the pseudonymous person key
    of ``compass export``: kept here, the keys stay the same across exports, restarts and restores
    of a backup, and no setting has to be added or kept safe for it.
    """

    __tablename__ = "deployment_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
