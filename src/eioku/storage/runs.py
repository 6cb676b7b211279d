"""Run repository: lifecycle transitions and per-stage status (SPEC §4)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, select, update

from eioku.domain.errors import Conflict, InvalidInput, NotFound
from eioku.domain.runs import Run, RunStatus, StageState, StageStatus, check_transition
from eioku.storage.clock import utcnow
from eioku.storage.errors import translated
from eioku.storage.tables import run_stages, runs, videos

# A stage that completed or was skipped (no audio track, missing model) on the same input
# with the same settings would do the same again: re-running it is a no-op unless forced.
_DONE = (StageStatus.COMPLETED.value, StageStatus.SKIPPED.value)
_RUN_FIELDS = [column.name for column in runs.columns]
_STAGE_FIELDS = [c.name for c in run_stages.columns if c.name not in ("run_id", "position")]


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
