"""One participant's WebRTC connection to the server (aiortc), answering the participant's offer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine

from aiortc import RTCRtpSender, RTCSessionDescription, rtp
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..config import MediaSettings
from .dtls import HandshakeWatch, new_peer_connection, watch_handshake
from .ice import MAX_OFFER_CANDIDATES, apply_nat_mapping, count_candidates, rtc_configuration
from .jitter import give_up_on_lost_packets
from .layers import LayerChooser, LayerRates
from .receiving import PictureGuard, guard_pictures, use_simple_queue
from .retransmit import RetransmitBudget, RetransmitGate, budget_bps
from .tracks import CompositeVideoTrack, MixMinusAudioTrack
from .uplink import UplinkCap

log = logging.getLogger(__name__)

# track, index of its kind, mid, the guard of its pictures (video from aiortc; None otherwise)
TrackHandler = Callable[[MediaStreamTrack, int, str, PictureGuard | None], Coroutine[Any, Any, None]]
# state ("connecting", "connected", "failed"), reason (why it failed; "" otherwise)
MediaStateHandler = Callable[[str, str], None]

CONNECTING, CONNECTED, FAILED = "connecting", "connected", "failed"


class OfferError(ValueError):
    """The participant's SDP offer cannot be answered."""


def _h264_baseline_first() -> list:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    h264 = [c for c in codecs if c.mimeType.lower() == "video/h264"
            and str((c.parameters or {}).get("profile-level-id", "")).lower() in ("42e01f", "42001f")]
    rtx = [c for c in codecs if c.mimeType.lower() == "video/rtx"]
    others = [c for c in codecs if c not in h264 and c not in rtx]
    return h264 + others + rtx


class ParticipantPeer:
    """Answers one offer, sends the hearing's composite and a mix-minus, and hands incoming tracks on."""

    @staticmethod
    def check_offer(offer_sdp: str) -> None:
        """What any offer the server answers must meet (a party's, the court's lobby preview viewer's)."""
        count = count_candidates(offer_sdp)
        if count > MAX_OFFER_CANDIDATES:
            raise OfferError(f"the offer lists {count} ICE candidates; at most {MAX_OFFER_CANDIDATES} are "
                             "accepted")
        # The server is ICE-lite (see hearing_server.media.ice): two lite agents never connect.
        if any(line.startswith("a=ice-lite") for line in offer_sdp.splitlines()):
            raise OfferError("the server is ICE-lite: the offer must come from a full ICE agent")

    def __init__(self, participant_id: str, settings: MediaSettings, on_track: TrackHandler,
                 on_keyframe_request: Callable[[], None],
                 on_media_state: MediaStateHandler | None = None,
                 layer_rates: LayerRates | None = None) -> None:
        self.participant_id = participant_id
        self.settings = settings
        self.pc = new_peer_connection(rtc_configuration(settings))
        self.media_state = CONNECTING
        self.failure = ""  # why the media failed, in words for the court and the log
        self._handshake = HandshakeWatch()
        self._was_connected = False
        self._on_media_state = on_media_state
        self._layer_rates = layer_rates  # the hearing's: what each layer of the composite sends
        self._uplinks: list[UplinkCap] = []  # one per camera they send
        self.retransmits: RetransmitBudget | None = None
        self._uplink_cap: int | None = None
        self.video_out: CompositeVideoTrack | None = None
        self.audio_out: MixMinusAudioTrack | None = None
        self._on_track = on_track
        self._on_keyframe_request = on_keyframe_request
        self._consumers: set[asyncio.Task] = set()
        self._video_index = 0
        self.closed = asyncio.Event()

        @self.pc.on("track")
        def on_track_event(track: MediaStreamTrack) -> None:
            index = self._video_index if track.kind == "video" else 0
            if track.kind == "video":
                self._video_index += 1
            # aiortc has set every mid by the time it emits "track"; the mid is how a sender names a track.
            transceiver = next((t for t in self.pc.getTransceivers() if t.receiver.track is track), None)
            mid = transceiver.mid or "" if transceiver is not None else ""
            guard = None
            if transceiver is not None:
                use_simple_queue(transceiver.receiver)  # before it starts: see hearing_server.media.receiving
                if track.kind == "video":
                    give_up_on_lost_packets(transceiver.receiver)  # see hearing_server.media.jitter
                    guard = guard_pictures(track, transceiver.receiver)
                    self._uplinks.append(UplinkCap(transceiver.receiver))
                    self._uplinks[-1].set(self._uplink_cap)
            task = asyncio.create_task(self._on_track(track, index, mid, guard), name=f"consume-{track.kind}")
            self._consumers.add(task)
            task.add_done_callback(self._consumers.discard)

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            state = self.pc.connectionState
            if state == "connected":
                self._was_connected = True
                log.info("participant %s media connected", participant_id)
                self._media(CONNECTED, "")
            elif state == "failed":
                self.failure = self._why_failed()
                log.warning("participant %s media failed: %s", participant_id, self.failure)
                self._media(FAILED, self.failure)
            else:
                log.info("participant %s connection %s", participant_id, state)
            if state in ("failed", "closed"):
                self.closed.set()

    def cap_uplink(self, bps: int | None) -> None:
        """The most their cameras may send us (None: no cap), told to their senders by REMB."""
        self._uplink_cap = bps
        for uplink in self._uplinks:
            uplink.set(bps)

    def _why_failed(self) -> str:
        if self.pc.iceConnectionState == "failed":
            if self._was_connected:
                return "connection lost: the participant stopped answering ICE consent checks"
            return "ICE failed: no pair of candidates connected (a firewall, or no route between the addresses)"
        if self._handshake.failed:
            return self._handshake.reason()
        return "the media connection failed"

    def _media(self, state: str, reason: str) -> None:
        self.media_state = state
        if self._on_media_state is not None:
            try:
                self._on_media_state(state, reason)
            except Exception:
                log.exception("reporting participant %s's media state", self.participant_id)

    async def answer(self, offer_sdp: str) -> str:
        if self.pc.remoteDescription is not None:
            raise OfferError("renegotiation is not supported: reconnect with a new offer")
        self.check_offer(offer_sdp)
        # Transceivers made before the offer is applied take the offer's first audio and video m-lines,
        # and with them our codec preference: aiortc fixes the codec list when the offer is set.
        kinds = [line.split()[0][2:] for line in offer_sdp.splitlines() if line.startswith("m=")]
        if "audio" not in kinds and "video" not in kinds:
            raise OfferError("the offer has neither audio nor video")
        video = audio = None
        # In the offer's order: under max-bundle the first transceiver's transport is the bundle's
        # (see hearing_server.media.ice.rtc_configuration).
        for kind in sorted({"audio", "video"} & set(kinds), key=kinds.index):
            if kind == "video":
                self.video_out = CompositeVideoTrack(self.participant_id)
                video = self.pc.addTransceiver(self.video_out, direction="sendrecv")
                video.setCodecPreferences(_h264_baseline_first())
                self._route_keyframe_requests(video.sender)
                if self.settings.low_layer_bitrate and self._layer_rates is not None:
                    chooser = self.video_out.chooser = LayerChooser(self._layer_rates)
                    rates = self._layer_rates
                    gate = RetransmitGate(video.sender,
                                          lambda: budget_bps(rates.bps(chooser.layer), chooser.report.remb_bps))
                    self.video_out.on_moving = gate.layer_moving
                    self.retransmits = gate.decide
                    self._watch_link(video.sender, chooser, gate)
            else:
                self.audio_out = MixMinusAudioTrack(self.participant_id, self.settings.voice_bitrate)
                audio = self.pc.addTransceiver(self.audio_out, direction="sendrecv")
        try:
            # aiortc's connect task (ICE, then the DTLS handshake) starts in here and inherits the watch.
            with watch_handshake(self._handshake):
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # aiortc raises ValueError, KeyError, AssertionError... on bad SDP
            raise OfferError(f"the offer could not be parsed ({exc.__class__.__name__}: {exc})") from None
        if video is None or video.mid is None:
            self.video_out = None  # the offer has no video: nothing to send the composite on
        else:
            # A receiver that refused H.264 gets frames, which aiortc encodes for it alone (VP8).
            negotiated = video._codecs[0].mimeType.lower() if video._codecs else ""
            self.video_out.packets = negotiated == "video/h264"
        if audio is not None and self.audio_out is not None:
            # A receiver without Opus (PCMU/PCMA only) gets frames, which aiortc encodes for it alone.
            self.audio_out.opus = bool(audio._codecs) and audio._codecs[0].mimeType.lower() == "audio/opus"
        try:
            with watch_handshake(self._handshake):
                await self.pc.setLocalDescription(await self.pc.createAnswer())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise OfferError(f"no common codec or transport ({exc.__class__.__name__}: {exc})") from None
        return apply_nat_mapping(self.pc.localDescription.sdp, self.settings.ice_nat_mapping)

    def _watch_link(self, sender: RTCRtpSender, chooser: LayerChooser, gate: RetransmitGate) -> None:
        """What the receiver's RTCP says about its link (REMB, receiver reports, NACKs of its own layer's
        packets) feeds its layer."""
        original = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            try:
                if isinstance(packet, (rtp.RtcpRrPacket, rtp.RtcpSrPacket)):
                    for report in packet.reports:
                        if report.ssrc == sender._ssrc:
                            chooser.receiver_report(report.fraction_lost)
                elif isinstance(packet, rtp.RtcpRtpfbPacket) and packet.fmt == rtp.RTCP_RTPFB_NACK:
                    chooser.nack(gate.current(packet.lost))
                elif isinstance(packet, rtp.RtcpPsfbPacket) and packet.fmt == rtp.RTCP_PSFB_APP:
                    bitrate, ssrcs = rtp.unpack_remb_fci(packet.fci)
                    if sender._ssrc in ssrcs:
                        chooser.remb(bitrate)
            except ValueError:
                pass  # not a REMB after all (another APP feedback): aiortc's own handler sees it too
            await original(packet)

        sender._handle_rtcp_packet = handle  # type: ignore[method-assign]

    def _route_keyframe_requests(self, sender: RTCRtpSender) -> None:
        # A sender fed with packets ignores PLI/FIR itself; the shared encoder must hear it instead.
        original = sender._send_keyframe

        def send_keyframe() -> None:
            original()
            self._on_keyframe_request()

        sender._send_keyframe = send_keyframe  # type: ignore[method-assign]

    async def close(self) -> None:
        for uplink in self._uplinks:
            uplink.close()
        for task in list(self._consumers):
            task.cancel()
        for track in (self.video_out, self.audio_out):
            if track is not None:
                track.stop()
        await self.pc.close()
        self.closed.set()


async def drain(track: MediaStreamTrack, handle: Callable[[object], None]) -> None:
    """Read a remote track until it ends, handing each frame on; a bad frame is skipped, not fatal."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        try:
            handle(frame)
        except Exception:
            log.exception("dropping a %s frame that could not be handled", track.kind)
