"""The schema registry (SPEC §3; §10 properties 2, 3, 5) and its entry-point hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from eioku.domain.errors import (
    InvalidInput,
    SchemaNotFoundError,
    SchemaRegistrationError,
    SchemaValidationError,
)
from eioku.domain.schemas.builtin import BUILTIN_SCHEMAS, register_builtin
from eioku.domain.schemas.registry import SchemaRegistry, load_registry
from eioku.domain.schemas.transcript import TranscriptSegmentV1
from tests.factories import (
    PAYLOAD_STRATEGIES,
    TRANSCRIPT_V2_STRATEGY,
    sample_payload,
    write_schema_plugin,
)

BUILTIN_KEYS = {(kind, version) for kind, version, _ in BUILTIN_SCHEMAS}


def builtin_registry() -> SchemaRegistry:
    registry = SchemaRegistry()
    register_builtin(registry)
    return registry


# -- property 5: lookups -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "version", "model"), BUILTIN_SCHEMAS)
def test_registered_pair_returns_its_model(kind: str, version: int, model: type[BaseModel]) -> None:
    assert builtin_registry().get_schema(kind, version) is model


@given(kind=st.text(max_size=30), version=st.integers(min_value=-5, max_value=2**40))
def test_unregistered_pair_raises_schema_not_found(kind: str, version: int) -> None:
    registry = builtin_registry()
    if (kind, version) in BUILTIN_KEYS:
        return
    with pytest.raises(SchemaNotFoundError) as caught:
        registry.get_schema(kind, version)
    assert caught.value.details == {"artifact_type": kind, "schema_version": version}
    with pytest.raises(SchemaNotFoundError):
        registry.validate(kind, version, {})


@pytest.mark.parametrize(("kind", "version"), [("scene", 2), ("scene", 0), ("Scene", 1)])
def test_near_misses_of_registered_pairs_are_not_found(kind: str, version: int) -> None:
    with pytest.raises(SchemaNotFoundError):
        builtin_registry().get_schema(kind, version)


def test_schema_errors_are_client_errors() -> None:
    assert issubclass(SchemaNotFoundError, InvalidInput)
    assert issubclass(SchemaValidationError, InvalidInput)


def test_registering_a_pair_twice_is_an_error_and_keeps_the_first_model() -> None:
    registry = builtin_registry()

    class Impostor(BaseModel):
        text: str

    with pytest.raises(SchemaRegistrationError):
        registry.register("transcript.segment", 1, Impostor)
    assert registry.get_schema("transcript.segment", 1) is TranscriptSegmentV1


@pytest.mark.parametrize(("kind", "version"), [("", 1), ("scene", 0), ("scene", -1)])
def test_registering_an_invalid_key_is_an_error(kind: str, version: int) -> None:
    with pytest.raises(SchemaRegistrationError):
        SchemaRegistry().register(kind, version, TranscriptSegmentV1)


def test_load_registry_registers_every_builtin_exactly_once() -> None:
    registry = load_registry()
    assert set(registry.keys()) >= BUILTIN_KEYS
    for kind, version, model in BUILTIN_SCHEMAS:
        assert registry.get_schema(kind, version) is model


def test_invalid_payload_raises_with_every_field_error() -> None:
    payload = {"scene_index": -1, "method": "", "score": "high", "frame_number": 0, "x": 1}
    with pytest.raises(SchemaValidationError) as caught:
        builtin_registry().validate("scene", 1, payload)
    assert caught.value.details is not None
    fields = {error["field"] for error in caught.value.details["errors"]}
    assert fields == {"scene_index", "method", "score", "x"}


@pytest.mark.parametrize(("kind", "version", "model"), BUILTIN_SCHEMAS)
def test_every_builtin_schema_has_a_sample_and_a_strategy(
    kind: str, version: int, model: type[BaseModel]
) -> None:
    assert version == 1
    assert kind in PAYLOAD_STRATEGIES
    model.model_validate(sample_payload(kind))


# -- property 2: payload round trip ------------------------------------------------------


def test_every_registered_schema_has_a_payload_strategy(registry: SchemaRegistry) -> None:
    assert set(registry.keys()) == {(kind, 1) for kind in PAYLOAD_STRATEGIES}


@given(st.data())
def test_payload_round_trips_through_json_for_every_registered_schema(
    registry: SchemaRegistry, data: st.DataObject
) -> None:
    kind, version = data.draw(st.sampled_from(registry.keys()))
    validated = registry.validate(kind, version, data.draw(PAYLOAD_STRATEGIES[kind]))
    for text in (json.dumps(validated), orjson.dumps(validated).decode()):
        again = registry.validate(kind, version, json.loads(text))
        assert again == validated
        assert registry.parse(kind, version, again) == registry.parse(kind, version, validated)


@given(st.data())
def test_validation_is_idempotent(data: st.DataObject) -> None:
    registry = builtin_registry()
    kind = data.draw(st.sampled_from(sorted(PAYLOAD_STRATEGIES)))
    once = registry.validate(kind, 1, data.draw(PAYLOAD_STRATEGIES[kind]))
    assert registry.validate(kind, 1, once) == once


def test_validation_fills_documented_defaults() -> None:
    validated = builtin_registry().validate("transcript.segment", 1, {"text": "hi"})
    assert validated == {"text": "hi", "speaker": None, "confidence": None, "language": "en"}


# -- property 3: versions coexist --------------------------------------------------------


class Word(BaseModel):
    word: str
    start_ms: int
    end_ms: int


class TranscriptSegmentV2(TranscriptSegmentV1):
    """A breaking change: per-word timings are required."""

    words: list[Word]


def registry_with_v2() -> SchemaRegistry:
    registry = builtin_registry()
    registry.register("transcript.segment", 2, TranscriptSegmentV2)
    return registry


@given(PAYLOAD_STRATEGIES["transcript.segment"], TRANSCRIPT_V2_STRATEGY)
def test_two_versions_validate_their_own_shape_and_reject_each_other(
    v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    registry = registry_with_v2()
    assert registry.versions("transcript.segment") == [1, 2]
    assert set(registry.validate("transcript.segment", 1, v1)) == {
        "text",
        "speaker",
        "confidence",
        "language",
    }
    assert "words" in registry.validate("transcript.segment", 2, v2)
    with pytest.raises(SchemaValidationError):
        registry.validate("transcript.segment", 1, v2)  # unknown key "words"
    with pytest.raises(SchemaValidationError):
        registry.validate("transcript.segment", 2, v1)  # "words" missing


def test_adding_a_version_leaves_the_old_one_untouched() -> None:
    registry = registry_with_v2()
    assert registry.get_schema("transcript.segment", 1) is TranscriptSegmentV1
    assert registry.get_schema("transcript.segment", 2) is TranscriptSegmentV2
    assert builtin_registry().versions("transcript.segment") == [1]


# -- the entry-point hook ----------------------------------------------------------------


def test_load_registry_picks_up_schemas_from_an_installed_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_schema_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry()
    assert registry.versions("transcript.segment") == [1, 2]
    assert set(registry.keys()) >= BUILTIN_KEYS
    payload = {"text": "hello there", "words": [{"word": "hello", "start_ms": 0, "end_ms": 5}]}
    assert registry.validate("transcript.segment", 2, payload)["words"] == payload["words"]
    with pytest.raises(SchemaValidationError):
        registry.validate("transcript.segment", 2, {"text": "no words"})


def test_without_the_plugin_on_the_path_v2_is_unknown() -> None:
    with pytest.raises(SchemaNotFoundError):
        load_registry().get_schema("transcript.segment", 2)


def test_plugin_that_re_registers_a_builtin_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "from eioku.domain.schemas.scene import SceneV1\n"
        "def register(registry):\n"
        "    registry.register('scene', 1, SceneV1)\n"
    )
    write_schema_plugin(tmp_path, source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SchemaRegistrationError, match="already registered"):
        load_registry()


def test_plugin_that_fails_is_reported_as_a_registration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_schema_plugin(tmp_path, "def register(registry):\n    raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SchemaRegistrationError, match="boom"):
        load_registry()


def test_extra_registrars_run_after_the_entry_points() -> None:
    def register_v2(registry: SchemaRegistry) -> None:
        registry.register("transcript.segment", 2, TranscriptSegmentV2)

    registry = load_registry(extra=[register_v2])
    assert registry.get_schema("transcript.segment", 2) is TranscriptSegmentV2
