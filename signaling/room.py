"""A live hearing on this node: its connections, their peer connections, the mixer and the previews.

The room acts on CourtEvents (admitted, muted, removed...) and on what connections ask for (offers,
previews). Court rules are not decided here; they are in hearing_server.court.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from hearing_server import events as ev
from hearing_server.config import Settings
from hearing_server.court import Court
from hearing_server.errors import ApiError
from hearing_server.events import CourtEvent
from hearing_server.media.audio_mixer import AudioSource
from hearing_server.media.ice import apply_nat_mapping, rtc_configuration
from hearing_server.media.mixer import HearingMixer, Seat
from hearing_server.media.peer import OfferError, ParticipantPeer, drain
from hearing_server.media.tracks import IncomingVideo
from hearing_server.models import Hearing, HearingStatus, Participant, ParticipantState
from hearing_server.roles import Permission, Role
from recorder.recorder import Recorder
from recorder.recording import HearingRecording

from . import messages as msg
from .connection import CLOSE_FORBIDDEN, CLOSE_HEARING_CLOSED, CLOSE_REMOVED, CLOSE_REPLACED, Connection

log = logging.getLogger(__name__)

RECESS_BANNER = "RECESS - the hearing will resume shortly"


class HearingRoom:
    def __init__(self, hearing: Hearing, court: Court, settings: Settings, recorder: Recorder | None = None) -> None:
        self.hearing = hearing
        self.court = court
        self.settings = settings
        self.recorder = recorder
        self.recording: HearingRecording | None = None
        self.mixer = HearingMixer(settings.media, hearing.case_number)
        self.connections: dict[str, Connection] = {}
        self.people: dict[str, Participant] = {}
        self.peers: dict[str, ParticipantPeer] = {}
        self.cameras: dict[str, list[IncomingVideo]] = {}
        self.microphones: dict[str, list[AudioSource]] = {}
        self.source_names: dict[str, dict[str, str]] = {}  # participant -> mid -> courtroom position
        self.hidden_cameras: set[str] = set()  # camera keys the judge took out of the picture
        self._cameras_sent: list[dict[str, Any]] | None = None
        self._camera_online: dict[str, bool] = {}
        self._camera_watch: asyncio.Task | None = None
        self.previews: dict[tuple[str, str], RTCPeerConnection] = {}
        self._grace: dict[str, asyncio.Task] = {}
        self._apply_hearing_state()

    @property
    def hearing_id(self) -> str:
        return self.hearing.id

    async def load(self) -> None:
        for person in await self.court.store.list_participants(self.hearing_id):
            if person.in_hearing:
                self.people[person.id] = person
        self._refresh_seats()

    # -- connections --------------------------------------------------------------------------------

    async def connect(self, conn: Connection) -> None:
        person = conn.participant
        assert person is not None
        old = self.connections.get(person.id)
        if old is not None and old is not conn:
            old.send(msg.error("replaced", "you joined from another window or device"))
            old.close(CLOSE_REPLACED, "replaced by a newer connection")
            await self._drop_media(person.id)
        self.connections[person.id] = conn
        grace = self._grace.pop(person.id, None)
        if grace:
            grace.cancel()
        self._remember(person)
        self._send_roster_and_lobby()

    async def disconnect(self, conn: Connection) -> None:
        person = conn.participant
        if person is None or self.connections.get(person.id) is not conn:
            return  # replaced already, or never got past hello
        del self.connections[person.id]
        await self._drop_media(person.id)
        await self._stop_previews_of(person.id)
        await self.court.connection_lost(self.hearing_id, person.id)
        current = await self.court.store.get_participant(self.hearing_id, person.id)
        if current and current.state is ParticipantState.DISCONNECTED:
            self._grace[person.id] = asyncio.create_task(self._expire_grace(person.id))

    async def _expire_grace(self, participant_id: str) -> None:
        await asyncio.sleep(self.settings.media.reconnect_grace_seconds)
        self._grace.pop(participant_id, None)
        await self.court.grace_expired(self.hearing_id, participant_id)

    # -- media --------------------------------------------------------------------------------------

    async def answer_offer(self, conn: Connection, sdp: str, sources: dict[str, str] | None = None) -> str:
        pid = conn.participant_id
        if self.hearing.status is HearingStatus.CLOSED:
            raise ApiError(409, "hearing_closed", "the hearing is closed")
        if sources and (conn.claims is None or conn.claims.role is not Role.COURTROOM):
            # A name on a tile is the court's word for who is speaking; a party may not pick their own.
            raise ApiError(403, "forbidden", "only the courtroom PC names its cameras and microphones")
        await self._drop_media(pid)  # a new offer replaces the previous peer connection
        self.source_names[pid] = dict(sources or {})
        peer = ParticipantPeer(pid, self.settings.media,
                               on_track=lambda track, index, mid: self._consume(pid, track, index, mid),
                               on_keyframe_request=self.mixer.request_keyframe)
        self.peers[pid] = peer
        try:
            answer = await peer.answer(sdp)
        except OfferError:
            self.peers.pop(pid, None)
            await peer.close()
            raise
        self._attach(pid)
        return answer

    async def _consume(self, pid: str, track: MediaStreamTrack, index: int, mid: str = "") -> None:
        label = self.source_names.get(pid, {}).get(mid, "")
        if track.kind == "video":
            # A named camera keeps its key across reconnects, so the judge's choice of picture stays.
            camera = IncomingVideo(f"{pid}:{label}" if label else f"{pid}:v{index}", label)
            self.cameras.setdefault(pid, []).append(camera)
            if self._camera_watch is None and self.people.get(pid) and self.people[pid].role == Role.COURTROOM.value:
                self._camera_watch = asyncio.create_task(self._watch_cameras(), name="courtroom-cameras")
            self._refresh_seats()
            self._send_roster_and_lobby()  # the court's lobby list shows who has a camera to check
            await drain(track, lambda frame: camera.push(frame))  # type: ignore[arg-type]
        else:
            source = AudioSource(f"{pid}:a{len(self.microphones.get(pid, []))}", pid, label)
            self.microphones.setdefault(pid, []).append(source)
            self._attach(pid)

            def hear(frame: object) -> None:
                assert isinstance(frame, av.AudioFrame)
                source.push_frame(frame)

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
        if peer is not None and not self.mixer.is_attached(pid):
            self.mixer.attach(pid, peer.video_out, peer.audio_out)
        self._refresh_seats()

    async def _drop_media(self, pid: str) -> None:
        self.mixer.detach(pid)
        for source in self.microphones.pop(pid, []):
            self.mixer.remove_audio(source.key)
        self.cameras.pop(pid, None)
        await self._stop_previews_of_target(pid)
        peer = self.peers.pop(pid, None)
        if peer is not None:
            await peer.close()
        self._refresh_seats()

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
            if person.state is ParticipantState.DISCONNECTED:
                placeholder = "connection lost"
            elif person.camera_off:
                placeholder = "camera off"
            else:
                placeholder = "no picture"
            if not cameras or person.camera_off or person.state is ParticipantState.DISCONNECTED:
                seats.append(Seat(f"{person.id}:v0", person.id, person.name, Role(person.role).label,
                                  None, placeholder, muted))
                continue
            for camera in cameras:
                seats.append(Seat(camera.key, person.id, person.name, Role(person.role).label, camera,
                                  placeholder, muted))
        self.mixer.seats = seats
        self._send_cameras()

    def _courtroom_seats(self, person: Participant, cameras: list[IncomingVideo], muted: bool) -> list[Seat]:
        """One labelled tile per courtroom camera the judge has in the picture. A camera that stops sending
        (unplugged, or the PC lost its network) shows as offline until its frames come back."""
        seats = []
        for number, camera in enumerate(cameras, 1):
            if camera.key in self.hidden_cameras:
                continue
            seats.append(Seat(camera.key, person.id, camera.label or f"{person.name} camera {number}",
                              Role.COURTROOM.label, camera, "camera offline", muted))
        return seats

    # -- which courtroom cameras are in the picture -------------------------------------------------

    def camera_list(self) -> list[dict[str, Any]]:
        out = []
        for person in self.people.values():
            if person.role != Role.COURTROOM.value or not person.in_hearing:
                continue
            for number, camera in enumerate(self.cameras.get(person.id, []), 1):
                out.append({"key": camera.key, "label": camera.label or f"{person.name} camera {number}",
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
            message = msg.message("cameras", cameras=cameras)
            for conn in list(self.connections.values()):
                if conn.claims is not None and self.court.may(conn.claims, Permission.CONTROL_HEARING, self.hearing):
                    conn.send(message)

    # -- previews (identity check in the lobby) -----------------------------------------------------

    async def start_preview(self, conn: Connection, target_id: str, sdp: str) -> str:
        assert conn.claims is not None
        if not self.court.may(conn.claims, Permission.WATCH_LOBBY, self.hearing):
            raise ApiError(403, "forbidden", "only the court running this hearing may watch the lobby cameras")
        target = self.people.get(target_id)
        if target is None or target.state is not ParticipantState.WAITING:
            raise ApiError(409, "not_in_lobby", "that person is not waiting in the lobby")
        cameras = self.cameras.get(target_id)
        if not cameras:
            raise ApiError(409, "no_camera", "that participant is not sending a picture (yet)")
        # The same limits as a party's offer; rtc_configuration makes this peer connection ICE-lite as well.
        ParticipantPeer.check_offer(sdp)
        key = (conn.participant_id, target_id)
        await self.stop_preview(conn.participant_id, target_id)
        pc = RTCPeerConnection(rtc_configuration(self.settings.media))
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

    async def _stop_previews_of(self, viewer_id: str) -> None:
        for viewer, target in [k for k in self.previews if k[0] == viewer_id]:
            await self.stop_preview(viewer, target)

    async def _stop_previews_of_target(self, target_id: str) -> None:
        for viewer, target in [k for k in self.previews if k[1] == target_id]:
            await self.stop_preview(viewer, target)
            conn = self.connections.get(viewer)
            if conn:
                conn.send(msg.message("preview-ended", participant_id=target_id))

    # -- court events -------------------------------------------------------------------------------

    async def on_event(self, event: CourtEvent) -> None:
        kind, pid = event.kind, event.participant_id
        if pid:
            person = await self.court.store.get_participant(self.hearing_id, pid)
            if person is not None:
                self._remember(person)
        if self.recording is not None:
            self.recording.note_event(event)
            if kind == ev.LOG_NOTE:
                self.recording.add_note(event.data["text"], event.data["kind"], event.data["author"], event.at)
        conn = self.connections.get(pid) if pid else None
        if kind == ev.LOG_NOTE:
            self._broadcast_to_court(msg.message("log-note", note=event.data))
            return
        if kind in (ev.RECORDING_PAUSED, ev.RECORDING_RESUMED):
            hearing = await self.court.store.get_hearing(self.hearing_id)
            if hearing is not None:
                self.hearing = hearing
            self._apply_recording_state(actor=event.actor)
            self._broadcast(msg.message("hearing", hearing=hearing_summary(self.hearing)))
            return
        if kind in (ev.OPENED, ev.RECESS, ev.RESUMED, ev.LOCKED, ev.UNLOCKED, ev.CLOSED):
            hearing = await self.court.store.get_hearing(self.hearing_id)
            if hearing is not None:
                self.hearing = hearing
            self._apply_hearing_state()
            for person_id in list(self.people):
                self._attach(person_id)
            self._broadcast(msg.message("hearing", hearing=hearing_summary(self.hearing)))
            if kind == ev.CLOSED:
                if self.recorder is not None:
                    self.recording = None
                    await self.recorder.end(self.hearing_id)
                await self.shutdown("the hearing is closed")
            return
        if kind == ev.ADMITTED and conn is not None:
            await self._stop_previews_of_target(pid)
            conn.participant = self.people[pid]
            conn.send(msg.message("admitted", session_token=event.data.get("session_token", ""),
                                  participant=self.people[pid].public()))
            self._attach(pid)
        elif kind == ev.REJECTED and conn is not None:
            conn.send(msg.message("rejected", reason=event.data.get("reason", "")))
            conn.close(CLOSE_FORBIDDEN, "not admitted")
            await self._forget(pid)
        elif kind == ev.REMOVED:
            if conn is not None:
                conn.send(msg.message("removed", reason=event.data.get("reason", "")))
                conn.close(CLOSE_REMOVED, "removed by the court")
            await self._forget(pid)
        elif kind in (ev.MUTED, ev.UNMUTED) and pid in self.people:
            person = self.people[pid]
            self.mixer.set_muted(pid, person.muted_by_court or person.self_muted)
            if conn is not None:
                conn.send(msg.message("muted", muted=person.muted_by_court, by="court"))
        elif kind == ev.LEFT:
            await self._forget(pid)
        self._refresh_seats()
        self._send_roster_and_lobby()

    def set_self_state(self, person: Participant) -> None:
        self._remember(person)
        self.mixer.set_muted(person.id, person.muted_by_court or person.self_muted)
        self._refresh_seats()
        self._send_roster_and_lobby()

    def _remember(self, person: Participant) -> None:
        if person.in_hearing or person.state is ParticipantState.WAITING:
            self.people[person.id] = person
        else:
            self.people.pop(person.id, None)

    async def _forget(self, pid: str) -> None:
        self.people.pop(pid, None)
        grace = self._grace.pop(pid, None)
        if grace:
            grace.cancel()
        await self._drop_media(pid)

    def _apply_hearing_state(self) -> None:
        status = self.hearing.status
        if self.hearing.is_live and not self.mixer.running:
            self.mixer.start(self.hearing.opened_at)
            if self.recorder is not None:
                self.recording = self.recorder.begin(self.hearing, self.mixer)
                for person in self.people.values():
                    if self.recording is not None:
                        self.recording.participant(person.id, person.name, person.role)
        self.mixer.banner = RECESS_BANNER if status is HearingStatus.RECESS else ""
        self.mixer.audio.silenced = status is HearingStatus.RECESS
        self._apply_recording_state()

    def _apply_recording_state(self, actor: str = "") -> None:
        if self.recording is None:
            return
        recess = self.hearing.status is HearingStatus.RECESS and self.settings.recording.pause_during_recess
        if self.hearing.recording_paused or recess:
            self.recording.pause(actor, "recess" if recess and not self.hearing.recording_paused else "paused")
        elif self.hearing.is_live:
            self.recording.resume(actor)

    # -- what people are told -----------------------------------------------------------------------

    def _broadcast(self, message: dict[str, Any]) -> None:
        for conn in list(self.connections.values()):
            conn.send(message)

    def roster(self) -> list[dict[str, Any]]:
        admitted = sorted((p for p in self.people.values() if p.in_hearing), key=lambda p: p.admitted_at or 0.0)
        return [dict(p.public(), online=p.id in self.connections) for p in admitted]

    def lobby(self) -> list[dict[str, Any]]:
        waiting = sorted((p for p in self.people.values() if p.state is ParticipantState.WAITING),
                         key=lambda p: p.lobby_at or 0.0)
        return [dict(p.public(), stated_name=p.stated_name, waiting_since=p.lobby_at,
                     online=p.id in self.connections, camera=bool(self.cameras.get(p.id)))
                for p in waiting]

    def _broadcast_to_court(self, message: dict[str, Any]) -> None:
        for conn in list(self.connections.values()):
            if conn.claims is not None and self.court.may(conn.claims, Permission.LOG_NOTES, self.hearing):
                conn.send(message)

    def _send_roster_and_lobby(self) -> None:
        roster = msg.message("roster", participants=self.roster())
        lobby = msg.message("lobby", entrants=self.lobby())
        for pid, conn in list(self.connections.items()):
            person = self.people.get(pid)
            if person is None or not person.in_hearing:
                continue  # the lobby learns nothing about who is in the hearing
            if conn.claims is not None and conn.claims.role is Role.COURTROOM:
                continue  # the courtroom PC publishes the room; it has no use for names and states
            conn.send(roster)
            if conn.claims is not None and self.court.may(conn.claims, Permission.ADMIT, self.hearing):
                conn.send(lobby)

    async def shutdown(self, reason: str, code: int = CLOSE_HEARING_CLOSED) -> None:
        for conn in list(self.connections.values()):
            conn.close(code, reason)
        for task in self._grace.values():
            task.cancel()
        self._grace.clear()
        for pid in list(self.peers):
            await self._drop_media(pid)
        for viewer, target in list(self.previews):
            await self.stop_preview(viewer, target)
        if self._camera_watch is not None:
            self._camera_watch.cancel()
        await self.mixer.stop()


def hearing_summary(hearing: Hearing) -> dict[str, Any]:
    return {
        "id": hearing.id,
        "case_number": hearing.case_number,
        "title": hearing.title,
        "court": hearing.court,
        "courtroom": hearing.courtroom,
        "judge_name": hearing.judge_name,
        "status": hearing.status.value,
        "locked": hearing.locked,
        "recording_paused": hearing.recording_paused,
    }
