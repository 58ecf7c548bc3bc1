"""The shared encoder's keyframes: a receiver without a picture gets one (several share one); a receiver that
has started and loses packets does not change the stream everyone, the record included, receives."""

from __future__ import annotations

from hearing_server.media.keyframes import KeyframeRequests

GOP = 30  # the encoder's own cadence in these tests: every 30th frame


def run(requests: KeyframeRequests, frames: int, asks: dict[int, list[bool]], start: int = 0,
        urgent: frozenset[int] | set[int] = frozenset()) -> list[int]:
    """Drive `frames` frames through the gate like the mixer does; an encoder with a fixed GOP. Returns the
    frames made keyframes."""
    keyframes = []
    since = 0
    for index in range(start, start + frames):
        for first_picture in asks.get(index, []):
            requests.ask(first_picture)
        if index in urgent:
            requests.ask(first_picture=True, now=True)  # the recording starts or resumes
        forced = requests.due()
        keyframe = forced or since + 1 >= GOP or index == 0
        requests.encoded(keyframe)
        since = 0 if keyframe else since + 1
        if keyframe:
            keyframes.append(index)
    return keyframes


def test_the_first_frame_is_a_keyframe_and_the_cadence_goes_on_alone():
    requests = KeyframeRequests(min_gap=15)
    assert run(requests, 91, {}) == [0, 30, 60, 90]
    assert (requests.counts.forced, requests.counts.periodic, requests.counts.declined) == (1, 3, 0)


def test_a_receiver_that_has_started_never_forces_one():
    requests = KeyframeRequests(min_gap=15)
    # a weak phone asking with nearly every frame, as one on a 300 kbit/s link did
    asks = {i: [False] for i in range(1, 91)}
    assert run(requests, 91, asks) == [0, 30, 60, 90]
    assert requests.counts.declined == 90 and requests.counts.forced == 1


def test_a_new_receiver_gets_one_no_sooner_than_min_gap_after_the_last():
    requests = KeyframeRequests(min_gap=15)
    # joins 5 frames after the periodic keyframe at 30: forced at 45, and the cadence counts from there;
    # the next joiner, 5 frames after that, waits until 60
    keyframes = run(requests, 91, {35: [True], 50: [True]})
    assert keyframes == [0, 30, 45, 60, 90], keyframes
    assert requests.counts.forced == 3 and requests.counts.periodic == 2


def test_joiners_at_once_share_one_keyframe():
    requests = KeyframeRequests(min_gap=15)
    keyframes = run(requests, 59, {40: [True, True, True], 41: [True]})
    assert keyframes == [0, 30, 45], keyframes
    assert requests.counts.forced == 2  # the first frame, and one for the four joiners


def test_a_joiner_waiting_is_served_by_a_periodic_keyframe():
    requests = KeyframeRequests(min_gap=15)
    # joins 10 frames after the first keyframe: forced min_gap after it, and the cadence counts from there
    keyframes = run(requests, 61, {10: [True]})
    assert keyframes == [0, 15, 45], keyframes  # forced at 15 (min_gap after 0), the cadence from there
    requests = KeyframeRequests(min_gap=15)
    keyframes = run(requests, 61, {28: [True]}, start=0)
    assert keyframes == [0, 28, 58], keyframes
    requests = KeyframeRequests(min_gap=20)
    keyframes = run(requests, 61, {29: [True]}, start=0)
    assert keyframes == [0, 29, 59] or keyframes == [0, 30, 60], keyframes


def test_a_pending_request_is_dropped_once_a_periodic_keyframe_came():
    requests = KeyframeRequests(min_gap=40)  # longer than the cadence: the periodic one comes first
    keyframes = run(requests, 61, {5: [True]})
    assert keyframes == [0, 30, 60], keyframes
    assert requests.counts.forced == 1  # only the very first frame


def test_the_recording_resuming_gets_its_keyframe_on_the_next_frame():
    requests = KeyframeRequests(min_gap=15)
    keyframes = run(requests, 40, {})
    assert keyframes == [0, 30]
    requests = KeyframeRequests(min_gap=15)
    keyframes = run(requests, 40, {}, urgent={33})  # 3 frames after a keyframe: no waiting for the gap
    assert keyframes == [0, 30, 33], keyframes
