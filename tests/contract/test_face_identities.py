"""Library face identities on every engine: storage, matching, and serialised assignment.

Embeddings here are synthetic 128-d vectors: the repository and the matching rules do not
care where they come from (tests/unit/test_stage_faces.py runs the real model).
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pytest

from eioku.domain.errors import Conflict, InvalidInput, NotFound
from eioku.pipeline.stages.faces import EMBEDDING_MODEL, match_identities
from eioku.storage.store import Store

MODEL = EMBEDDING_MODEL


def vector(seed: int) -> npt.NDArray[np.float32]:
    """A random unit vector: two different seeds are about 1.4 apart."""
    values = np.random.default_rng(seed).normal(size=128)
    return (values / np.linalg.norm(values)).astype(np.float32)


def near(base: npt.NDArray[np.float32], seed: int, gap: float = 0.2) -> npt.NDArray[np.float32]:
    """A vector ``gap`` away from ``base`` (another photo of the same person)."""
    step = np.random.default_rng(seed).normal(size=base.size)
    return (base + gap * step / np.linalg.norm(step)).astype(np.float32)


def test_identities_round_trip_their_centroid_exactly_ordered_by_id(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.faces.add("b", vector(2), MODEL, count=3)
        uow.faces.add("a", vector(1), MODEL)
    with store.unit_of_work(write=False) as uow:
        found = uow.faces.all(MODEL)
    assert [(i.cluster_id, i.member_count) for i in found] == [("a", 1), ("b", 3)]
    assert found[0].centroid.dtype == np.float32
    np.testing.assert_array_equal(found[0].centroid, vector(1))
    np.testing.assert_array_equal(found[1].centroid, vector(2))


def test_identities_of_another_model_are_not_listed(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.faces.add("mine", vector(1), MODEL)
        uow.faces.add("theirs", vector(2), "other-model")
    with store.unit_of_work(write=False) as uow:
        assert [i.cluster_id for i in uow.faces.all(MODEL)] == ["mine"]
        assert [i.cluster_id for i in uow.faces.all("other-model")] == ["theirs"]
        assert uow.faces.all("unknown") == []


def test_update_replaces_centroid_and_count(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.faces.add("a", vector(1), MODEL)
    with store.unit_of_work() as uow:
        uow.faces.update("a", vector(5), 7)
    with store.unit_of_work(write=False) as uow:
        (identity,) = uow.faces.all(MODEL)
    assert identity.member_count == 7
    np.testing.assert_array_equal(identity.centroid, vector(5))


def test_updating_an_unknown_identity_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound), store.unit_of_work() as uow:
        uow.faces.update("missing", vector(1), 1)


def test_adding_an_existing_cluster_id_is_a_conflict(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.faces.add("a", vector(1), MODEL)
    with pytest.raises(Conflict), store.unit_of_work() as uow:
        uow.faces.add("a", vector(2), MODEL)


@pytest.mark.parametrize(
    "centroid",
    [np.zeros((2, 64), np.float32), np.full(128, np.nan, np.float32), np.zeros(0, np.float32)],
    ids=["2-d", "nan", "empty"],
)
def test_a_centroid_must_be_a_finite_vector(
    store: Store, centroid: npt.NDArray[np.float32]
) -> None:
    with pytest.raises(InvalidInput), store.unit_of_work() as uow:
        uow.faces.add("a", centroid, MODEL)


def test_an_identity_needs_at_least_one_member(store: Store) -> None:
    with pytest.raises(InvalidInput), store.unit_of_work() as uow:
        uow.faces.add("a", vector(1), MODEL, count=0)


def test_a_group_near_an_identity_joins_it_and_moves_its_running_mean(store: Store) -> None:
    person = vector(1)
    with store.unit_of_work() as uow:
        uow.faces.add("known", person, MODEL, count=2)
    group = np.stack([near(person, 10), near(person, 11)])
    with store.unit_of_work() as uow:
        assert match_identities(uow.faces, [group], MODEL, 0.6) == ["known"]
    with store.unit_of_work(write=False) as uow:
        (identity,) = uow.faces.all(MODEL)
    assert identity.member_count == 4
    expected = (person.astype(np.float64) * 2 + group.sum(axis=0)) / 4
    np.testing.assert_allclose(identity.centroid, expected, rtol=1e-6)


def test_a_far_group_becomes_a_new_identity_and_old_ids_stay(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.faces.add("known", vector(1), MODEL)
        uow.faces.add("other-model", vector(2), "other-model")
    stranger, lookalike = np.stack([vector(3)]), np.stack([near(vector(2), 12)])
    with store.unit_of_work() as uow:
        made = match_identities(uow.faces, [stranger, lookalike], MODEL, 0.6)
    assert len(set(made)) == 2
    assert not {"known", "other-model"} & set(made)
    with store.unit_of_work(write=False) as uow:
        ids = {i.cluster_id for i in uow.faces.all(MODEL)}
    assert ids == {"known", *made}


def test_groups_of_one_person_in_one_call_share_the_new_identity(store: Store) -> None:
    person = vector(4)
    big, small = np.stack([near(person, s, 0.1) for s in range(3)]), np.stack([person])
    with store.unit_of_work() as uow:
        first, second = match_identities(uow.faces, [small, big], MODEL, 0.6)
    assert first == second
    with store.unit_of_work(write=False) as uow:
        (identity,) = uow.faces.all(MODEL)
    assert identity.member_count == 4


def test_concurrent_assigners_of_a_new_face_create_one_identity(store: Store) -> None:
    """The first assigner holds its transaction open after adding the identity; the second
    must wait for the lock and then see it, instead of creating a twin."""
    person = vector(7)
    added, results = threading.Event(), {}

    def first() -> None:
        with store.unit_of_work() as uow:
            results["first"] = match_identities(uow.faces, [np.stack([person])], MODEL, 0.6)
            added.set()
            threading.Event().wait(0.3)  # keep the transaction (and the lock) a while

    def second() -> None:
        added.wait()
        with store.unit_of_work() as uow:
            group = np.stack([near(person, 3)])
            results["second"] = match_identities(uow.faces, [group], MODEL, 0.6)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results["first"] == results["second"]
    with store.unit_of_work(write=False) as uow:
        assert len(uow.faces.all(MODEL)) == 1
