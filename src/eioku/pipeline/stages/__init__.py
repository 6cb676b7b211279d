"""The stages a run can have, in the order a run lists them (SPEC §9).

Stage modules import their engines only in ``prepare``, so importing a stage class is
cheap; the classes are still looked up lazily so a broken optional engine cannot break
the command line.
"""

from __future__ import annotations

from importlib import import_module

from eioku.domain.errors import InvalidInput
from eioku.pipeline.stage import Stage

_STAGES: dict[str, str] = {
    "metadata": "eioku.pipeline.stages.metadata:MetadataStage",
    "transcribe": "eioku.pipeline.stages.transcribe:TranscribeStage",
    "scenes": "eioku.pipeline.stages.scenes:ScenesStage",
    "ocr": "eioku.pipeline.stages.ocr:OcrStage",
    "faces": "eioku.pipeline.stages.faces:FacesStage",
    "objects": "eioku.pipeline.stages.objects:ObjectsStage",
    "places": "eioku.pipeline.stages.places:PlacesStage",
}

STAGE_NAMES: tuple[str, ...] = tuple(_STAGES)
"""Every stage, in run order."""


def stage_class(name: str) -> type[Stage]:
    """The class of the stage called ``name``.

    Raises:
        InvalidInput: no stage has that name.
    """
    target = _STAGES.get(name)
    if target is None:
        raise InvalidInput(
            f"unknown stage {name!r}; stages are: {', '.join(STAGE_NAMES)}",
            details={"stage": name},
        )
    module, _, attr = target.partition(":")
    cls: type[Stage] = getattr(import_module(module), attr)
    return cls


def parse_stages(text: str | None) -> tuple[str, ...]:
    """Stage names from ``a,b,c`` (all stages when None or empty), in run order.

    Raises:
        InvalidInput: an unknown stage name.
    """
    if text is None or not text.strip():
        return STAGE_NAMES
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    for name in sorted(names - _STAGES.keys()):
        stage_class(name)  # raises InvalidInput naming the unknown stage
    return tuple(name for name in STAGE_NAMES if name in names)
