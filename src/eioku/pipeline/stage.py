"""What a pipeline stage is: an engine that turns a video's audio, frames or container
into findings, which the runner stores as one artifact batch (SPEC §9).

Three shapes exist, by what the stage reads:

- :class:`ContainerStage` reads the container's facts (no decoding);
- :class:`AudioStage` reads the whole audio track once (16 kHz mono float32);
- :class:`FrameStage` is fed sampled frames during the run's single decoding pass and
  says which frames it wants with a :class:`~eioku.media.decode.FrameRequest`.

A stage loads its engine in :meth:`Stage.prepare` (heavy imports happen there, never at
module import) and raises :class:`StageUnavailable` when a model it needs is missing: the
runner then skips the stage with that message instead of faking a result.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from eioku.domain.errors import ProducerUnavailable
from eioku.domain.profiles import ModelProfile

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from eioku.media.decode import FrameRequest, MediaInfo, SampledFrame
    from eioku.pipeline.models import ModelLibrary, ModelStatus
    from eioku.storage.store import UnitOfWork

Progress = Callable[[float], None]


class StageUnavailable(ProducerUnavailable):
    """The stage cannot run here (a model or engine is missing); the message says what to do."""

    code = "stage_unavailable"


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a stage: a span and a payload; the runner adds the envelope."""

    span_start_ms: int
    span_end_ms: int
    payload: dict[str, Any]


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of a stage's settings (key order does not matter)."""
    blob = orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()[:32]


class Stage(ABC):
    """Base of every stage; one instance serves one run.

    Args:
        profile: the run's quality profile; each stage maps it to concrete settings.
        models: where model files are found.
    """

    name: ClassVar[str]
    artifact_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def __init__(self, profile: ModelProfile, models: ModelLibrary) -> None:
        self.profile = profile
        self.models = models

    @property
    @abstractmethod
    def producer(self) -> str:
        """The engine's name as stored in the envelope, e.g. ``faster-whisper``."""

    @property
    @abstractmethod
    def producer_version(self) -> str:
        """The engine's version (and model's, where it has one)."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Every setting that changes the results (hashed into config_hash)."""

    def model_status(self) -> Sequence[ModelStatus]:
        """The models this stage uses and whether they are present (for ``eioku models``)."""
        return ()

    def prepare(self) -> None:  # noqa: B027 - most stages have something to load, not all
        """Load the engine and models; raise StageUnavailable when something is missing."""

    def before_write(self, uow: UnitOfWork, findings: list[Finding]) -> list[Finding]:
        """Last step inside the write transaction (face clustering uses it)."""
        return findings


class ContainerStage(Stage):
    """A stage that reads only the container's facts."""

    @abstractmethod
    def run(self, info: MediaInfo) -> list[Finding]:
        """The findings for the whole file."""


class AudioStage(Stage):
    """A stage over the whole audio track (16 kHz mono float32)."""

    @abstractmethod
    def run(self, audio: npt.NDArray[np.float32], progress: Progress) -> list[Finding]:
        """The findings for the track; call ``progress`` with 0..1 as work goes on."""


class FrameStage(Stage):
    """A stage fed sampled frames during the run's one decoding pass."""

    @abstractmethod
    def frame_request(self, info: MediaInfo) -> FrameRequest:
        """Which frames to feed it and how large."""

    @abstractmethod
    def on_frame(self, frame: SampledFrame) -> None:
        """Process one frame (frames arrive in time order)."""

    @abstractmethod
    def finish(self, info: MediaInfo) -> list[Finding]:
        """All findings, once the last frame was fed."""
