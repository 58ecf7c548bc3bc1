"""The hearing mixer (the MCU of DESIGN.md): one composite, encoded once, sent to everyone and recorded.

Video: every 1/fps seconds of the hearing clock the latest picture of each camera is composited and encoded
in a worker thread; the same packets go to every participant's sender and to any packet listener (the
recorder). Audio: every 20 ms the microphones are mixed on the event loop; each listener gets a mix-minus,
encoded in the hearing's audio thread (never behind a video frame in the video thread): one encode of the
full mix shared by every listener who is quiet, and one of their own for each who is speaking.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import av
import numpy as np

from ..config import MediaSettings
from .audio_mixer import BLOCK, RATE, AudioMixer, AudioSource, MixedBlock
from .compositor import Caption, Planes, Tile, VideoCompositor, Wording, to_i420
from .encoder import CompositeEncoder
from .keyframes import KeyframeCounts, KeyframeRequests
from .layers import LOW, MAIN, STILL, LayerRates
from .mix_minus import OpusStream, SharedMixPlan
from .tracks import CompositeVideoTrack, IncomingVideo, MixMinusAudioTrack

log = logging.getLogger(__name__)

SPEAKING_DBFS = -45.0  # above this a 20 ms block counts as voice activity
# Who speaks stays lit this long after their last loud block: the gaps between words do not flicker the
# picture's frame or flood the pages with `speaking` messages.
SPEAKING_HOLD_BLOCKS = 40  # 0.8 s


@dataclass
class Seat:
    """What the mixer needs to draw one camera: who it is and where the picture comes from."""

    key: str
    participant_id: str
    name: str
    role: str
    video: IncomingVideo | None = None
    placeholder: str = "camera off"
    muted: bool = False


VideoListener = Callable[[list[av.Packet], int], None]
AudioListener = Callable[[MixedBlock, int], None]


class HearingMixer:
    def __init__(self, settings: MediaSettings, case_number: str, wording: Wording | None = None,
                 clock: Callable[[], str] | None = None) -> None:
        self.settings = settings
        self.case_number = case_number
        self.compositor = VideoCompositor(settings.width, settings.height, wording)
        # The picture's clock, already formatted: the court's local time (hearing_server.i18n.court_clock).
        self.clock = clock or (lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
        self.audio = AudioMixer()
        self.seats: list[Seat] = []
        self.recording = False
        self.banner = ""
        self._video_sinks: dict[str, CompositeVideoTrack] = {}
        self._audio_sinks: dict[str, MixMinusAudioTrack] = {}
        self.video_listeners: list[VideoListener] = []
        self.audio_listeners: list[AudioListener] = []
        self._keyframes = KeyframeRequests(min_gap=settings.fps)  # at most one forced IDR a second
        # The lower layer (see layers): its own encoder, made when a receiver first needs it.
        self._low_encoder: CompositeEncoder | None = None
        self._low_keyframes = KeyframeRequests(min_gap=settings.fps)
        self.low_frames_encoded = 0
        # What each layer really sends: receivers' links are judged by it. The still layer sends one keyframe
        # an interval, so it is measured over two.
        self.layer_rates = LayerRates(still_window=2 * settings.keyframe_interval_seconds)
        self._tasks: list[asyncio.Task] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._audio_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._encoder: CompositeEncoder | None = None
        self.started_at = 0.0  # monotonic start of the hearing clock
        self.frames_encoded = 0
        self.speaking: set[str] = set()  # seat keys lit in the picture
        self.speakers: list[str] = []  # participant ids speaking now (held), sorted
        self._last_loud: dict[str, int] = {}  # participant id -> block number of their last loud block
        self._blocks = 0
        # Told (on the event loop) whenever `speakers` changes: the pages show who is speaking.
        self.on_speakers: Callable[[list[str]], None] | None = None
        # Quiet listeners share one encode of the full mix (see mix_minus).
        self._shared_mix = SharedMixPlan()
        self._shared_voice = OpusStream(settings.voice_bitrate)
        self._shared_failures = 0
        # The worker thread's: the last frame drawn of each seat and its planes.
        self._pictures: dict[str, tuple[av.VideoFrame, Planes]] = {}

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self, opened_at: float | None = None) -> None:
        """Start the hearing clock. `opened_at` (UTC seconds) puts it where the hearing opened, so a server
        that restarts mid-hearing carries on the same timeline instead of starting again at zero."""
        if self._tasks:
            return
        s = self.settings
        self._encoder = CompositeEncoder(s.width, s.height, s.fps, s.video_bitrate, s.keyframe_interval_seconds,
                                         s.x264_preset, s.encoder_threads)
        # One thread per hearing keeps its frames in order; two hearings encode in parallel.
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixer")
        self._audio_executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixer-audio")
        elapsed = max(0.0, time.time() - opened_at) if opened_at else 0.0
        self.started_at = time.monotonic() - elapsed
        self._tasks = [asyncio.create_task(self._video_loop(), name="mixer-video"),
                       asyncio.create_task(self._audio_loop(), name="mixer-audio")]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._executor is not None:
            executor, self._executor = self._executor, None
            if self._encoder is not None:
                await asyncio.get_running_loop().run_in_executor(executor, self._encoder.close)
            if self._low_encoder is not None:
                await asyncio.get_running_loop().run_in_executor(executor, self._low_encoder.close)
                self._low_encoder = None
            executor.shutdown(wait=False)
        if self._audio_executor is not None:
            audio_executor, self._audio_executor = self._audio_executor, None
            audio_executor.shutdown(wait=False)
        for sink in list(self._video_sinks.values()) + list(self._audio_sinks.values()):
            sink.stop()
        self._video_sinks.clear()
        self._audio_sinks.clear()

    def media_offset(self) -> float:
        """Seconds on the hearing clock."""
        return time.monotonic() - self.started_at if self.started_at else 0.0

    # -- who is heard and seen ----------------------------------------------------------------------

    def add_audio(self, source: AudioSource) -> None:
        self.audio.sources[source.key] = source

    def remove_audio(self, key: str) -> None:
        self.audio.remove_source(key)

    def set_muted(self, participant_id: str, muted: bool) -> None:
        for source in self.audio.sources.values():
            if source.participant_id == participant_id:
                source.muted = muted

    def attach(self, participant_id: str, video: CompositeVideoTrack | None,
               audio: MixMinusAudioTrack | None) -> None:
        """Start sending the hearing to a participant (only ever called once the court admitted them)."""
        if video is not None:
            self._video_sinks[participant_id] = video
            self._keyframes.ask(first_picture=video.needs_first_keyframe)
        if audio is not None:
            self._audio_sinks[participant_id] = audio

    def detach(self, participant_id: str) -> None:
        self._video_sinks.pop(participant_id, None)
        self._audio_sinks.pop(participant_id, None)

    def is_attached(self, participant_id: str) -> bool:
        return participant_id in self._video_sinks or participant_id in self._audio_sinks

    def request_keyframe(self, participant_id: str) -> None:
        """A receiver's PLI or FIR: a keyframe only for one without a picture yet (see keyframes)."""
        sink = self._video_sinks.get(participant_id)
        self._keyframes.ask(first_picture=sink is not None and sink.needs_first_keyframe)

    def request_first_keyframe(self) -> None:
        """For the recording, which starts or resumes now and needs a keyframe to start its segment on: on the
        next frame, or the frames before it would be missing from the record."""
        self._keyframes.ask(first_picture=True, now=True)

    @property
    def keyframe_counts(self) -> KeyframeCounts:
        return self._keyframes.counts

    # -- the clock ----------------------------------------------------------------------------------

    async def _video_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.settings.fps
        # First frame on the next whole tick of the hearing clock.
        due = self.started_at + (int((time.monotonic() - self.started_at) / interval) + 1) * interval
        while True:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            pts = int(round((due - self.started_at) * 90000))
            tiles = self._tiles()
            caption = Caption(self.case_number, self.clock(), self.recording, self.banner)
            keyframe = self._keyframes.due()
            sinks = list(self._video_sinks.values())
            low = self.settings.low_layer_bitrate > 0 and any(sink.wants_low for sink in sinks)
            # A receiver on the still layer sees only the low layer's keyframes: while one is, they come
            # once a second (the low layer's min_gap) rather than at the cadence.
            if low and any(sink.needs_low_keyframe or sink.layer == STILL for sink in sinks):
                self._low_keyframes.ask(first_picture=True)
            low_keyframe = low and self._low_keyframes.due()
            low_packets: list[av.Packet] | None = None
            try:
                assert self._executor is not None
                packets, frame, low_packets = await loop.run_in_executor(
                    self._executor, self._render, tiles, caption, pts, keyframe, low, low_keyframe)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("composite frame failed; the next one will be tried")
                packets, frame = [], None
            self._keyframes.encoded(any(packet.is_keyframe for packet in packets))
            now = time.monotonic()
            self.layer_rates.sent(MAIN, now, [packet.size for packet in packets])
            if low_packets is not None:
                self.low_frames_encoded += 1
                self._low_keyframes.encoded(any(packet.is_keyframe for packet in low_packets))
                self.layer_rates.sent(LOW, now, [packet.size for packet in low_packets])
                self.layer_rates.sent(STILL, now, [packet.size for packet in low_packets if packet.is_keyframe])
            if frame is not None:
                self.frames_encoded += 1
                for sink in sinks:
                    sink.deliver(packets, frame, low_packets)
                for listener in list(self.video_listeners):
                    listener(packets, pts)
            due += interval
            behind = time.monotonic() - due
            if behind > 1.0:
                # Overloaded: skip ahead rather than burst; the pts gap shows the skipped time honestly.
                log.warning("mixer is %.1f s behind the hearing clock; skipping frames", behind)
                due = time.monotonic()

    def _render(self, tiles: list[tuple[Seat, av.VideoFrame | None]], caption: Caption, pts: int,
                keyframe: bool, low: bool = False,
                low_keyframe: bool = False) -> tuple[list[av.Packet], av.VideoFrame, list[av.Packet] | None]:
        """In the worker thread: the cameras' planes (yuv420p, no colour conversion) → the composite, drawn
        in I420 straight into the frame → x264."""
        pictures: dict[str, tuple[av.VideoFrame, Planes]] = {}
        drawn = []
        for seat, frame in tiles:
            planes = None
            if frame is not None:
                cached = self._pictures.get(seat.key)
                # A camera slower than the mixer is drawn from the same frame again: convert it once.
                planes = cached[1] if cached is not None and cached[0] is frame else to_i420(frame)
                pictures[seat.key] = (frame, planes)
            drawn.append(Tile(seat.key, seat.name, seat.role, planes, seat.placeholder, seat.muted,
                              seat.key in self.speaking, poor=seat.video is not None and seat.video.damaged))
        self._pictures = pictures
        assert self._encoder is not None
        frame = self._encoder.frame()
        self.compositor.compose_into(to_i420(frame), drawn, caption)  # straight into the frame x264 gets
        packets, frame = self._encoder.encode(frame, pts, keyframe)
        if not low:
            if self._low_encoder is not None:  # nobody needs it any more: its x264 goes
                self._low_encoder.close()
                self._low_encoder = None
            return packets, frame, None
        return packets, frame, self._encode_low(frame, pts, low_keyframe)

    def _encode_low(self, frame: av.VideoFrame, pts: int, keyframe: bool) -> list[av.Packet]:
        """The lower layer: the composite at half size (libswscale), its own x264 at low_layer_bitrate."""
        s = self.settings
        width, height = s.width // 2 & ~1, s.height // 2 & ~1
        if self._low_encoder is None:
            # A small VBV buffer (a quarter second): the layer is for links with little room to queue, and a
            # keyframe as large as a whole second of the layer would not get through them in one piece.
            self._low_encoder = CompositeEncoder(width, height, s.fps, s.low_layer_bitrate,
                                                 s.keyframe_interval_seconds, s.x264_preset, 1,
                                                 vbv_seconds=0.25)
            keyframe = True
        small = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
        packets, _ = self._low_encoder.encode(small, pts, keyframe)
        return packets

    def _tiles(self) -> list[tuple[Seat, av.VideoFrame | None]]:
        """On the event loop: only which frame each seat shows (converting them is the worker's job)."""
        return [(seat, seat.video.fresh() if seat.video is not None else None) for seat in self.seats]

    async def _audio_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = BLOCK / RATE
        # Position on the hearing clock, in samples, on a whole block.
        samples = int((time.monotonic() - self.started_at) * RATE) // BLOCK * BLOCK
        while True:
            due = self.started_at + samples / RATE
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sinks = list(self._audio_sinks.items())
            block = self.audio.mix([participant_id for participant_id, _ in sinks], samples)
            self._update_speaking(block)
            for listener in list(self.audio_listeners):
                listener(block, samples)
            if sinks and self._audio_executor is not None:
                own = self._shared_mix.own([pid for pid, sink in sinks if sink.opus], block.own_dbfs)
                work = [(sink, block.minus[pid]) for pid, sink in sinks if pid in own or not sink.opus]
                sharing = [sink for pid, sink in sinks if pid not in own and sink.opus]
                lead_in = list(self._shared_mix.lead_in)
                shared, encoded = await loop.run_in_executor(
                    self._audio_executor, self._encode_block, block.full if sharing else None, work, samples,
                    lead_in)
                for sink in sharing:
                    sink.deliver(shared)
                for (sink, _), items in zip(work, encoded):
                    sink.deliver(items)
            self._shared_mix.heard(block.full)
            samples += BLOCK
            behind = time.monotonic() - (self.started_at + samples / RATE)
            if behind > 0.5:
                # The loop was starved: jump ahead on the clock; the skipped span is a gap, filled with
                # silence by whoever records it, rather than everything after it arriving late.
                samples += int(behind / interval) * BLOCK

    def _encode_block(self, full: np.ndarray | None, work: list[tuple[MixMinusAudioTrack, np.ndarray]],
                      position: int, lead_in: list[np.ndarray]) -> tuple[list[av.Packet], list[list]]:
        """In the audio thread, one thread hand-off for the whole hearing: the full mix once for every quiet
        listener (None: nobody is quiet), and each speaking listener's own mix-minus."""
        shared: list[av.Packet] = []
        if full is not None:
            try:
                shared = self._shared_voice.encode(full, position, lead_in)
            except Exception:
                if self._shared_failures % 250 == 0:
                    log.exception("the shared mix could not be encoded (%d blocks so far)", self._shared_failures + 1)
                self._shared_failures += 1
        return shared, _encode_mix_minus(work, position, lead_in)

    def _update_speaking(self, block: MixedBlock) -> None:
        self._blocks += 1
        for key, level in block.levels.items():
            source = self.audio.sources.get(key)
            if source is not None and not source.muted and level > SPEAKING_DBFS:
                self._last_loud[source.participant_id] = self._blocks
        present = {source.participant_id for source in self.audio.sources.values() if not source.muted}
        for pid in [pid for pid, last in self._last_loud.items()
                    if self._blocks - last > SPEAKING_HOLD_BLOCKS or pid not in present]:
            del self._last_loud[pid]
        speakers = sorted(self._last_loud)
        # Tiles are keyed by camera; a participant speaking lights all of their tiles.
        self.speaking = {seat.key for seat in self.seats if seat.participant_id in self._last_loud}
        if speakers != self.speakers:
            self.speakers = speakers
            if self.on_speakers is not None:
                try:
                    self.on_speakers(speakers)
                except Exception:
                    log.exception("telling who is speaking failed")


def _encode_mix_minus(work: list[tuple[MixMinusAudioTrack, np.ndarray]], position: int,
                      lead_in: list[np.ndarray]) -> list[list]:
    """In the audio thread: the speaking listeners' own blocks."""
    out = []
    for sink, samples in work:
        try:
            out.append(sink.encode(samples, position, lead_in))
        except Exception:  # one listener's encoder must not silence the others
            if sink.failures % 250 == 0:  # at most one traceback per 5 s of failing
                log.exception("mix-minus for %s could not be encoded (%d blocks so far)", sink.participant_id,
                              sink.failures + 1)
            sink.failures += 1
            out.append([])
    return out
