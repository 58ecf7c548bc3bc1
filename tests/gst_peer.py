"""A WebRTC endpoint built on GStreamer's webrtcbin (libnice ICE, GStreamer's own DTLS and SRTP), for
tests/test_gstreamer_client.py: a second, independent WebRTC stack next to the browser and aiortc.

Run by Debian's /usr/bin/python3 (python3-gi; the project's venv has no GObject bindings), it knows nothing
of the server: the test does the signaling and talks to this process in JSON lines.

    stdout  {"event": "offer", "sdp": ...}                  once ICE gathering is complete (the server is ICE-lite
                                                            and takes no trickled candidates)
            {"event": "status", "video_frames": n, "width": w, "height": h, "audio_samples": n,
             "ice": state, "connection": state}            every 0.5 s
            {"event": "dumped", "frame": path, "audio": path}
            {"event": "error", "message": ...}
    stdin   {"answer": sdp}
            {"dump": folder}     writes the last decoded picture (RGB, raw, with its size in status) and the
                                 last 2 s of sound (s16le mono 48 kHz) there
            {"quit": true}

It sends a solid colour picture (H.264 constrained baseline or VP8) and a sine tone (Opus), with
webrtcbin's defaults otherwise: its own RSA certificate, `a=setup:actpass`, max-bundle.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import threading
from collections import deque
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

AUDIO_RATE = 48000


def say(**message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Peer:
    def __init__(self, codec: str, color: int, tone: float, width: int, height: int, address: str) -> None:
        if codec == "h264":
            encode = ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600 ! "
                      "video/x-h264,profile=constrained-baseline ! "
                      "rtph264pay config-interval=-1 aggregate-mode=zero-latency ! "
                      "application/x-rtp,media=video,encoding-name=H264,payload=102")
        else:
            encode = ("vp8enc deadline=1 keyframe-max-dist=30 target-bitrate=600000 ! rtpvp8pay ! "
                      "application/x-rtp,media=video,encoding-name=VP8,payload=96")
        self.pipeline = Gst.parse_launch(
            "webrtcbin name=w bundle-policy=max-bundle "
            f"videotestsrc is-live=true pattern=solid-color foreground-color={color:#010x} ! "
            f"video/x-raw,width={width},height={height},framerate=15/1 ! videoconvert ! queue ! {encode} ! w. "
            f"audiotestsrc is-live=true wave=sine freq={tone} volume=0.3 ! audioconvert ! audioresample ! "
            "audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w.")
        self.webrtc = self.pipeline.get_by_name("w")
        if address:
            # libnice leaves loopback out of its host candidates; the tests' server listens on it.
            local = Nice.Address.new()
            local.set_from_string(address)
            ice = self.webrtc.get_property("ice-agent")
            # PyGObject takes webrtcbin's own reference to its ICE object here (GStreamer 1.22, PyGObject
            # 3.42), and Gst.Object.ref() is a no-op in Python: give webrtcbin its reference back in C.
            gobject = ctypes.CDLL("libgobject-2.0.so.0")
            gobject.g_object_ref.argtypes, gobject.g_object_ref.restype = [ctypes.c_void_p], ctypes.c_void_p
            gobject.g_object_ref(hash(ice))  # a GObject wrapper's hash is its C pointer
            ice.get_property("agent").add_local_address(local)
        self.webrtc.connect("on-negotiation-needed", self._negotiate)
        self.webrtc.connect("notify::ice-gathering-state", self._gathering)
        self.webrtc.connect("pad-added", self._incoming)
        self.offer_sent = False
        self.video_frames = 0
        self.size = (0, 0)
        self.last_frame = b""
        self.audio: deque[bytes] = deque()
        self.audio_bytes = 0
        self.audio_samples = 0
        self.lock = threading.Lock()
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", lambda _bus, m: say(event="error", message=str(m.parse_error())))

    def start(self) -> None:
        self.pipeline.set_state(Gst.State.PLAYING)
        GLib.timeout_add(500, self._status)

    # -- offer and answer --------------------------------------------------------------------------

    def _negotiate(self, webrtc: Gst.Element) -> None:
        # Both directions on both m-lines: the hearing sends the composite and the mix-minus back.
        for index in range(2):
            transceiver = webrtc.emit("get-transceiver", index)
            if transceiver is not None:
                transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
        promise = Gst.Promise.new_with_change_func(self._offer_made, webrtc, None)
        webrtc.emit("create-offer", None, promise)

    def _offer_made(self, promise: Gst.Promise, webrtc: Gst.Element, _data: object) -> None:
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply is not None and reply.has_field("offer") else None
        if offer is None:
            say(event="error", message=f"no offer: {reply.to_string() if reply is not None else 'no reply'}")
            return
        webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def _gathering(self, webrtc: Gst.Element, _spec: object) -> None:
        state = webrtc.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self.offer_sent:
            self.offer_sent = True
            say(event="offer", sdp=webrtc.get_property("local-description").sdp.as_text())

    def answer(self, sdp: str) -> None:
        result, message = GstSdp.SDPMessage.new_from_text(sdp)
        if result != GstSdp.SDPResult.OK:
            say(event="error", message="the answer is not SDP")
            return
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())

    # -- what the hearing sends --------------------------------------------------------------------

    def _incoming(self, _webrtc: Gst.Element, pad: Gst.Pad) -> None:
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", self._decoded)
        self.pipeline.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def _decoded(self, _decode: Gst.Element, pad: Gst.Pad) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        if name.startswith("video"):
            chain = "videoconvert ! video/x-raw,format=RGB ! appsink name=sink emit-signals=true sync=false"
            handler = self._picture
        elif name.startswith("audio"):
            chain = (f"audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate={AUDIO_RATE} ! "
                     "appsink name=sink emit-signals=true sync=false")
            handler = self._sound
        else:
            return
        bin_ = Gst.parse_bin_from_description(chain, True)
        self.pipeline.add(bin_)
        bin_.sync_state_with_parent()
        bin_.get_by_name("sink").connect("new-sample", handler)
        pad.link(bin_.get_static_pad("sink"))

    def _picture(self, sink: Gst.Element) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        structure = sample.get_caps().get_structure(0)
        buffer = sample.get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if ok:
            with self.lock:
                self.last_frame = bytes(info.data)
                self.size = (structure.get_value("width"), structure.get_value("height"))
                self.video_frames += 1
            buffer.unmap(info)
        return Gst.FlowReturn.OK

    def _sound(self, sink: Gst.Element) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        buffer = sample.get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if ok:
            data = bytes(info.data)
            buffer.unmap(info)
            with self.lock:
                self.audio.append(data)
                self.audio_bytes += len(data)
                self.audio_samples += len(data) // 2
                while self.audio_bytes - len(self.audio[0]) >= AUDIO_RATE * 2 * 2:
                    self.audio_bytes -= len(self.audio.popleft())
        return Gst.FlowReturn.OK

    def _status(self) -> bool:
        with self.lock:
            say(event="status", video_frames=self.video_frames, width=self.size[0], height=self.size[1],
                audio_samples=self.audio_samples,
                ice=self.webrtc.get_property("ice-connection-state").value_nick,
                connection=self.webrtc.get_property("connection-state").value_nick)
        return True

    def dump(self, folder: str) -> None:
        with self.lock:
            frame, audio = self.last_frame, b"".join(self.audio)
        Path(folder, "frame.rgb").write_bytes(frame)
        Path(folder, "audio.s16").write_bytes(audio)
        say(event="dumped", frame=str(Path(folder, "frame.rgb")), audio=str(Path(folder, "audio.s16")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codec", choices=("h264", "vp8"), default="h264")
    parser.add_argument("--color", default="0xff00c000", help="ARGB of the picture sent")
    parser.add_argument("--tone", type=float, default=700.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--address", default="", help="gather ICE candidates on this address only")
    args = parser.parse_args()
    Gst.init(None)
    loop = GLib.MainLoop()
    peer = Peer(args.codec, int(args.color, 16), args.tone, args.width, args.height, args.address)

    def command(line: str) -> bool:
        try:
            message = json.loads(line)
        except ValueError:
            say(event="error", message=f"not JSON: {line[:80]!r}")
            return False
        if "answer" in message:
            peer.answer(message["answer"])
        elif "dump" in message:
            peer.dump(message["dump"])
        elif message.get("quit"):
            loop.quit()
        return False

    def read_commands() -> None:
        for line in sys.stdin:
            GLib.idle_add(command, line)
        GLib.idle_add(loop.quit)  # the test went away

    threading.Thread(target=read_commands, daemon=True).start()
    peer.start()
    try:
        loop.run()
    finally:
        peer.pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
