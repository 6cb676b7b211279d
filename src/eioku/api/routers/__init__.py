"""One router per resource; :data:`ROUTERS` is the order they are mounted in."""

from __future__ import annotations

from fastapi import APIRouter

from eioku.api.routers import (
    artifacts,
    exports,
    health,
    library,
    metrics,
    navigation,
    pipeline,
    runs,
    selection,
    uploads,
    videos,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    videos.router,
    artifacts.router,
    uploads.router,
    runs.router,
    selection.router,
    exports.router,
    navigation.router,
    pipeline.router,
    library.router,
    metrics.router,
)
