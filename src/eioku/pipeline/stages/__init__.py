"""The stages a run can have, in the order a run lists them (SPEC §9).

Stage modules import their engines only in ``prepare``, so importing a stage class is
cheap; the classes are still looked up lazily so a broken optional engine cannot break
the command line. Other packages add stages through the ``eioku.stages`` entry-point
group (name = stage name, value = ``module:Class``); they run after the built-in ones.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

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

ENTRY_POINT_GROUP = "eioku.stages"

STAGE_NAMES: tuple[str, ...] = tuple(_STAGES)
"""The built-in stages, in run order (what a run does when no stage is named)."""


@cache
def _plugins() -> dict[str, str]:
    """Stages other installed packages declare, by name (built-in names cannot be taken)."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name)
    return {entry.name: entry.value for entry in found if entry.name not in _STAGES}


def _known() -> dict[str, str]:
    return {**_STAGES, **_plugins()}


def stage_class(name: str) -> type[Stage]:
    """The class of the stage called ``name``.

    Raises:
        InvalidInput: no stage has that name.
    """
    target = _known().get(name)
    if target is None:
        raise InvalidInput(
            f"unknown stage {name!r}; stages are: {', '.join(_known())}",
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
    known = _known()
    for name in sorted(names - known.keys()):
        stage_class(name)  # raises InvalidInput naming the unknown stage
    return tuple(name for name in known if name in names)
