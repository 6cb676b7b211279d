"""Model profiles: the quality tier of a run, ranked fast < balanced < high_quality."""

from __future__ import annotations

from enum import StrEnum


class ModelProfile(StrEnum):
    """Quality tier of a run; the member order is the quality ranking."""

    FAST = "fast"
    BALANCED = "balanced"
    HIGH_QUALITY = "high_quality"

    @property
    def rank(self) -> int:
        """Position in the quality ranking: higher is better quality."""
        return _RANK[self]


_RANK = {profile: index for index, profile in enumerate(ModelProfile)}
