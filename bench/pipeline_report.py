"""Tables of the ``pipeline`` suite: the decoder floor, whole runs against SPEC §11's targets,
and every stage both inside the whole run and alone."""

from __future__ import annotations

from collections import Counter

from bench.pipeline import PipelineOptions, PipelineResults, RunResult, Timing
from bench.report import Column, Table, count, seconds
from eioku.domain.profiles import ModelProfile

TARGETS = {ModelProfile.FAST: 4.0, ModelProfile.BALANCED: 1.5}
"""Least whole-run real-time factor per profile on a 2-core machine (SPEC §11)."""
NOTE_CHARS = 240


def tables(results: PipelineResults, options: PipelineOptions) -> list[Table]:
    """The floor table, the whole-run table and the per-stage table."""
    return [
        floor_table(results),
        whole_table(results),
        stage_table(results, options),
        settings_table(results),
    ]


def rtf(media_seconds: float, wall: float) -> str:
    """Media seconds per wall second, e.g. ``12.3x``; a dash when nothing was timed."""
    if wall <= 0:
        return "—"
    value = media_seconds / wall
    return f"{value:.1f}x" if value < 100 else f"{value:,.0f}x"


def _cpu(timing: Timing) -> str:
    return "?" if timing.cpu is None else seconds(timing.cpu)


def _load(timing: Timing) -> str:
    return f"{timing.load_before:.1f} → {timing.load_after:.1f}"


def floor_table(results: PipelineResults) -> Table:
    """Writing the video, decoding it with and without conversion, extracting its audio."""
    video, floor = results.video, results.floor
    info, media = video.info, video.media_seconds
    table = Table(
        f"Pipeline: decoder floor on the demo video ({info.width}x{info.height}, "
        f"{info.fps:g} fps, {media:.0f} s, {info.file_size / 2**20:.1f} MiB)",
        (
            Column("measurement"),
            Column("frames", numeric=True),
            Column("wall s", numeric=True),
            Column("CPU s", numeric=True),
            Column("frames/s", numeric=True),
            Column("RTF", numeric=True),
            Column("load before → after"),
        ),
        note="RTF: media seconds per wall second. Decoding uses PyAV's default threading, as "
        "the pipeline does. The warm-up prepares each stage once (imports, first model load) "
        "so the first run does not pay for it.",
    )
    made = "reused (--keep)" if video.generated is None else seconds(video.generated)
    table.add("write the demo video", count(floor.frames), made, "", "", "", "")
    rows = (
        ("decode only (PyAV, every frame, no conversion)", floor.frames, floor.decode),
        (
            "decode + every frame to RGB ≤256 px (iter_frames)",
            floor.converted,
            floor.convert,
        ),
    )
    for label, frames, timing in rows:
        rate = count(frames / timing.wall) if timing.wall > 0 else "—"
        table.add(
            label,
            count(frames),
            seconds(timing.wall),
            _cpu(timing),
            rate,
            rtf(media, timing.wall),
            _load(timing),
        )
    audio = floor.audio
    table.add(
        "extract audio (16 kHz mono float32)",
        "",
        seconds(audio.wall),
        _cpu(audio),
        "",
        rtf(media, audio.wall),
        _load(audio),
    )
    warm = floor.warmup
    table.add("warm-up: prepare each stage once", "", seconds(warm.wall), _cpu(warm), "", "", "")
    return table


def _stage_counts(result: RunResult) -> str:
    found = Counter(s.outcome.status.value for s in result.outcomes)
    return ", ".join(f"{number} {status}" for status, number in sorted(found.items()))


def whole_table(results: PipelineResults) -> Table:
    """One row per engine and profile: a run of every chosen stage, against the target."""
    table = Table(
        "Pipeline: whole runs (every chosen stage in one run)",
        (
            Column("engine"),
            Column("profile"),
            Column("run"),
            Column("stages"),
            Column("wall s", numeric=True),
            Column("CPU s", numeric=True),
            Column("CPU/wall", numeric=True),
            Column("RTF", numeric=True),
            Column("media s per CPU s", numeric=True),
            Column("target", numeric=True),
            Column("verdict"),
            Column("load before → after"),
        ),
        note="Targets (SPEC §11, 2 cores): whole run ≥ 4x real time with fast, ≥ 1.5x with "
        "balanced. The run counts only the stages that ran: a skipped stage (missing model) "
        "costs nothing here and would cost time once its model is installed. Wall time is "
        "inflated by other jobs on a shared machine; CPU seconds much less so: on a quiet "
        "2-core machine the run's RTF would lie between media s per CPU s (no overlap) and "
        "twice that (both cores busy throughout).",
    )
    for result in results.whole:
        media, timing = result.media_ms / 1000, result.timing
        target = TARGETS.get(result.profile)
        verdict = "—"
        if target is not None and timing.wall > 0:
            verdict = "meets" if media / timing.wall >= target else "misses"
        parallel = f"{timing.cpu / timing.wall:.2f}" if timing.cpu and timing.wall else "?"
        table.add(
            result.engine,
            result.profile.value,
            result.status,
            _stage_counts(result),
            seconds(timing.wall),
            _cpu(timing),
            parallel,
            rtf(media, timing.wall),
            rtf(media, timing.cpu or 0.0),
            f"{target:g}x" if target is not None else "—",
            verdict,
            _load(timing),
        )
    return table


def stage_table(results: PipelineResults, options: PipelineOptions) -> Table:
    """Every stage of every whole run, next to the same stage run alone."""
    table = Table(
        "Pipeline: stages, in the whole run and alone",
        (
            Column("engine"),
            Column("profile"),
            Column("stage"),
            Column("status"),
            Column("artifacts", numeric=True),
            Column("in run: stage s", numeric=True),
            Column("in run: done at s", numeric=True),
            Column("alone: stage s", numeric=True),
            Column("alone: RTF", numeric=True),
            Column("alone: run s", numeric=True),
            Column("alone: CPU s", numeric=True),
            Column("why skipped or failed"),
        ),
        note="stage s: from the stage's start (after its own model loaded, so in a whole run "
        "it also covers the later stages' model loading) to its artifacts being stored; audio "
        "stages include extracting the audio, frame stages the shared decode. "
        "done at s: since the whole run started (probe and model loading included). alone: "
        "a run with only that stage, in its own fresh store; RTF = media seconds / stage s; "
        "run s and CPU s cover the whole run (probe, model loading, writing)."
        + ("" if options.isolated else " (not measured: --no-isolated)"),
    )
    alone = {(r.engine, r.profile, r.stages[0]): r for r in results.alone if len(r.stages) == 1}
    for whole in results.whole:
        media = whole.media_ms / 1000
        order = {name: index for index, name in enumerate(whole.stages)}
        for found in sorted(whole.outcomes, key=lambda s: order.get(s.outcome.stage, 0)):
            outcome = found.outcome
            single = alone.get((whole.engine, whole.profile, outcome.stage))
            cells = ("", "", "", "")
            message = outcome.message
            if single is not None and single.outcomes:
                own = single.outcomes[0].outcome
                cells = (
                    seconds(own.seconds) if own.seconds else "—",
                    rtf(media, own.seconds),
                    seconds(single.timing.wall),
                    _cpu(single.timing),
                )
                if own.status is not outcome.status:
                    message = f"alone: {own.status.value}: {own.message or ''} {message or ''}"
            table.add(
                whole.engine,
                whole.profile.value,
                outcome.stage,
                outcome.status.value,
                count(outcome.artifact_count),
                seconds(outcome.seconds) if outcome.seconds else "—",
                seconds(found.finished_after),
                *cells,
                _shorten(message),
            )
    return table


def _shorten(message: str | None) -> str:
    if not message:
        return ""
    text = " ".join(message.split()).replace("|", "/")
    return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…"


def settings_table(results: PipelineResults) -> Table:
    """What each profile means for each stage: the settings that differ between profiles."""
    table = Table(
        "Pipeline: stage settings per profile (those that differ between the profiles measured)",
        (Column("stage"), Column("profile"), Column("settings")),
        note="From each stage's config() (hashed into config_hash); 'model' is always shown.",
    )
    stages = list(dict.fromkeys(stage for stage, _ in results.settings))
    for stage in stages:
        configs = {p: c for (name, p), c in results.settings.items() if name == stage}
        keys = list(dict.fromkeys(key for config in configs.values() for key in config))
        differ = [
            key
            for key in keys
            if key == "model" or len({repr(c.get(key)) for c in configs.values()}) > 1
        ]
        shown = differ if len(configs) > 1 else keys
        for profile, config in configs.items():
            text = ", ".join(f"{key}={config.get(key)}" for key in shown) or "(same for all)"
            table.add(stage, profile.value, _shorten(text))
    return table
