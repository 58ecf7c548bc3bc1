"""The audio mixer's arithmetic, exactly: the full mix the record keeps and each listener's mix-minus, with a
participant who has several microphones (the courtroom PC), one who is muted, one who has none, sound loud
enough to clip, and a recess. Each source plays a constant of its own, so every sum can be read back."""

from __future__ import annotations

import numpy as np

from hearing_server.media.audio_mixer import BLOCK, AudioMixer, AudioSource


def constant(value: int) -> np.ndarray:
    return np.full(BLOCK, value, dtype=np.int16)


def mixer_with(sources: dict[str, tuple[str, int, bool]]) -> AudioMixer:
    """key -> (participant, value, muted); each source gets one block of its constant."""
    mixer = AudioMixer()
    for key, (participant, value, muted) in sources.items():
        source = AudioSource(key, participant, muted=muted)
        source.push(constant(value), timestamp=0)
        mixer.sources[key] = source
    return mixer


def only(block: np.ndarray) -> int:
    """The block's one value (each test block is constant)."""
    assert len(block) == BLOCK and (block == block[0]).all(), block
    return int(block[0])


SOURCES = {
    "ana:mic": ("ana", 1, False),
    "ben:mic": ("ben", 10, False),
    "court:bench": ("court", 100, False),  # the courtroom PC: two microphones, one participant
    "court:witness": ("court", 1000, False),
    "max:mic": ("max", 10000, True),  # muted by the court
}


def test_the_full_mix_and_each_mix_minus():
    block = mixer_with(SOURCES).mix(["ana", "ben", "court", "max", "observer"])
    assert only(block.full) == 1 + 10 + 100 + 1000  # the muted microphone is not in the record
    assert only(block.minus["ana"]) == 10 + 100 + 1000  # everyone but herself
    assert only(block.minus["ben"]) == 1 + 100 + 1000
    assert only(block.minus["court"]) == 1 + 10  # neither of its own microphones comes back to the courtroom
    assert only(block.minus["max"]) == 1111  # muted: hears everybody, and nothing of him is in it to remove
    assert only(block.minus["observer"]) == 1111  # no microphone: the full mix
    # Voice activity sees every microphone, the muted one included; what each put in, only if they did.
    assert set(block.levels) == set(SOURCES)
    assert block.levels["max:mic"] > block.levels["ana:mic"]
    assert set(block.own_dbfs) == {"ana", "ben", "court"}
    assert block.own_dbfs["court"] > block.own_dbfs["ben"] > block.own_dbfs["ana"]


def test_a_mix_minus_is_taken_from_the_sum_before_clipping():
    block = mixer_with({"a": ("ana", 30000, False), "b": ("ben", 30000, False), "c": ("cho", -200, False)}) \
        .mix(["ana", "ben", "cho"])
    assert only(block.full) == 32767  # the record clips
    assert only(block.minus["ana"]) == 30000 - 200  # but what Ana hears is Ben and Cho, undistorted
    assert only(block.minus["ben"]) == 30000 - 200
    assert only(block.minus["cho"]) == 32767  # 60000 clipped


def test_unmuting_and_a_recess():
    mixer = mixer_with(SOURCES)
    mixer.sources["max:mic"].muted = False
    block = mixer.mix(["ana", "max"])
    assert only(block.full) == 11111 and only(block.minus["max"]) == 1111 and only(block.minus["ana"]) == 11110
    recess = mixer_with(SOURCES)
    recess.silenced = True
    block = recess.mix(["ana", "court"])
    assert only(block.full) == 0 and only(block.minus["ana"]) == 0 and only(block.minus["court"]) == 0
    # A source that left is gone from the next block.
    mixer = mixer_with(SOURCES)
    mixer.remove_source("ben:mic")
    assert only(mixer.mix(["ana"]).minus["ana"]) == 1100


def test_the_record_clips_at_the_negative_rail_too():
    block = mixer_with({"a": ("ana", -30000, False), "b": ("ben", -30000, False)}).mix(["ana", "ben"])
    assert only(block.full) == -32768
    assert only(block.minus["ana"]) == -30000 and only(block.minus["ben"]) == -30000
    assert block.full.dtype == np.int16 and block.minus["ana"].dtype == np.int16


def test_a_muted_microphone_of_a_participant_with_several_comes_back_as_nothing():
    """The courtroom's first microphone muted, its second live: the courtroom hears everyone but its live
    microphone, and what it put in is measured from that one alone."""
    sources = {"court:bench": ("court", 100, True), "court:witness": ("court", 1000, False),
               "ana:mic": ("ana", 1, False)}
    block = mixer_with(sources).mix(["court", "ana"])
    assert only(block.full) == 1001
    assert only(block.minus["court"]) == 1 and only(block.minus["ana"]) == 1000
    alone = mixer_with({"court:witness": ("court", 1000, False)}).mix(["court"])
    assert block.own_dbfs["court"] == alone.own_dbfs["court"]


def test_removing_a_source_that_is_not_there_changes_nothing():
    mixer = mixer_with(SOURCES)
    mixer.remove_source("nobody:mic")
    assert set(mixer.sources) == set(SOURCES)
