"""Model profiles: the quality tier of a run, ranked fast < balanced < high_quality."""

from __future__ import annotations

from enum import StrEnum

from eioku.domain.errors import InvalidInput


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


def parse_profile(text: str) -> ModelProfile:
    """The profile named by ``text`` (any letter case, surrounding spaces ignored).

    Raises:
        InvalidInput: no profile has that name.
    """
    try:
        return ModelProfile(text.strip().lower())
    except ValueError:
        names = ", ".join(profile.value for profile in ModelProfile)
        raise InvalidInput(f"unknown profile {text!r}; profiles are: {names}") from None
