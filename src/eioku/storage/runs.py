"""Run repository: lifecycle transitions and per-stage status (SPEC §4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Row, func, select, update

from eioku.domain.errors import Conflict, InvalidInput, NotFound
from eioku.domain.profiles import ModelProfile
from eioku.domain.runs import (
    Run,
    RunStatus,
    StageState,
    StageStatus,
    check_requeue,
    check_transition,
)
from eioku.storage.clock import utcnow
from eioku.storage.errors import translated
from eioku.storage.tables import run_outputs, run_stages, runs, videos

# A stage that completed or was skipped (no audio track, missing model) on the same input
# with the same settings would do the same again: re-running it is a no-op unless forced.
_DONE = (StageStatus.COMPLETED.value, StageStatus.SKIPPED.value)
_RUN_FIELDS = [column.name for column in runs.columns]
_STAGE_FIELDS = [
    c.name for c in run_stages.columns if c.name not in ("run_id", "position", "claimed_by")
]
_UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
# Stages of an unfinished run that will have (or have) their result without another run.
_COVERED = (
    StageStatus.PENDING,
    StageStatus.RUNNING,
    StageStatus.COMPLETED,
    StageStatus.SKIPPED,
)


class RunRepository:
    """Reads and writes ``runs`` and ``run_stages`` on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(self, run: Run) -> Run:
        """Store a new run with its stages.

        Raises:
            NotFound: the run's video does not exist.
            Conflict: the run_id exists already.
        """
        video = select(videos.c.video_id).where(videos.c.video_id == run.asset_id)
        if self._conn.execute(video).first() is None:
            raise NotFound(f"video {run.asset_id} not found", details={"video_id": run.asset_id})
        taken = select(runs.c.run_id).where(runs.c.run_id == run.run_id)
        if self._conn.execute(taken).first() is not None:
            raise Conflict(f"run {run.run_id} already exists", details={"run_id": run.run_id})
        names = [stage.stage for stage in run.stages]
        if len(set(names)) != len(names):
            raise InvalidInput(f"run {run.run_id} lists a stage twice: {names}")
        with translated(f"create run {run.run_id}"):
            self._conn.execute(runs.insert().values(run.model_dump(exclude={"stages"})))
            if run.stages:
                rows = [
                    {"run_id": run.run_id, "position": index, **stage.model_dump()}
                    for index, stage in enumerate(run.stages)
                ]
                self._conn.execute(run_stages.insert(), rows)
        return run

    def get(self, run_id: str) -> Run:
        """The run with its stages in order, or NotFound."""
        row = self._conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id} not found", details={"run_id": run_id})
        return self._build(row, self._stages([run_id]).get(run_id, ()))

    def lock(self, run_id: str) -> Run:
        """The run, with its row locked until the transaction ends (PostgreSQL).

        Executors of one run's jobs start and finish it under this lock, so exactly one
        of them moves it to running and exactly one gives it its final status. SQLite
        needs no lock: its write transactions already run one at a time.
        """
        query = select(runs.c.run_id).where(runs.c.run_id == run_id).with_for_update()
        if self._conn.execute(query).first() is None:
            raise NotFound(f"run {run_id} not found", details={"run_id": run_id})
        return self.get(run_id)

    def covering(self, asset_id: str, profile: ModelProfile, stages: Sequence[str]) -> Run | None:
        """An unfinished run of the video and profile that will produce every stage named.

        The video's row is locked first, so two submissions for one video are decided one
        after the other and the second finds the first's run (duplicate submits).
        """
        lock = select(videos.c.video_id).where(videos.c.video_id == asset_id).with_for_update()
        self._conn.execute(lock)
        query = (
            select(runs)
            .where(
                runs.c.asset_id == asset_id,
                runs.c.pipeline_profile == profile.value,
                runs.c.status.in_(_UNFINISHED),
            )
            .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        )
        rows = self._conn.execute(query).all()
        found = self._stages([row.run_id for row in rows])
        for row in rows:
            states = {s.stage: s.status for s in found.get(row.run_id, ())}
            if all(states.get(name) in _COVERED for name in stages):
                return self._build(row, found.get(row.run_id, ()))
        return None

    def claim(self, run_id: str, stage: str, token: str | None) -> None:
        """Record which executor holds ``stage`` (None: nobody)."""
        self._conn.execute(
            update(run_stages)
            .where(run_stages.c.run_id == run_id, run_stages.c.stage == stage)
            .values(claimed_by=token)
        )

    def claims(self, run_id: str) -> dict[str, str | None]:
        """Who holds each stage of the run, locking the stage rows (PostgreSQL).

        Read before writing a stage's results, in the same transaction: a holder that
        lost its stage (its run was recovered and handed to another worker) writes nothing.
        """
        query = (
            select(run_stages.c.stage, run_stages.c.claimed_by)
            .where(run_stages.c.run_id == run_id)
            .with_for_update()
        )
        return {row.stage: row.claimed_by for row in self._conn.execute(query)}

    def requeue(self, run_id: str, stages: Iterable[str], reason: str) -> Run:
        """Give the running ``stages`` back to the queue after their worker stopped.

        They become pending again (results are written in one batch per stage, so nothing
        of theirs was stored); completed stages keep their artifacts. The run goes back to
        ``queued`` with ``reason`` unless another of its stages is still running.

        Raises:
            NotFound: no such run.
            RunStateError: the run already finished.
        """
        run = self.lock(run_id)
        check_requeue(run.status)
        run = self.reset_stages(run_id, stages)
        if not any(s.status is StageStatus.RUNNING for s in run.stages):
            values = {"status": RunStatus.QUEUED.value, "error": reason}
            self._conn.execute(update(runs).where(runs.c.run_id == run_id).values(values))
        return self.get(run_id)

    def count_by_status(self) -> tuple[dict[str, int], dict[str, int]]:
        """How many runs, and how many run stages, are in each status (for metrics)."""
        run_counts = self._conn.execute(select(runs.c.status, func.count()).group_by(runs.c.status))
        stage_counts = self._conn.execute(
            select(run_stages.c.status, func.count()).group_by(run_stages.c.status)
        )
        return (
            {str(status): int(n) for status, n in run_counts},
            {str(status): int(n) for status, n in stage_counts},
        )

    def artifact_totals(self) -> dict[str, int]:
        """Stored artifacts per type, from the per-run counts kept beside them (cheap)."""
        query = select(run_outputs.c.artifact_type, func.sum(run_outputs.c.artifact_count))
        rows = self._conn.execute(query.group_by(run_outputs.c.artifact_type))
        return {str(kind): int(total or 0) for kind, total in rows}

    def reset_stages(self, run_id: str, stages: Iterable[str]) -> Run:
        """Make the running ``stages`` pending again, unclaimed (their holder is gone).

        Results are written in one batch per stage, so nothing of theirs was stored.
        """
        names = set(stages)
        for state in self.get(run_id).stages:
            if state.stage in names and state.status is StageStatus.RUNNING:
                self._conn.execute(
                    update(run_stages)
                    .where(run_stages.c.run_id == run_id, run_stages.c.stage == state.stage)
                    .values(
                        status=StageStatus.PENDING.value,
                        progress=0.0,
                        started_at=None,
                        claimed_by=None,
                    )
                )
        return self.get(run_id)

    def status(self, run_id: str) -> RunStatus:
        """The run's status alone (cheap: polled while a run executes)."""
        found = self._conn.execute(select(runs.c.status).where(runs.c.run_id == run_id)).scalar()
        if found is None:
            raise NotFound(f"run {run_id} not found", details={"run_id": run_id})
        return RunStatus(found)

    def list_for_video(self, asset_id: str) -> list[Run]:
        """The video's runs, newest first."""
        query = (
            select(runs)
            .where(runs.c.asset_id == asset_id)
            .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        )
        rows = self._conn.execute(query).all()
        stages = self._stages([row.run_id for row in rows])
        return [self._build(row, stages.get(row.run_id, ())) for row in rows]

    def list_all(self) -> list[Run]:
        """Every run, by video then start time (for exports)."""
        query = select(runs).order_by(runs.c.asset_id, runs.c.started_at, runs.c.run_id)
        rows = self._conn.execute(query).all()
        stages = self._stages([row.run_id for row in rows])
        return [self._build(row, stages.get(row.run_id, ())) for row in rows]

    def transition(self, run_id: str, target: RunStatus, *, error: str | None = None) -> Run:
        """Move a run to ``target``; finishing states stamp finished_at.

        Raises:
            NotFound: no such run.
            RunStateError: the state machine forbids the move.
        """
        current = self.get(run_id)
        check_transition(current.status, target)
        values: dict[str, object] = {"status": target.value}
        if target.is_terminal:
            values["finished_at"] = utcnow()
        if error is not None:
            values["error"] = error
        self._conn.execute(update(runs).where(runs.c.run_id == run_id).values(values))
        return self.get(run_id)

    def set_stage(
        self,
        run_id: str,
        stage: str,
        status: StageStatus,
        *,
        progress: float | None = None,
        error: str | None = None,
        input_hash: str | None = None,
        config_hash: str | None = None,
        artifact_count: int | None = None,
    ) -> StageState:
        """Record a stage's status and progress; start and finish times are stamped here.

        The hashes and the artifact count are kept unless new values are given.
        """
        current = {s.stage: s for s in self.get(run_id).stages}.get(stage)
        if current is None:
            raise NotFound(f"run {run_id} has no stage {stage}", details={"stage": stage})
        now = utcnow()
        done = status in (StageStatus.COMPLETED, StageStatus.FAILED, StageStatus.SKIPPED)
        updated = StageState(
            stage=stage,
            status=status,
            progress=1.0
            if status is StageStatus.COMPLETED
            else (current.progress if progress is None else progress),
            error=error if error is not None else current.error,
            started_at=current.started_at or (now if status is StageStatus.RUNNING else None),
            finished_at=now if done or status is StageStatus.CANCELLED else None,
            input_hash=input_hash or current.input_hash,
            config_hash=config_hash or current.config_hash,
            artifact_count=current.artifact_count if artifact_count is None else artifact_count,
        )
        query = (
            update(run_stages)
            .where(run_stages.c.run_id == run_id, run_stages.c.stage == stage)
            .values(updated.model_dump(exclude={"stage"}))
        )
        self._conn.execute(query)
        return updated

    def completed_stage(
        self, asset_id: str, stage: str, *, input_hash: str, config_hash: str
    ) -> str | None:
        """The newest run of the video whose ``stage`` finished on the same input and settings.

        This is what makes re-running a stage a no-op unless forced (SPEC §9).
        """
        query = (
            select(runs.c.run_id)
            .join(run_stages, run_stages.c.run_id == runs.c.run_id)
            .where(
                runs.c.asset_id == asset_id,
                run_stages.c.stage == stage,
                run_stages.c.status.in_(_DONE),
                run_stages.c.input_hash == input_hash,
                run_stages.c.config_hash == config_hash,
            )
            .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
            .limit(1)
        )
        return self._conn.execute(query).scalar()

    def unfinished(self) -> list[Run]:
        """Runs still queued or running (to recover after a crash or an interrupt)."""
        query = (
            select(runs)
            .where(runs.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]))
            .order_by(runs.c.started_at, runs.c.run_id)
        )
        rows = self._conn.execute(query).all()
        stages = self._stages([row.run_id for row in rows])
        return [self._build(row, stages.get(row.run_id, ())) for row in rows]

    def _stages(self, run_ids: Sequence[str]) -> dict[str, tuple[StageState, ...]]:
        if not run_ids:
            return {}
        query = (
            select(run_stages)
            .where(run_stages.c.run_id.in_(run_ids))
            .order_by(run_stages.c.run_id, run_stages.c.position)
        )
        found: dict[str, list[StageState]] = {}
        for row in self._conn.execute(query):
            state = StageState.model_validate({name: row._mapping[name] for name in _STAGE_FIELDS})
            found.setdefault(row.run_id, []).append(state)
        return {run_id: tuple(states) for run_id, states in found.items()}

    @staticmethod
    def _build(row: Row[tuple[object, ...]], stages: tuple[StageState, ...]) -> Run:
        data = {name: row._mapping[name] for name in _RUN_FIELDS}
        return Run.model_validate({**data, "stages": stages})
