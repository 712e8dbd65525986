"""The local key store shared by a deployment's service processes: processes sealing for the
same new participants at once agree on one data key each, and a key shredded by one process
is gone for the others at once (nothing cached)."""

import multiprocessing
from pathlib import Path

import pytest

from services.contracts.sealed import SealedValue
from services.privacy.data_key_store import SqliteDataKeys
from services.privacy.errors import KeyShredded
from services.privacy.master_key_file import MasterKeyFile
from services.privacy.sealing import goal_field, open_sealed, seal

pytestmark = pytest.mark.integration

PARTICIPANTS = [f"p-{n}" for n in range(25)]


def _keys(key_dir: Path) -> SqliteDataKeys:
    return SqliteDataKeys(key_dir / "data-keys.db", MasterKeyFile.load(key_dir / "master.key", generate=True))


def _seal_everyone(key_dir: str) -> dict[str, tuple[str, dict]]:
    keys = _keys(Path(key_dir))
    return {p: (s.key_id, s.model_dump()) for p in PARTICIPANTS
            for s in [seal(keys, p, goal_field("g1"), f"words of {p}")]}


def test_processes_starting_together_share_one_master_key_and_one_data_key_per_participant(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_seal_everyone, [str(tmp_path)] * 4)
    for p in PARTICIPANTS:
        assert len({r[p][0] for r in results}) == 1, f"{p} got more than one data key"
    keys = _keys(tmp_path)  # and this process opens what each of them sealed
    for r in results:
        for p, (_, sealed) in r.items():
            assert open_sealed(keys, p, goal_field("g1"), SealedValue.model_validate(sealed)) == f"words of {p}"


def _shred(key_dir: str, participant_id: str) -> list[str]:
    return [k.key_id for k in _keys(Path(key_dir)).shred(participant_id)]


def test_a_key_shredded_in_another_process_is_gone_here_at_once(tmp_path):
    keys = _keys(tmp_path)
    sealed = seal(keys, "p-1", goal_field("g1"), "words")
    assert open_sealed(keys, "p-1", goal_field("g1"), sealed) == "words"
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_shred, (str(tmp_path), "p-1")) == [sealed.key_id]
    with pytest.raises(KeyShredded):
        open_sealed(keys, "p-1", goal_field("g1"), sealed)
