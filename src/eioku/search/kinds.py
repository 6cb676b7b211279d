"""What can be navigated: each kind of jump maps to one artifact type and its projection."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Column, Table

from eioku.domain.errors import InvalidQuery
from eioku.storage.tables import (
    face_clusters,
    object_labels,
    ocr_fts,
    place_labels,
    scene_ranges,
    transcript_fts,
)


class Kind(StrEnum):
    """The kinds of thing a user jumps between."""

    SCENE = "scene"
    TRANSCRIPT = "transcript"
    OBJECT = "object"
    FACE = "face"
    PLACE = "place"
    OCR = "ocr"


class Direction(StrEnum):
    """Which way a jump goes along the timeline."""

    NEXT = "next"
    PREV = "prev"


class TextSource(StrEnum):
    """Where find looks for text."""

    TRANSCRIPT = "transcript"
    OCR = "ocr"
    ALL = "all"


@dataclass(frozen=True)
class KindSpec:
    """How one kind is stored and which filters apply to it.

    Attributes:
        artifact_type: the artifact type whose selection policy applies.
        table: the projection table navigated.
        key: the column ``label`` / ``face_cluster_id`` filters on, if any.
        has_confidence: whether ``min_confidence`` applies.
        text_filter: the name of the full-text filter (``q`` or ``text``), if any.
    """

    kind: Kind
    artifact_type: str
    table: Table
    key: str | None = None
    has_confidence: bool = False
    text_filter: str | None = None

    @property
    def key_column(self) -> Column[str] | None:
        """The key column object, if the kind has one."""
        return None if self.key is None else self.table.c[self.key]


SPECS: dict[Kind, KindSpec] = {
    Kind.SCENE: KindSpec(Kind.SCENE, "scene", scene_ranges),
    Kind.TRANSCRIPT: KindSpec(
        Kind.TRANSCRIPT, "transcript.segment", transcript_fts, text_filter="q"
    ),
    Kind.OBJECT: KindSpec(
        Kind.OBJECT, "object.detection", object_labels, key="label", has_confidence=True
    ),
    Kind.FACE: KindSpec(
        Kind.FACE, "face.detection", face_clusters, key="cluster_id", has_confidence=True
    ),
    Kind.PLACE: KindSpec(
        Kind.PLACE, "place.classification", place_labels, key="label", has_confidence=True
    ),
    Kind.OCR: KindSpec(Kind.OCR, "ocr.text", ocr_fts, has_confidence=True, text_filter="text"),
}


@dataclass(frozen=True)
class Filters:
    """Optional narrowing of a jump; each applies to some kinds only (SPEC §7)."""

    label: str | None = None
    face_cluster_id: str | None = None
    text: str | None = None
    q: str | None = None
    min_confidence: float | None = None

    def check(self, spec: KindSpec) -> None:
        """Raise InvalidQuery for a filter that does not apply to ``spec``'s kind."""
        allowed = {
            "label": spec.key == "label",
            "face_cluster_id": spec.key == "cluster_id",
            "text": spec.text_filter == "text",
            "q": spec.text_filter == "q",
            "min_confidence": spec.has_confidence,
        }
        for name, applies in allowed.items():
            if getattr(self, name) is not None and not applies:
                raise InvalidQuery(
                    f"filter {name!r} does not apply to kind {spec.kind.value!r}",
                    details={"filter": name, "kind": spec.kind.value},
                )
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise InvalidQuery("min_confidence must be between 0 and 1")

    @property
    def key_value(self) -> str | None:
        """The value the kind's key column must equal, if any."""
        return self.label if self.label is not None else self.face_cluster_id

    @property
    def text_value(self) -> str | None:
        """The full-text filter, whichever name it came under."""
        return self.q if self.q is not None else self.text


NO_FILTERS = Filters()


def spec_for(kind: str | Kind) -> KindSpec:
    """The spec of a kind given by name, or InvalidQuery naming the valid kinds."""
    try:
        return SPECS[Kind(kind)]
    except ValueError:
        valid = ", ".join(k.value for k in Kind)
        raise InvalidQuery(f"unknown kind {kind!r}: use one of {valid}") from None


def direction_of(direction: Direction | str) -> Direction:
    """Parse a direction, or InvalidQuery."""
    try:
        return Direction(direction)
    except ValueError:
        raise InvalidQuery(f"unknown direction {direction!r}: use next or prev") from None
