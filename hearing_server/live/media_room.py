"""A hearing's media, on whichever process carries it: the peer connections, the mixer, the lobby previews,
the courtroom's cameras and the recording.

It decides nothing about the court: who is admitted, muted or waiting arrives as a list of people from the
front (hearing_server.live.room), court events arrive to be written into the transcript, and what the front
needs to tell the clients (the courtroom cameras, a preview that ended, who has a camera) goes back through
MediaListener. Every method's arguments and results are plain data, so the same room runs in the front's
own process (media.workers = 0) or in a media worker behind a pipe.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from recorder.recorder import Recorder
from recorder.recording import HearingRecording

from .. import events as ev
from ..config import Settings
from ..errors import ApiError
from ..events import CourtEvent
from ..i18n import court_clock, court_zone, role_name, text
from ..media.audio_mixer import AudioSource
from ..media.compositor import Wording
from ..media.dtls import new_peer_connection
from ..media.ice import apply_nat_mapping, rtc_configuration
from ..media.mixer import HearingMixer, Seat
from ..media.peer import CONNECTED, FAILED, OfferError, ParticipantPeer, drain
from ..media.receiving import PictureGuard, handle_in_decoder_thread
from ..media.record_tap import MixerTap
from ..media.tracks import IncomingVideo
from ..media.uplink import CAPS as UPLINK_CAPS
from ..models import Hearing, HearingStatus, Participant, ParticipantState
from ..roles import Role

log = logging.getLogger(__name__)


class MediaListener(Protocol):
    """What the media tells the front (which tells the clients)."""

    def cameras_changed(self, hearing_id: str, cameras: list[dict[str, Any]]) -> None: ...

    def preview_ended(self, hearing_id: str, viewer_id: str, target_id: str) -> None: ...

    def senders_changed(self, hearing_id: str, with_camera: list[str]) -> None: ...

    def media_changed(self, hearing_id: str, participant_id: str, state: str, reason: str) -> None: ...

    def link_changed(self, hearing_id: str, participant_id: str, layer: str, max_send_bitrate: int) -> None: ...

    def speakers_changed(self, hearing_id: str, speakers: list[str]) -> None: ...


class MediaRoom:
    def __init__(self, hearing: Hearing, settings: Settings, recorder: Recorder | None,
                 listener: MediaListener) -> None:
        self.hearing = hearing
        self.settings = settings
        self.recorder = recorder
        self.listener = listener
        self.recording: HearingRecording | None = None
        # One picture for everyone and the record: it speaks the court's language and shows its clock.
        self.language = settings.court.language
        zone = court_zone(settings.court.time_zone)
        self.mixer = HearingMixer(settings.media, hearing.case_number, self._wording(),
                                  lambda: court_clock(zone))
        self.mixer.on_speakers = lambda speakers: listener.speakers_changed(hearing.id, speakers)
        self.people: dict[str, Participant] = {}
        self.peers: dict[str, ParticipantPeer] = {}
        self.cameras: dict[str, list[IncomingVideo]] = {}
        self.microphones: dict[str, list[AudioSource]] = {}
        self.source_names: dict[str, dict[str, str]] = {}  # participant -> mid -> courtroom position
        self.hidden_cameras: set[str] = set()  # camera keys the judge took out of the picture
        self._cameras_sent: list[dict[str, Any]] | None = None
        self._camera_online: dict[str, bool] = {}
        self._camera_watch: asyncio.Task | None = None
        self._with_camera: list[str] = []
        self.previews: dict[tuple[str, str], RTCPeerConnection] = {}
        self._apply_hearing_state()

    @property
    def hearing_id(self) -> str:
        return self.hearing.id

    # -- what the front says ----------------------------------------------------------------------------

    def update_hearing(self, hearing: Hearing, actor: str = "") -> None:
        recording_changed = hearing.recording_paused != self.hearing.recording_paused
        self.hearing = hearing
        self._apply_hearing_state(actor if recording_changed else "")
        for person_id in list(self.people):
            self._attach(person_id)

    def update_people(self, people: list[Participant]) -> None:
        """Who is in the hearing or waiting in the lobby now, as the court sees them."""
        known = {p.id: p for p in people if p.in_hearing or p.state is ParticipantState.WAITING}
        for pid in [pid for pid in self.people if pid not in known]:
            self.people.pop(pid)
        for person in known.values():
            was = self.people.get(person.id)
            self.people[person.id] = person
            if self.recording is not None and (was is None or was.name != person.name):
                self.recording.participant(person.id, person.name, person.role)
            self.mixer.set_muted(person.id, person.muted_by_court or person.self_muted)
            if person.state is ParticipantState.ADMITTED and (was is None or was.state is not person.state):
                self._stop_previews_of_target_now(person.id)
            self._attach(person.id)
        self._refresh_seats()

    def note_event(self, event: CourtEvent) -> None:
        if self.recording is not None:
            self.recording.note_event(event)
            if event.kind == ev.LOG_NOTE:
                self.recording.add_note(event.data["text"], event.data["kind"], event.data["author"], event.at)

    # -- offers and peer connections --------------------------------------------------------------------

    async def answer_offer(self, pid: str, role: str, sdp: str, sources: dict[str, str] | None = None) -> str:
        if self.hearing.status is HearingStatus.CLOSED:
            raise ApiError(409, "hearing_closed", "the hearing is closed")
        if sources and role != Role.COURTROOM.value:
            # A name on a tile is the court's word for who is speaking; a party may not pick their own.
            raise ApiError(403, "forbidden", "only the courtroom PC names its cameras and microphones")
        await self.drop(pid)  # a new offer replaces the previous peer connection
        self.source_names[pid] = dict(sources or {})
        peer = ParticipantPeer(pid, self.settings.media,
                               on_track=lambda track, index, mid, guard: self._consume(pid, track, index, mid,
                                                                                       guard),
                               on_keyframe_request=lambda: self.mixer.request_keyframe(pid),
                               on_media_state=lambda state, reason: self._media_changed(pid, peer, state, reason),
                               layer_rates=self.mixer.layer_rates)
        self.peers[pid] = peer
        try:
            answer = await peer.answer(sdp)
            if peer.video_out is not None:
                peer.video_out.on_layer = lambda layer: self._link_changed(pid, peer, layer)
        except OfferError:
            self.peers.pop(pid, None)
            await peer.close()
            raise
        self._attach(pid)
        self._media_changed(pid, peer, peer.media_state, "")
        return answer

    def _link_changed(self, pid: str, peer: ParticipantPeer, layer: str) -> None:
        """The participant's own link moved them to another layer of the composite (see media.layers)."""
        if self.peers.get(pid) is peer:
            why = peer.video_out.chooser.why if peer.video_out and peer.video_out.chooser else ""
            sent = peer.retransmits
            log.info("hearing %s: participant %s now receives the %s layer (%s; packets sent again so far %d, "
                     "not sent %d)", self.hearing_id, pid, layer, why, sent.sent if sent else 0,
                     sent.refused if sent else 0)
            cap = UPLINK_CAPS.get(layer)
            peer.cap_uplink(cap)  # a link too weak for the picture is too weak for their camera as well
            self.listener.link_changed(self.hearing_id, pid, layer, cap or 0)

    def _media_changed(self, pid: str, peer: ParticipantPeer, state: str, reason: str) -> None:
        """A participant's ICE and DTLS connected or failed: the court is told, the record notes it (someone
        admitted counts as present from their media's connection), their tile says so."""
        if self.peers.get(pid) is not peer:
            return  # an older peer connection, replaced by a new offer
        if state in (CONNECTED, FAILED) and self.recording is not None:
            person = self.people.get(pid)
            if person is not None:
                self.recording.note_event(CourtEvent(ev.MEDIA_CONNECTED if state == CONNECTED else ev.MEDIA_FAILED,
                                                     self.hearing_id, pid, "",
                                                     {"reason": reason} if reason else {}))
        self.listener.media_changed(self.hearing_id, pid, state, reason)
        if state == FAILED:
            # Nothing flows on it any more: the seat shows "no connection" until the page offers again.
            self.mixer.detach(pid)
        self._refresh_seats()

    async def _consume(self, pid: str, track: MediaStreamTrack, index: int, mid: str = "",
                       guard: PictureGuard | None = None) -> None:
        label = self.source_names.get(pid, {}).get(mid, "")
        if track.kind == "video":
            # A named camera keeps its key across reconnects, so the judge's choice of picture stays.
            camera = IncomingVideo(f"{pid}:{label}" if label else f"{pid}:v{index}", label, guard)
            self.cameras.setdefault(pid, []).append(camera)
            person = self.people.get(pid)
            if self._camera_watch is None and person is not None and person.role == Role.COURTROOM.value:
                self._camera_watch = asyncio.create_task(self._watch_cameras(), name="courtroom-cameras")
            self._refresh_seats()
            loop = asyncio.get_running_loop()
            # Pictures are stored by the decoder thread itself (no hop to the loop and back per frame);
            # drain() then only sees the end of the track, or frames of a track that could not be registered.
            handle_in_decoder_thread(track, lambda frame: camera.arrive(frame, loop))
            await drain(track, lambda frame: camera.push(frame))  # type: ignore[arg-type]
        else:
            source = AudioSource(f"{pid}:a{len(self.microphones.get(pid, []))}", pid, label)
            self.microphones.setdefault(pid, []).append(source)
            self._attach(pid)

            def hear(frame: object) -> None:
                assert isinstance(frame, av.AudioFrame)
                source.push_frame(frame)  # thread-safe: the decoder thread's, or the loop's via drain()

            handle_in_decoder_thread(track, hear)
            await drain(track, hear)

    def _attach(self, pid: str) -> None:
        """Let an admitted participant see and hear the hearing, and be seen and heard in it."""
        person = self.people.get(pid)
        peer = self.peers.get(pid)
        if person is None or person.state is not ParticipantState.ADMITTED or not self.mixer.running:
            return
        for source in self.microphones.get(pid, []):
            source.muted = person.muted_by_court or person.self_muted
            self.mixer.add_audio(source)
        if peer is not None and peer.media_state != FAILED and not self.mixer.is_attached(pid):
            self.mixer.attach(pid, peer.video_out, peer.audio_out)
        self._refresh_seats()

    async def drop(self, pid: str) -> None:
        """The participant's media ends (a new offer, a lost connection, removal)."""
        self.mixer.detach(pid)
        for source in self.microphones.pop(pid, []):
            self.mixer.remove_audio(source.key)
        self.cameras.pop(pid, None)
        await self._stop_previews_of_target(pid)
        await self._stop_previews_of_viewer(pid)
        peer = self.peers.pop(pid, None)
        if peer is not None:
            await peer.close()
        self._refresh_seats()

    def _wording(self) -> Wording:
        say = self._say
        return Wording(case=say("picture.case"), recording=say("picture.recording"), muted=say("picture.muted"),
                       poor=say("picture.poor_connection"), waiting=say("picture.waiting"))

    def _say(self, key: str) -> str:
        return text(self.language, key)

    def _role(self, role: str) -> str:
        return role_name(self.language, role)

    def _refresh_seats(self) -> None:
        seats = []
        # The courtroom's own cameras come first, then the remote parties in the order they were admitted.
        admitted = sorted((p for p in self.people.values() if p.in_hearing),
                          key=lambda p: (p.role != Role.COURTROOM.value, p.admitted_at or 0.0))
        for person in admitted:
            muted = person.muted_by_court or person.self_muted
            cameras = self.cameras.get(person.id, [])
            if person.role == Role.COURTROOM.value:
                seats += self._courtroom_seats(person, cameras, muted)
                continue
            peer = self.peers.get(person.id)
            connected = peer is not None and peer.media_state == CONNECTED
            if person.state is ParticipantState.DISCONNECTED:
                placeholder = "connection_lost"
            elif peer is not None and peer.media_state == FAILED:
                placeholder = "no_connection"
            elif not connected:
                placeholder = "connecting"
            elif person.camera_off:
                placeholder = "camera_off"
            else:
                placeholder = "no_picture"
            shown = self._say(f"picture.{placeholder}")
            role = self._role(person.role)
            if not cameras or person.camera_off or person.state is ParticipantState.DISCONNECTED or not connected:
                seats.append(Seat(f"{person.id}:v0", person.id, person.name, role, None, shown, muted))
                continue
            for camera in cameras:
                seats.append(Seat(camera.key, person.id, person.name, role, camera, shown, muted))
        self.mixer.seats = seats
        self._send_cameras()
        with_camera = sorted(pid for pid, cameras in self.cameras.items() if cameras)
        if with_camera != self._with_camera:
            self._with_camera = with_camera
            self.listener.senders_changed(self.hearing_id, with_camera)  # the lobby shows who can be checked

    def _courtroom_seats(self, person: Participant, cameras: list[IncomingVideo], muted: bool) -> list[Seat]:
        """One labelled tile per courtroom camera the judge has in the picture. A camera that stops sending
        (unplugged, or the PC lost its network) shows as offline until its frames come back."""
        seats = []
        for number, camera in enumerate(cameras, 1):
            if camera.key in self.hidden_cameras:
                continue
            seats.append(Seat(camera.key, person.id, camera.label or f"{person.name} · {number}",
                              self._role(Role.COURTROOM.value), camera, self._say("picture.camera_offline"), muted))
        return seats

    # -- which courtroom cameras are in the picture -------------------------------------------------

    def camera_list(self) -> list[dict[str, Any]]:
        out = []
        for person in self.people.values():
            if person.role != Role.COURTROOM.value or not person.in_hearing:
                continue
            for number, camera in enumerate(self.cameras.get(person.id, []), 1):
                out.append({"key": camera.key, "label": camera.label or f"{person.name} · {number}",
                            "participant_id": person.id, "shown": camera.key not in self.hidden_cameras,
                            "online": camera.fresh() is not None})
        return out

    def show_camera(self, key: str, shown: bool, actor: str) -> dict[str, Any]:
        camera = next((c for c in self.camera_list() if c["key"] == key), None)
        if camera is None:
            raise ApiError(404, "not_found", "no such courtroom camera in this hearing")
        if shown != camera["shown"]:
            (self.hidden_cameras.discard if shown else self.hidden_cameras.add)(key)
            self._note_camera(ev.CAMERA_SHOWN if shown else ev.CAMERA_HIDDEN, camera, actor)
            self._refresh_seats()
        return dict(camera, shown=shown)

    async def _watch_cameras(self) -> None:
        """Notice a courtroom camera going quiet or coming back: the console shows it, the record notes it."""
        while True:
            await asyncio.sleep(0.5)
            for camera in self.camera_list():
                was = self._camera_online.get(camera["key"])
                if was is None and not camera["online"]:
                    continue  # not seen a picture yet: a camera only goes offline after it was online
                self._camera_online[camera["key"]] = camera["online"]
                if was is not None and was != camera["online"]:
                    log.warning("hearing %s: courtroom camera %r %s", self.hearing_id, camera["label"],
                                "is back" if camera["online"] else "stopped sending pictures")
                    self._note_camera(ev.CAMERA_ONLINE if camera["online"] else ev.CAMERA_OFFLINE, camera, "")
            self._send_cameras()

    def _note_camera(self, kind: str, camera: dict[str, Any], actor: str) -> None:
        if self.recording is not None:
            self.recording.note_event(CourtEvent(kind, self.hearing_id, camera["participant_id"], actor,
                                                 {"name": camera["label"], "role": Role.COURTROOM.value}))

    def _send_cameras(self) -> None:
        cameras = self.camera_list()
        if cameras != self._cameras_sent:
            self._cameras_sent = cameras
            self.listener.cameras_changed(self.hearing_id, cameras)

    # -- previews (identity check in the lobby) -----------------------------------------------------

    async def start_preview(self, viewer_id: str, target_id: str, sdp: str) -> str:
        """The court's viewer (checked by the front: may watch the lobby, target waiting) sees the target."""
        cameras = self.cameras.get(target_id)
        if not cameras:
            raise ApiError(409, "no_camera", "that participant is not sending a picture (yet)")
        # The same limits as a party's offer; rtc_configuration makes this peer connection ICE-lite as well.
        ParticipantPeer.check_offer(sdp)
        key = (viewer_id, target_id)
        await self.stop_preview(viewer_id, target_id)
        pc = new_peer_connection(rtc_configuration(self.settings.media))
        self.previews[key] = pc
        track = cameras[0].preview()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            pc.addTrack(track)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            track.stop()
            self.previews.pop(key, None)
            await pc.close()
            raise OfferError(f"the preview offer could not be answered ({exc.__class__.__name__})") from None
        return apply_nat_mapping(pc.localDescription.sdp, self.settings.media.ice_nat_mapping)

    async def stop_preview(self, viewer_id: str, target_id: str) -> None:
        pc = self.previews.pop((viewer_id, target_id), None)
        if pc is not None:
            for sender in pc.getSenders():
                if sender.track is not None:
                    sender.track.stop()
            await pc.close()

    async def _stop_previews_of_viewer(self, viewer_id: str) -> None:
        for viewer, target in [k for k in self.previews if k[0] == viewer_id]:
            await self.stop_preview(viewer, target)

    async def _stop_previews_of_target(self, target_id: str) -> None:
        for viewer, target in [k for k in self.previews if k[1] == target_id]:
            await self.stop_preview(viewer, target)
            self.listener.preview_ended(self.hearing_id, viewer, target)

    def _stop_previews_of_target_now(self, target_id: str) -> None:
        if any(k[1] == target_id for k in self.previews):
            asyncio.create_task(self._stop_previews_of_target(target_id))

    # -- the hearing's state ------------------------------------------------------------------------

    def _apply_hearing_state(self, actor: str = "") -> None:
        status = self.hearing.status
        if self.hearing.is_live and not self.mixer.running:
            self.mixer.start(self.hearing.opened_at)
            if self.recorder is not None:
                self.recording = self.recorder.begin(self.hearing, MixerTap(self.mixer))
                for person in self.people.values():
                    if self.recording is not None:
                        self.recording.participant(person.id, person.name, person.role)
        self.mixer.banner = self._say("picture.recess") if status is HearingStatus.RECESS else ""
        self.mixer.audio.silenced = status is HearingStatus.RECESS
        self._apply_recording_state(actor)

    def _apply_recording_state(self, actor: str = "") -> None:
        if self.recording is None:
            return
        recess = self.hearing.status is HearingStatus.RECESS and self.settings.recording.pause_during_recess
        if self.hearing.recording_paused or recess:
            self.recording.pause(actor, "recess" if recess and not self.hearing.recording_paused else "paused")
        elif self.hearing.is_live:
            self.recording.resume(actor)

    async def close(self, finished: bool) -> None:
        """Stop the media. `finished`: the hearing closed, so its record is finalised; otherwise (the server
        is stopping) the recording stays in the spool, to be carried on or recovered."""
        if self.recorder is not None:
            self.recording = None
            if finished:
                await self.recorder.end(self.hearing_id)
            else:
                # Closed in the spool at once: the node that carries the hearing on appends to the same record.
                await self.recorder.set_aside(self.hearing_id)
        for pid in list(self.peers):
            await self.drop(pid)
        for viewer, target in list(self.previews):
            await self.stop_preview(viewer, target)
        if self._camera_watch is not None:
            self._camera_watch.cancel()
        await self.mixer.stop()
