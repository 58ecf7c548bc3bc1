"""The server's DTLS with clients unlike a browser: an RSA or an ECDSA certificate, offering actpass, active
or passive; and a handshake that fails is shown as failed — to the participant, on the roster, on their
tile and in the record — with its reason, never as "present"."""

from __future__ import annotations

import json
import re

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdtlstransport import SRTP_PROFILES, RTCCertificate, SRTPProtectionProfile, generate_certificate
from cryptography.hazmat.primitives.asymmetric import rsa
from OpenSSL import SSL

from hearing_server.appkeys import ROOMS
from hearing_server.i18n import text
from hearing_server.media.dtls import CIPHER_SUITES, HandshakeWatch, new_peer_connection

from .helpers import Participant, PatternTrack, ToneTrack
from .waiting import until

pytestmark = pytest.mark.media


class RsaCertificate(RTCCertificate):
    """A client like GStreamer's webrtcbin: an RSA certificate, and OpenSSL's usual AEAD suites (aiortc's own
    list has ECDSA suites only, so a stock aiortc client could never be the DTLS server with an RSA
    certificate). As the DTLS server it can only pick an ECDHE-RSA suite: the server's list must have one."""

    @classmethod
    def generate(cls) -> RsaCertificate:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key=key, cert=generate_certificate(key))  # type: ignore[arg-type]

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        context = super()._create_ssl_context(srtp_profiles)
        context.set_cipher_list(b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
        return context


def _client(certificate: str) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    if certificate == "rsa":
        pc._RTCPeerConnection__certificates = [RsaCertificate.generate()]  # type: ignore[attr-defined]
    return pc


async def _offer(person: Participant, pc: RTCPeerConnection, setup: str = "actpass",
                 tamper: bool = False) -> dict:
    pc.addTrack(ToneTrack(600.0))
    pc.addTrack(PatternTrack((0, 160, 0)))
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp.replace("a=setup:actpass", f"a=setup:{setup}")
    if tamper:  # the fingerprint of another certificate: the handshake completes, the identity check fails
        sdp = re.sub(r"(a=fingerprint:sha-256 )([0-9A-F]{2})", lambda m: m.group(1) + (
            "00" if m.group(2) != "00" else "11"), sdp)
    count = len(person.messages)
    await person.send({"type": "offer", "sdp": sdp})
    answer = await person.expect("answer", "error", after=count)
    assert answer["type"] == "answer", answer
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return answer


def _media_states(person: Participant) -> list[tuple[str, str]]:
    return [(m["state"], m["reason"]) for m in person.of_type("media")]


@pytest.mark.parametrize("certificate", ["rsa", "ecdsa"])
@pytest.mark.parametrize("setup", ["actpass", "active", "passive"])
async def test_every_certificate_kind_and_dtls_role_connects(api, certificate, setup):
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    person = Participant(api.base, (await api.invite(judge, hearing["id"], "Ivan Gateway", "witness"))["token"])
    pc = _client(certificate)
    try:
        await person.connect()
        answer = await _offer(person, pc, setup)
        # The answer takes the other role; to actpass the server is the DTLS client, as browsers expect.
        expected = {"actpass": "active", "active": "passive", "passive": "active"}[setup]
        assert f"a=setup:{expected}" in answer["sdp"]
        await until(lambda: pc.connectionState == "connected", 15.0, 0.05,
                    what=lambda: f"the client to connect (now {pc.connectionState})")
        await until(lambda: ("connected", "") in _media_states(person), 10.0, 0.05,
                    what=lambda: f"the server to say connected (got {_media_states(person)})")
        assert all(state != "failed" for state, _ in _media_states(person))
    finally:
        await pc.close()
        await person.close()


async def test_a_failed_handshake_is_shown_failed_everywhere_with_its_reason(api, server, settings):
    judge_token = await api.login("judge")
    hearing = await api.new_hearing(judge_token)
    hid = hearing["id"]
    judge = Participant(api.base, judge_token, hearing_id=hid)
    person = Participant(api.base, (await api.invite(judge_token, hid, "Olga Tamper", "defendant"))["token"])
    pc = _client("ecdsa")
    try:
        await judge.connect()
        await judge.start_media()
        await person.connect()
        pid = person.of_type("welcome")[0]["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge_token)
        await person.expect("admitted")
        await _offer(person, pc, tamper=True)

        # The participant is told, with the reason (their page says the connection failed and retries).
        await until(lambda: any(s == "failed" for s, _ in _media_states(person)), 15.0, 0.05,
                    what=lambda: f"the server to report the failure (got {_media_states(person)})")
        reason = next(r for s, r in _media_states(person) if s == "failed")
        assert reason.startswith("DTLS fingerprint mismatch"), reason

        # The judge's roster shows them not connected, with the same reason; never "connected".
        def olga() -> dict:
            roster = judge.of_type("roster")[-1]["participants"]
            return next(p for p in roster if p["id"] == pid)
        await until(lambda: olga()["media"] == "failed", 10.0, 0.05, what=lambda: f"the roster (got {olga()})")
        assert olga()["media_error"] == reason and olga()["online"] is True
        assert not any(p["id"] == pid and p["media"] == "connected"
                       for m in judge.of_type("roster") for p in m["participants"])

        # Their seat in the composite (and so in the record) says "no connection", in the court's language.
        no_connection = text(settings.court.language, "picture.no_connection")
        room = server.app[ROOMS].rooms[hid]
        seats = room.media.room.mixer.seats  # type: ignore[attr-defined]
        seat = next(s for s in seats if s.participant_id == pid)
        assert (seat.video, seat.placeholder) == (None, no_connection)
        judge_seat = next(s for s in seats if s.participant_id == judge.of_type("welcome")[0]["participant"]["id"])
        assert judge_seat.placeholder != no_connection
    finally:
        await pc.close()
        await person.close()
        await judge.close()
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge_token)

    # The record: the failure and its reason in the transcript; admitted, but not present.
    folder = settings.recordings_path / hid
    await until(lambda: (folder / "manifest.json").exists(), 30.0, 0.2, what="the recording to be finalised")
    entries = json.loads((folder / "transcript.json").read_text())["entries"]
    failed = [e for e in entries if e.get("event") == "media_failed" and e.get("participant_id") == pid]
    assert failed and failed[0]["details"]["reason"] == reason and failed[0]["name"] == "Olga Tamper"
    assert not [e for e in entries if e.get("event") == "media_connected" and e.get("participant_id") == pid]
    people = {p["name"]: p for p in json.loads((folder / "manifest.json").read_text())["participants"]}
    assert people["Olga Tamper"]["present"] is False and people["Olga Tamper"]["media_error"] == reason
    assert people["Judge Amira Haddad"]["present"] is True, people


def test_the_suites_are_aead_and_forward_secret_only():
    names = CIPHER_SUITES.split(":")
    assert all(n.startswith(("ECDHE-ECDSA-", "ECDHE-RSA-")) for n in names)
    assert all(n.endswith(("-GCM-SHA256", "-GCM-SHA384", "-CHACHA20-POLY1305")) for n in names)
    # and OpenSSL knows them all (an unknown name in the list would be dropped silently)
    context = SSL.Context(SSL.DTLS_METHOD)
    context.set_cipher_list(CIPHER_SUITES.encode())
    connection = SSL.Connection(context)
    assert set(connection.get_cipher_list()) >= set(names)


async def test_the_adapter_still_fits_aiortc():
    pc = new_peer_connection(RTCConfiguration())  # raises if aiortc keeps its certificates elsewhere
    try:
        certificates = pc._RTCPeerConnection__certificates  # type: ignore[attr-defined]
        assert type(certificates[0]).__name__ == "CourtCertificate"
        # the context aiortc makes from it for each handshake has our suites
        context = certificates[0]._create_ssl_context(srtp_profiles=list(SRTP_PROFILES))
        offered = SSL.Connection(context).get_cipher_list()
        assert "ECDHE-RSA-AES128-GCM-SHA256" in offered and "ECDHE-ECDSA-AES128-SHA" not in offered
    finally:
        await pc.close()


@pytest.mark.parametrize("detail, alert, expected", [
    ("fingerprint mismatch", None, "DTLS fingerprint mismatch: the certificate does not match the offer's "
                                   "a=fingerprint"),
    ("error []", ("received", 40), "DTLS handshake failed: the participant's side refused it "
                                   "(handshake_failure), often no cipher suite in common"),
    ("error [('SSL routines', '', 'no shared cipher')]", ("sent", 40),
     "DTLS handshake failed: no shared cipher; the server refused it (handshake_failure)"),
    ("error [('SSL routines', '', 'certificate verify failed')]", None,
     "DTLS handshake failed: certificate verify failed"),
    ("", ("received", 42), "DTLS handshake failed: the participant's side refused it (bad_certificate)"),
])
def test_a_failure_is_named(detail, alert, expected):
    watch = HandshakeWatch()
    if detail:
        watch._aiortc_said(detail)
    if alert:
        watch._alert(*alert)
    watch._alert("sent", 0)  # close_notify is no failure
    assert watch.failed and watch.reason() == expected
