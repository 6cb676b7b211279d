"""Write a small demo library as Eioku JSON Lines: two videos, two profiles, every artifact type.

The content is fixed (no randomness), so the demo prints the same answers every time.
Usage: python scripts/demo_library.py > library.jsonl
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

FILMED = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
LINES = [
    "good morning and welcome to the kitchen",
    "today we are baking bread with the dog watching",
    "first we check the invoice for the flour",
    "the dog is running around the table",
    "now the bread goes into the oven",
]
BOX = {"x": 100.0, "y": 80.0, "width": 220.0, "height": 160.0}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def video(video_id: str, filmed: datetime) -> dict[str, Any]:
    return {
        "record": "video",
        "video_id": video_id,
        "path": f"/library/{video_id}.mp4",
        "filename": f"{video_id}.mp4",
        "file_size": 48_000_000,
        "file_mtime": iso(filmed + timedelta(hours=2)),
        "file_hash": f"sha256:demo-{video_id}",
        "duration_ms": 30_000,
        "recorded_at": iso(filmed),
        "status": "ready",
    }


def run(run_id: str, video_id: str, profile: str, started: datetime) -> dict[str, Any]:
    return {
        "record": "run",
        "run_id": run_id,
        "asset_id": video_id,
        "pipeline_profile": profile,
        "started_at": iso(started),
        "finished_at": iso(started + timedelta(minutes=1)),
        "status": "completed",
        "error": None,
        "stages": [
            {"stage": stage, "status": "completed", "progress": 1.0}
            for stage in ("transcribe", "ocr", "objects", "faces")
        ],
    }


def artifact(
    run_row: dict[str, Any], kind: str, start: int, end: int, payload: dict[str, Any]
) -> dict[str, Any]:
    profile = run_row["pipeline_profile"]
    return {
        "record": "artifact",
        "artifact_id": f"{run_row['run_id']}-{kind}-{start}",
        "asset_id": run_row["asset_id"],
        "artifact_type": kind,
        "schema_version": 1,
        "span_start_ms": start,
        "span_end_ms": end,
        "payload": payload,
        "producer": "demo",
        "producer_version": "1",
        "model_profile": profile,
        "config_hash": f"demo-{profile}",
        "input_hash": f"sha256:demo-{run_row['asset_id']}",
        "run_id": run_row["run_id"],
    }


def artifacts_of(run_row: dict[str, Any], confidence: float) -> list[dict[str, Any]]:
    rows = []
    for index, line in enumerate(LINES):
        start = index * 6_000
        payload = {"text": line, "confidence": confidence}
        rows.append(artifact(run_row, "transcript.segment", start, start + 5_500, payload))
        rows.append(
            artifact(
                run_row,
                "object.detection",
                start + 1_000,
                start + 1_000,
                {
                    "label": "dog" if "dog" in line else "bowl",
                    "confidence": confidence,
                    "bounding_box": BOX,
                    "frame_number": (start + 1_000) * 30 // 1000,
                },
            )
        )
    ocr = {
        "text": "INVOICE 2026-117",
        "confidence": confidence,
        "bounding_box": [{"x": 40, "y": 40}, {"x": 400, "y": 40}, {"x": 400, "y": 90}],
        "frame_number": 360,
    }
    face = {"confidence": confidence, "bounding_box": BOX, "cluster_id": "baker", "frame_number": 90}
    rows.append(artifact(run_row, "ocr.text", 12_000, 17_000, ocr))
    rows.append(artifact(run_row, "face.detection", 3_000, 3_000, face))
    return rows


def main() -> None:
    records: list[dict[str, Any]] = []
    for number in (1, 2):
        video_id = f"demo-video-{number}"
        filmed = FILMED + timedelta(days=number)
        records.append(video(video_id, filmed))
        fast = run(f"demo-run-{number}-fast", video_id, "fast", filmed + timedelta(days=30))
        best = run(f"demo-run-{number}-hq", video_id, "high_quality", filmed + timedelta(days=31))
        records += [fast, best]
        records += artifacts_of(fast, 0.61) + artifacts_of(best, 0.93)
    for record in records:
        sys.stdout.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
