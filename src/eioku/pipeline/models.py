"""Where model files live: packages that ship them, and the user's model directory.

Models that no package ships here (YOLO COCO weights, Places365) are standard files the
user puts into the model directory (``EIOKU_MODEL_DIR``, default: the user data
directory's ``models``); ``eioku models`` lists what each stage uses, where it was found,
and what to put where when it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """One model a stage uses: where it was found, or how to get it."""

    stage: str
    model: str
    location: str | None
    hint: str = ""

    @property
    def available(self) -> bool:
        """Whether the model was found."""
        return self.location is not None


class ModelLibrary:
    """Looks up model files under one directory.

    Args:
        root: the user's model directory (it need not exist).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def find(self, *names: str) -> Path | None:
        """The first of ``names`` (relative to the root, file or directory) that exists."""
        for name in names:
            candidate = self.root / name
            if candidate.exists():
                return candidate
        return None
