"""The envelope: a participant's words sealed under their data key (itself wrapped under the
master key) open again only for that participant and field, not after tampering, and not
after the key is shredded — with an error that says which."""

import base64
import os
import sqlite3
import stat

import pytest

from services.contracts.sealed import SealedValue
from services.privacy.data_key_store import SqliteDataKeys
from services.privacy.errors import KeyShredded, MasterKeyMissing, SealBroken, SealedValueUnavailable, UnknownDataKey
from services.privacy.master_key_file import MasterKeyFile
from services.privacy.sealing import Availability, OpenedText, goal_field, open_for_display, open_sealed, seal

WORDS = "Walk to the allotment with my brother on Sundays"


@pytest.fixture
def keys(tmp_path) -> SqliteDataKeys:
    return SqliteDataKeys(tmp_path / "data-keys.db", MasterKeyFile.load(tmp_path / "master.key", generate=True))


def test_sealed_words_open_again_for_their_participant_and_field(keys):
    sealed = seal(keys, "p-1", goal_field("g1"), WORDS)
    assert open_sealed(keys, "p-1", goal_field("g1"), sealed) == WORDS
    dumped = sealed.model_dump_json()
    assert "allotment" not in dumped and base64.b64encode(WORDS.encode()).decode()[:12] not in dumped
    assert sealed.algorithm == "AES-256-GCM" and sealed.key_id.startswith("dk-")
    assert SealedValue.model_validate_json(dumped) == sealed  # survives the trip through an event
    again = seal(keys, "p-1", goal_field("g1"), WORDS)
    assert again.key_id == sealed.key_id and again.ciphertext != sealed.ciphertext, "a fresh nonce each time"


def test_another_participant_or_field_cannot_open_them(keys):
    sealed = seal(keys, "p-1", goal_field("g1"), WORDS)
    seal(keys, "p-2", goal_field("g1"), "something else")
    with pytest.raises(UnknownDataKey):  # the key store holds that key for p-1 only
        open_sealed(keys, "p-2", goal_field("g1"), sealed)
    with pytest.raises(SealBroken):  # moved to another goal of the same participant
        open_sealed(keys, "p-1", goal_field("g2"), sealed)

    class HandsOutAnyKey:  # even a key store that gave p-1's key to anyone: the associated data refuses
        def data_key(self, key_id, participant_id):
            return keys.data_key(key_id, "p-1")

    with pytest.raises(SealBroken):
        open_sealed(HandsOutAnyKey(), "p-2", goal_field("g1"), sealed)


def test_tampering_is_detected(keys):
    sealed = seal(keys, "p-1", goal_field("g1"), WORDS)
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[3] ^= 0x01
    flipped = sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(raw)).decode()})
    other_nonce = sealed.model_copy(update={"nonce": base64.b64encode(os.urandom(12)).decode()})
    truncated = sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(raw[:-1])).decode()})
    for bad in (flipped, other_nonce, truncated):
        with pytest.raises(SealBroken):
            open_sealed(keys, "p-1", goal_field("g1"), bad)
    assert open_for_display(keys, "p-1", goal_field("g1"), flipped).availability is Availability.UNAVAILABLE


def test_a_shredded_key_says_so_and_leaves_other_participants_alone(keys):
    mine = seal(keys, "p-1", goal_field("g1"), WORDS)
    theirs = seal(keys, "p-2", goal_field("g1"), "Sleep through the night")
    shredded = keys.shred("p-1")
    assert [k.key_id for k in shredded] == [mine.key_id]
    with pytest.raises(KeyShredded) as caught:
        open_sealed(keys, "p-1", goal_field("g1"), mine)
    assert caught.value.key_id == mine.key_id and isinstance(caught.value, SealedValueUnavailable)
    assert open_for_display(keys, "p-1", goal_field("g1"), mine) == OpenedText(None, Availability.SHREDDED)
    assert open_sealed(keys, "p-2", goal_field("g1"), theirs) == "Sleep through the night"
    assert keys.shred("p-1") == shredded, "shredding again changes nothing"
    later = seal(keys, "p-1", goal_field("g9"), "a later goal")  # a later seal gets a new key
    assert later.key_id != mine.key_id and open_sealed(keys, "p-1", goal_field("g9"), later) == "a later goal"
    with pytest.raises(KeyShredded):
        open_sealed(keys, "p-1", goal_field("g1"), mine)


def test_the_wrapped_key_is_overwritten_in_the_file_when_shredded(tmp_path, keys):
    seal(keys, "p-1", goal_field("g1"), WORDS)
    with sqlite3.connect(keys.path) as db:
        wrapped = db.execute("SELECT wrapped FROM data_keys WHERE participant_id = 'p-1'").fetchone()[0]
    material = keys.data_key_for("p-1").material
    file_bytes = keys.path.read_bytes()
    assert wrapped in file_bytes and material not in file_bytes, "only the wrapped key is stored"
    keys.shred("p-1")
    assert wrapped not in keys.path.read_bytes()


def test_the_master_key_is_generated_once_privately_and_required_in_production(tmp_path):
    path = tmp_path / "keys" / "master.key"
    with pytest.raises(MasterKeyMissing):
        MasterKeyFile.load(path, generate=False)
    first = MasterKeyFile.load(path, generate=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKeyFile.load(path, generate=True).key_id == first.key_id
    assert MasterKeyFile.load(path, generate=False).key_id == first.key_id
    path.chmod(0o644)
    with pytest.raises(MasterKeyMissing, match="readable by others"):
        MasterKeyFile.load(path, generate=False)


def test_data_keys_do_not_open_under_another_master_key(tmp_path, keys):
    sealed = seal(keys, "p-1", goal_field("g1"), WORDS)
    elsewhere = SqliteDataKeys(keys.path, MasterKeyFile.load(tmp_path / "other.key", generate=True))
    with pytest.raises(UnknownDataKey, match="master key"):
        open_sealed(elsewhere, "p-1", goal_field("g1"), sealed)
