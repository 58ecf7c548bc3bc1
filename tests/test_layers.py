"""Each receiver's layer of the composite, from what its own RTCP says; and the move between layers, which
happens at a keyframe of the layer moved to."""

from __future__ import annotations

from fractions import Fraction

import av

from hearing_server.media.layers import LOW, MAIN, STILL, UP_AFTER, LayerChooser, LayerRates
from hearing_server.media.tracks import CompositeVideoTrack


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rates_at(clock: Clock, main_bps: int = 600_000, low_bps: int = 250_000) -> LayerRates:
    rates = LayerRates()
    # two seconds of frames at 15 fps
    for frame in range(30):
        at = clock.now - 2.0 + frame / 15
        rates.sent(MAIN, at, [main_bps // 8 // 15])
        rates.sent(LOW, at, [low_bps // 8 // 15])
    return rates


def run(chooser: LayerChooser, clock: Clock, seconds: float, step: float = 0.25, reports: bool = True) -> list[str]:
    """Step the clock; the receiver sends a receiver report every second, saying what it said last."""
    layers = []
    for count in range(int(seconds / step)):
        clock.now += step
        if reports and count % 4 == 3:
            chooser.receiver_report(int(chooser.report.fraction_lost * 256))
        layers.append(chooser.choose())
    return layers


def test_a_clean_link_stays_on_the_main_layer():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    chooser.remb(2_000_000)
    chooser.receiver_report(0)
    assert set(run(chooser, clock, 30)) == {MAIN}


def test_a_low_remb_alone_is_not_a_full_link_when_the_picture_needs_little():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock, main_bps=100_000), clock)  # a plain picture: 100 kbit/s sent
    chooser.remb(150_000)  # Chrome's REMB follows what arrives: 1.5 × the incoming rate
    assert set(run(chooser, clock, 10)) == {MAIN}


def test_losses_move_a_receiver_down_after_two_seconds_one_layer_at_a_time():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    chooser.receiver_report(64)  # a quarter lost
    layers = run(chooser, clock, 1.5)
    assert set(layers) == {MAIN}  # one bad report is not yet a bad link
    layers = run(chooser, clock, 1.0)
    assert layers[-1] == LOW
    chooser.receiver_report(64)  # the low layer is too much as well
    assert run(chooser, clock, 2.5)[-1] == STILL
    chooser.receiver_report(128)
    assert run(chooser, clock, 5)[-1] == STILL  # nothing below it


def test_a_remb_below_what_the_layer_sends_means_the_link_is_full():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    chooser.remb(250_000)  # the main layer sends 600 kbit/s
    assert run(chooser, clock, 2.5)[-1] == LOW


def test_nacks_count_against_the_layers_own_packet_rate():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    layers = []
    for _ in range(16):
        clock.now += 0.25
        chooser.nack(6)  # 24 a second, against the 75 packets a second the main layer sends
        layers.append(chooser.choose())
    assert layers[:9] == [MAIN] * 9 and layers[-1] == LOW, layers


def test_back_up_by_trying_after_a_clean_stretch_and_a_failed_try_waits_longer():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    chooser.receiver_report(64)
    run(chooser, clock, 2.5)
    assert chooser.layer == LOW
    chooser.receiver_report(0)
    layers = run(chooser, clock, UP_AFTER + 0.5)
    assert layers[-1] == MAIN and layers[:int((UP_AFTER - 0.5) / 0.25)] == [LOW] * int((UP_AFTER - 0.5) / 0.25)
    # the try fails: down again after a second (not the 2 s a layer held for long gets), and the next try
    # waits twice as long
    chooser.receiver_report(64)
    layers = run(chooser, clock, 1.5)
    assert layers[1] == MAIN and layers[-1] == LOW
    chooser.receiver_report(0)
    layers = run(chooser, clock, UP_AFTER + 0.5)
    assert set(layers) == {LOW}
    layers = run(chooser, clock, UP_AFTER)
    assert layers[-1] == MAIN


def packet(keyframe: bool, size: int = 100) -> av.Packet:
    p = av.Packet(bytes(size))
    p.is_keyframe = keyframe
    p.pts, p.time_base = 0, Fraction(1, 90000)
    return p


def test_a_receiver_moves_at_the_keyframe_of_the_layer_it_moves_to():
    track = CompositeVideoTrack("p1")
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    track.chooser = chooser
    moves: list[str] = []
    track.on_layer = moves.append
    frame = av.VideoFrame(16, 16, "yuv420p")
    track.deliver([packet(True, 1000)], frame, None)  # its first picture: a main keyframe
    chooser.layer = LOW  # its link says: the low layer
    track.deliver([packet(False, 1001)], frame, None)  # the mixer learns it at this frame...
    assert track.wants_low and track.needs_low_keyframe  # ...and encodes the low layer from the next
    assert track.layer == MAIN and moves == []  # no low keyframe yet: still the main layer
    track.deliver([packet(False, 1002)], frame, [packet(False, 501)])
    assert track.layer == MAIN and moves == []  # no low keyframe yet: still the main layer
    track.deliver([packet(False, 1002)], frame, [packet(True, 502)])
    assert track.layer == LOW and moves == [LOW] and not track.needs_low_keyframe
    chooser.layer = STILL
    track.deliver([packet(False, 1003)], frame, [packet(False, 503)])  # from the low layer, still only keyframes
    track.deliver([packet(False, 1004)], frame, [packet(True, 504)])
    chooser.layer = MAIN
    track.deliver([packet(False, 1005)], frame, [packet(False, 505)])
    track.deliver([packet(True, 1006)], frame, [packet(False, 506)])
    sizes = []
    while not track._queue.empty():
        sizes.append(track._queue.get_nowait().size)
    assert sizes == [1000, 1001, 1002, 502, 503, 504, 1006], sizes
    assert moves == [LOW, STILL, MAIN]


def test_a_receiver_whose_reports_stop_arriving_is_moved_down():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    chooser.receiver_report(0)
    assert set(run(chooser, clock, 3.0, reports=False)) == {MAIN}  # quiet for 3 s: not yet
    layers = run(chooser, clock, 3.0, reports=False)
    assert layers[-1] == LOW  # silent past 3.5 s, then 2 s of that: down
    assert run(chooser, clock, 6.0, reports=False)[-1] == STILL  # and still nothing heard


def test_a_receiver_never_heard_from_is_not_judged_silent():
    clock = Clock()
    chooser = LayerChooser(rates_at(clock), clock)
    assert set(run(chooser, clock, 10.0, reports=False)) == {MAIN}
