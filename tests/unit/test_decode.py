"""Probing and decoding damaged files: a clear MediaError or a result, never a crash."""

from __future__ import annotations

from pathlib import Path

from eioku.media.decode import FrameRequest, MediaError, iter_frames, probe
from tests.media import make_video


def test_every_truncation_of_a_clip_probes_and_decodes_or_raises_media_error(
    tmp_path: Path,
) -> None:
    data = make_video(tmp_path / "full.mp4", seconds=2, size=(64, 48)).read_bytes()
    cut_path = tmp_path / "cut.mp4"
    outcomes = {"refused": 0, "decoded": 0}
    reasons: list[str] = []
    for cut in range(1, len(data), 11):
        cut_path.write_bytes(data[:cut])
        try:
            info = probe(cut_path)
            frames = list(iter_frames(info, {"s": FrameRequest(0, 32)}))
        except MediaError as exc:
            reasons.append(str(exc))
            outcomes["refused"] += 1
            continue
        assert all(f["s"].image.shape[2] == 3 for f in frames)
        outcomes["decoded"] += 1
    assert outcomes["refused"] > 0
    assert all(reason.startswith(f"{cut_path}: ") for reason in reasons)
