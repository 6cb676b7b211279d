"""Prometheus metrics at ``GET /metrics``, computed from the database at scrape time.

Nothing is counted in process memory: any API process answers for the whole deployment
(every worker, every machine), and a restarted server loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from eioku.api.routers.pipeline import DispatcherDep
from eioku.domain.runs import RunStatus, StageStatus
from eioku.pipeline.dispatch import Dispatcher

router = APIRouter(tags=["health"])


class EiokuCollector(Collector):
    """Runs, stages, jobs, artifacts and workers, read when Prometheus scrapes."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def collect(self) -> Iterator[Metric]:
        """One gauge family per quantity; every known status is reported, zeros too."""
        with self._dispatcher.store.unit_of_work(write=False) as uow:
            runs, stages = uow.runs.count_by_status()
            artifacts = uow.runs.artifact_totals()
        queue = self._dispatcher.queue_status()
        run_gauge = GaugeMetricFamily("eioku_runs", "Runs by status.", labels=["status"])
        for status in RunStatus:
            run_gauge.add_metric([status.value], runs.get(status.value, 0))
        yield run_gauge
        stage_gauge = GaugeMetricFamily(
            "eioku_run_stages", "Stages of runs by status.", labels=["status"]
        )
        for stage_status in StageStatus:
            stage_gauge.add_metric([stage_status.value], stages.get(stage_status.value, 0))
        yield stage_gauge
        jobs = GaugeMetricFamily(
            "eioku_jobs",
            "Worker queue jobs by queue and status (locally: queued and running runs).",
            labels=["queue", "status"],
        )
        for count in queue.jobs:
            jobs.add_metric([count.queue, count.status], count.count)
        yield jobs
        depth = GaugeMetricFamily("eioku_queue_depth", "Waiting jobs per queue.", labels=["queue"])
        for name, waiting in sorted(queue.depth().items()):
            depth.add_metric([name], waiting)
        yield depth
        stored = GaugeMetricFamily(
            "eioku_artifacts", "Stored artifacts by type.", labels=["artifact_type"]
        )
        for kind, total in sorted(artifacts.items()):
            stored.add_metric([kind], total)
        yield stored
        yield GaugeMetricFamily(
            "eioku_artifacts_total_count",
            "Stored artifacts, all types.",
            value=sum(artifacts.values()),
        )
        yield GaugeMetricFamily(
            "eioku_workers_alive",
            "Workers with a recent heartbeat (0 when runs execute locally).",
            value=queue.workers_alive or 0,
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
def metrics(dispatch: DispatcherDep) -> Response:
    """Prometheus metrics: runs, stages, queue jobs, artifacts and live workers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EiokuCollector(dispatch))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
