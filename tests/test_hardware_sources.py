"""The courtroom PC's own cameras and microphones: configured, captured, unplugged and back, listed."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from hardware.config import CameraConfig, CourtroomConfigError, MicrophoneConfig, load_courtroom_config
from hardware.devices import (
    VIDIOC_ENUM_FMT,
    VIDIOC_ENUM_FRAMEINTERVALS,
    VIDIOC_ENUM_FRAMESIZES,
    VIDIOC_QUERYCAP,
    alsa_microphones,
)
from hardware.sources import DeviceSet, open_camera, open_microphone
from hardware.synthetic import band_rows, synthetic_picture

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "courtroom.toml"
RETRY = 0.3


@pytest.fixture
def tracks():
    """Tracks a test opens; stopped afterwards so that no capture thread outlives its test."""
    opened: list = []
    yield opened
    for track in opened:
        track.stop()


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:4]}"


async def frames(track, count: int, timeout: float = 5.0) -> list:
    return [await asyncio.wait_for(track.recv(), timeout) for _ in range(count)]


async def until(condition, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(poll(), timeout)


def samples(audio_frames: list) -> np.ndarray:
    return np.concatenate([f.to_ndarray().reshape(-1) for f in audio_frames]).astype(np.float64)


def peak_hz(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / 48000)[np.argmax(spectrum)])


def dbfs(signal: np.ndarray) -> float:
    rms = np.sqrt(np.mean(signal ** 2))
    return 20 * np.log10(rms / 32768) if rms > 0 else -120.0


def level(audio_frames: list) -> float:
    """The typical level of these frames: a frame or two lost to a busy machine does not move it."""
    return float(np.median([dbfs(samples([f])) for f in audio_frames]))


async def heard(track, timeout: float = 5.0) -> None:
    """Until a frame carries the tone at full level again."""
    async def listen() -> None:
        while dbfs(samples([await track.recv()])) < -13:
            pass
    await asyncio.wait_for(listen(), timeout)


def name_score(frame: av.VideoFrame, name: str) -> float:
    """How well the name band a synthetic camera draws for `name` matches the received picture."""
    picture = cv2.cvtColor(frame.to_ndarray(format="bgr24"), cv2.COLOR_BGR2GRAY)
    top, bottom = band_rows(frame.height)
    band = synthetic_picture(name, frame.width, frame.height, 0.0)[top + 4:bottom - 4]
    template = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    return float(cv2.matchTemplate(picture, template, cv2.TM_CCOEFF_NORMED).max())


# --- configuration ---------------------------------------------------------------------------------------

def test_the_example_configuration_is_a_working_one():
    config = load_courtroom_config(EXAMPLE)
    assert [c.name for c in config.cameras] == ["Judge's bench", "Witness stand"]
    assert [m.name for m in config.microphones] == ["Judge", "Witness stand"]
    assert all(c.source.startswith("synthetic") for c in config.cameras + config.microphones)
    assert config.cameras[0] == CameraConfig("Judge's bench", "synthetic", 640, 360, 15)
    assert config.server_url.startswith("http") and config.token_file and config.retry_seconds > 0


def test_the_environment_names_another_server_and_token(monkeypatch):
    monkeypatch.setenv("COURTROOM_AGENT_URL", "https://hearings.court.example")
    monkeypatch.setenv("COURTROOM_AGENT_TOKEN_FILE", "/run/secrets/device.token")
    config = load_courtroom_config(EXAMPLE)
    assert config.server_url == "https://hearings.court.example"
    assert config.token_file == "/run/secrets/device.token"


GOOD_SERVER = '[server]\nurl = "https://hearings.example"\ntoken_file = "/etc/courtroom/device.token"\n'
CAMERA = '[[camera]]\nname = "Bench"\nsource = "synthetic"\n'


@pytest.mark.parametrize("text, key", [
    ('[server]\ntoken_file = "t"\n' + CAMERA, "server.url"),
    ('[server]\nurl = "hearings.example"\ntoken_file = "t"\n' + CAMERA, "server.url"),
    ('[server]\nurl = "https://h.example"\n' + CAMERA, "server.token_file"),
    (GOOD_SERVER + "retry_seconds = -1\n" + CAMERA, "server.retry_seconds"),
    (GOOD_SERVER + 'verify_tls = "no"\n' + CAMERA, "server.verify_tls"),
    (GOOD_SERVER + 'port = 8088\n' + CAMERA, "server.port"),
    (GOOD_SERVER, "no devices"),
    (GOOD_SERVER + CAMERA + "width = 641\n", "camera[1].width"),
    (GOOD_SERVER + CAMERA + "fps = 0\n", "camera[1].fps"),
    (GOOD_SERVER + CAMERA + "fsp = 15\n", "camera[1].fsp"),
    (GOOD_SERVER + '[[camera]]\nsource = "synthetic"\n', "camera[1].name"),
    (GOOD_SERVER + f'[[camera]]\nname = "{"x" * 61}"\nsource = "synthetic"\n', "camera[1].name"),
    (GOOD_SERVER + CAMERA + CAMERA, "camera[2].name"),
    (GOOD_SERVER + '[[camera]]\nname = "Bench"\n', "camera[1].source"),
    (GOOD_SERVER + '[[camera]]\nname = "Bench"\nsource = "webcam:0"\n', "camera[1].source"),
    (GOOD_SERVER + '[[camera]]\nname = "Bench"\nsource = "alsa:hw:1,0"\n', "camera[1].source"),
    (GOOD_SERVER + '[[camera]]\nname = "Bench"\nsource = "synthetic:colour=red"\n', "camera[1].source"),
    (GOOD_SERVER + '[[camera]]\nname = "A"\nsource = "v4l2:/dev/video0"\n'
                   '[[camera]]\nname = "B"\nsource = "v4l2:/dev/video0"\n', "camera[2].source"),
    (GOOD_SERVER + '[[microphone]]\nname = "Judge"\nsource = "synthetic:tone=loud"\n',
     "microphone[1].source"),
    (GOOD_SERVER + '[[microphone]]\nname = "Judge"\nsource = "dshow:Microphone"\n', "microphone[1].source"),
    (GOOD_SERVER + '[[microphone]]\nname = "Judge"\nsource = "alsa:hw:1,0"\nchannel = 0\n',
     "microphone[1].channel"),
    (GOOD_SERVER + '[[microphone]]\nname = "Judge"\nsource = "alsa:hw:1,0"\nchannel = 1\n'
                   '[[microphone]]\nname = "Witness"\nsource = "alsa:hw:1,0"\nchannel = 1\n',
     "microphone[2].channel"),
    (GOOD_SERVER + '[[microphone]]\nname = "Judge"\nsource = "alsa:hw:1,0"\nchannel = 1\n'
                   '[[microphone]]\nname = "Witness"\nsource = "alsa:hw:1,0"\nchannel = 2\n'
                   'sample_rate = 44100\n',
     "microphone[2].sample_rate"),
    ('camera = "Bench"\n' + GOOD_SERVER, "camera must be written as [[camera]]"),
    ("[server\n", "not valid TOML"),
])
def test_a_mistake_in_the_configuration_is_named(tmp_path, monkeypatch, text, key):
    monkeypatch.delenv("COURTROOM_AGENT_URL", raising=False)
    monkeypatch.delenv("COURTROOM_AGENT_TOKEN_FILE", raising=False)
    path = tmp_path / "courtroom.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load_courtroom_config(path)
    assert isinstance(error.value, CourtroomConfigError)
    assert key in str(error.value)


def test_a_missing_configuration_file_says_so(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_courtroom_config(tmp_path / "nope.toml")


# --- cameras ---------------------------------------------------------------------------------------------

async def test_a_synthetic_camera_shows_its_name_at_its_frame_rate(tracks):
    name = unique("Judge's bench")
    camera = open_camera(CameraConfig(name, "synthetic", width=320, height=180, fps=10), RETRY)
    tracks.append(camera)
    assert camera.kind == "video" and camera.label == name
    got = await frames(camera, 8)
    assert camera.online
    assert all((f.width, f.height, f.format.name) == (320, 180, "yuv420p") for f in got)
    assert all(f.time_base == Fraction(1, 90000) for f in got)
    pts = [f.pts for f in got]
    assert all(b > a for a, b in zip(pts, pts[1:]))
    # Paced at 10 fps on a 90 kHz clock: steps of about 9000 (loose: a busy machine may be late).
    assert 4500 <= float(np.median(np.diff(pts))) <= 18000
    assert name_score(got[-1], name) > 0.9
    assert name_score(got[-1], name) > name_score(got[-1], "Witness stand") + 0.05


async def test_an_unplugged_camera_sends_nothing_until_it_is_back(tracks):
    config = CameraConfig(unique("Witness stand"), "synthetic", width=160, height=90, fps=15)
    camera = open_camera(config, RETRY)
    tracks.append(camera)
    await frames(camera, 3)
    camera.unplug()
    await until(lambda: not camera.online)
    # No picture at all while it is out (the server shows "camera offline" when frames stop).
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(camera.recv(), 1.0)
    assert not camera.online
    camera.replug()
    back = await frames(camera, 2, timeout=5.0)
    assert camera.online and back[-1].pts > 0


async def test_a_camera_that_cannot_be_opened_is_offline_and_keeps_trying(tracks, caplog):
    camera = open_camera(CameraConfig(unique("Gallery"), "v4l2:/dev/video-not-there"), RETRY)
    tracks.append(camera)
    await asyncio.sleep(3 * RETRY)
    assert not camera.online
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(camera.recv(), 0.3)
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "Gallery" in r.getMessage()]
    assert len(warnings) == 1 and "does not exist" in warnings[0].getMessage()  # one line, not one per retry


async def test_a_stopped_camera_ends_its_thread():
    camera = open_camera(CameraConfig(unique("Dock"), "synthetic", width=160, height=90), RETRY)
    await frames(camera, 1)
    device = camera.camera
    camera.stop()
    assert await asyncio.to_thread(device.join, 5.0)
    from aiortc.mediastreams import MediaStreamError
    with pytest.raises(MediaStreamError):
        await camera.recv()


# --- microphones -----------------------------------------------------------------------------------------

async def test_a_synthetic_microphone_speaks_its_tone_at_minus_12_dbfs(tracks):
    mic = open_microphone(MicrophoneConfig(unique("Judge"), "synthetic:tone=1000"), RETRY)
    tracks.append(mic)
    got = await frames(mic, 30)
    assert all((f.samples, f.sample_rate, f.format.name, f.layout.name) == (960, 48000, "s16", "mono")
               for f in got)
    assert [f.pts for f in got] == [got[0].pts + 960 * i for i in range(30)]
    sound = samples(got[10:])  # past the first frames, which may start before the device did
    assert abs(peak_hz(sound) - 1000) < 10
    assert abs(level(got[10:]) - (-12)) < 1.0
    assert mic.online


async def test_a_microphone_in_bursts_is_silent_between_them(tracks):
    mic = open_microphone(MicrophoneConfig(unique("Counsel"), "synthetic:tone=500,on=0.2,off=0.2"), RETRY)
    tracks.append(mic)
    levels = [dbfs(samples([f])) for f in await frames(mic, 50)]
    assert max(levels) > -14 and min(levels[5:]) < -60


async def test_two_microphones_on_one_device_each_hear_their_own_channel(tracks):
    source = f"synthetic:channels=2,tones=440/880,level={-12 - uuid.uuid4().int % 5}"
    judge = open_microphone(MicrophoneConfig(unique("Judge"), source, channel=1), RETRY)
    witness = open_microphone(MicrophoneConfig(unique("Witness"), source, channel=2), RETRY)
    tracks.extend([judge, witness])
    assert judge.device is witness.device  # one capture feeds both
    judge_frames, witness_frames = await asyncio.gather(frames(judge, 25), frames(witness, 25))
    assert abs(peak_hz(samples(judge_frames[8:])) - 440) < 10
    assert abs(peak_hz(samples(witness_frames[8:])) - 880) < 10


async def test_an_unplugged_microphone_sends_silence_and_comes_back(tracks):
    mic = open_microphone(MicrophoneConfig(unique("Clerk"), "synthetic:tone=700"), RETRY)
    tracks.append(mic)
    await frames(mic, 10)
    mic.unplug()
    await until(lambda: not mic.online)
    await frames(mic, 10)  # what was buffered before the outage drains first
    quiet = await frames(mic, 10)
    assert dbfs(samples(quiet)) < -100  # frames keep coming, silent: RTP and the clock go on
    mic.replug()
    await until(lambda: mic.online)
    await heard(mic)
    assert abs(level(await frames(mic, 10)) - (-12)) < 1.0


async def test_a_microphone_on_a_channel_the_device_lacks_is_silent_and_offline(tracks, caplog):
    source = "synthetic:channels=2,tones=300/400,level=-13"
    present = open_microphone(MicrophoneConfig(unique("Judge"), source, channel=2), RETRY)
    missing = open_microphone(MicrophoneConfig(unique("Usher"), source, channel=3), RETRY)
    tracks.extend([present, missing])
    await until(lambda: present.online)
    got = await frames(missing, 10)
    assert dbfs(samples(got)) < -100 and not missing.online
    assert any("has 2 channels, not 3" in r.getMessage() for r in caplog.records)


# --- recordings as sources -------------------------------------------------------------------------------

def make_recording(path: Path, seconds: float = 2.0, fps: int = 10) -> None:
    """A recording whose picture brightens frame by frame and that plays a 600 Hz tone throughout."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            picture = np.full((96, 160, 3), 20 + i * 10, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        t = np.arange(int(seconds * 48000)) / 48000
        tone = (0.25 * 32767 * np.sin(2 * np.pi * 600 * t)).astype(np.int16)
        for start in range(0, len(tone), 1024):
            chunk = tone[start:start + 1024]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode())


async def test_a_recording_plays_in_a_loop(tmp_path, tracks):
    path = tmp_path / "hearing-room.mp4"
    make_recording(path)
    config = CameraConfig(unique("Recorded bench"), f"file:{path}", width=160, height=96, fps=10)
    camera = open_camera(config, RETRY)
    mic = open_microphone(MicrophoneConfig(unique("Recorded judge"), f"file:{path}"), RETRY)
    tracks.extend([camera, mic])
    pictures, sound = await asyncio.gather(frames(camera, 26, timeout=5), frames(mic, 130, timeout=5))
    brightness = [float(f.to_ndarray(format="gray").mean()) for f in pictures]
    # The picture brightens through the recording, then starts dark again: it looped.
    assert any(b < a - 100 for a, b in zip(brightness, brightness[1:])), brightness
    assert brightness[-1] > brightness[0] - 30
    late = sound[105:]  # after the 2 s of the recording: its second round
    assert abs(peak_hz(samples(late)) - 600) < 15 and level(late) > -20


# --- the device set the agent holds ----------------------------------------------------------------------

async def test_the_device_set_keeps_devices_open_across_connections():
    config = load_courtroom_config(EXAMPLE)
    for device in config.cameras + config.microphones:
        device.name = unique(device.name)
    devices = DeviceSet(config)
    try:
        first = devices.tracks()
        assert [t.label for t in first] == [d.name for d in config.cameras + config.microphones]
        assert [t.kind for t in first] == ["video", "video", "audio", "audio"]
        await asyncio.gather(*(frames(t, 2) for t in first))
        opened = dict(devices.cameras)
        for track in first:  # what aiortc does when a peer connection closes
            track.stop()
        second = devices.tracks()
        await asyncio.gather(*(frames(t, 2) for t in second))
        assert all(devices.cameras[name] is camera for name, camera in opened.items())
        await until(lambda: all(s.online for s in devices.status()))
        devices.unplug(config.cameras[1].name)
        await until(lambda: [s.online for s in devices.status()] == [True, False, True, True])
        devices.replug(config.cameras[1].name)
    finally:
        await devices.close()
    assert all(device.join(0) for device in [*devices.cameras.values(), *devices.audio_devices.values()])
    assert all(t.readyState == "ended" for t in second)


# --- finding devices -------------------------------------------------------------------------------------

def hearing_server(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "hearing-server"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "hearing_server"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


def test_devices_lists_the_synthetic_sources_always():
    listed = hearing_server("devices", "--json")
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    sources = {(d["kind"], d["source"]) for d in report["devices"]}
    assert {("camera", "synthetic"), ("microphone", "synthetic:tone=440")} <= sources
    if not any(d["kind"] == "camera" and not d["source"].startswith("synthetic") for d in report["devices"]):
        assert any("no cameras" in note for note in report["notes"])
    text = hearing_server("devices")
    assert text.returncode == 0 and "synthetic:tone=440" in text.stdout and "SOURCE" in text.stdout
    if not Path("/dev/video0").exists() and not shutil.which("v4l2-ctl"):
        assert "no cameras found" in text.stdout


def test_the_courtroom_command_runs_the_agent_with_its_configuration(tmp_path):
    """The real command in a real process: a missing or wrong configuration is refused with its name, and a
    good one starts the agent, which keeps trying an unreachable server until it is told to stop."""
    import signal
    import time

    def courtroom(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "hearing_server", "courtroom", *args], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    missing = courtroom("--config", str(tmp_path / "nowhere.toml"))
    out, _ = missing.communicate(timeout=60)
    assert missing.returncode == 2 and "nowhere.toml" in out
    assert courtroom("--write-example", "courtroom.toml").wait(timeout=60) == 0
    example = (tmp_path / "courtroom.toml").read_text()
    (tmp_path / "device.token").write_text("not-a-real-token\n")
    good = example.replace('url = "http://127.0.0.1:8088"', 'url = "http://127.0.0.1:9"').replace(
        'token_file = "/etc/courtroom/device.token"', f'token_file = "{tmp_path / "device.token"}"')
    (tmp_path / "good.toml").write_text(good)
    (tmp_path / "bad.toml").write_text(good.replace("retry_seconds = 3.0", "retry_seconds = 3.0\nretyr = 1"))
    bad = courtroom("--config", "bad.toml")
    out, _ = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "retyr" in out
    agent = courtroom("--config", "good.toml")
    try:
        time.sleep(4)  # long enough to start, open its sources and fail to reach the server at least once
        assert agent.poll() is None, agent.stdout.read() if agent.stdout else ""
        agent.send_signal(signal.SIGTERM)
        out, _ = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0, out
    assert "127.0.0.1:9" in out, out  # it said which server it could not reach


def test_the_v4l2_requests_are_the_kernels():
    # From linux/videodev2.h: the struct sizes are encoded in these numbers, so a wrong layout shows here.
    assert (VIDIOC_QUERYCAP, VIDIOC_ENUM_FMT) == (0x80685600, 0xC0405602)
    assert (VIDIOC_ENUM_FRAMESIZES, VIDIOC_ENUM_FRAMEINTERVALS) == (0xC02C564A, 0xC034564B)


def test_a_missing_sound_card_is_named_without_asking_alsa(tmp_path):
    from hardware.audio import _check_alsa_card
    from hardware.capture import DeviceError

    (tmp_path / "card1").mkdir()
    (tmp_path / "F8n").symlink_to("card1")
    for present in ("hw:1,0", "plughw:CARD=F8n,DEV=0", "default"):
        _check_alsa_card(present, str(tmp_path))
    for absent, card in (("hw:2,0", "2"), ("plughw:CARD=Zoom,DEV=0", "Zoom")):
        with pytest.raises(DeviceError, match=f"sound card {card} is not there"):
            _check_alsa_card(absent, str(tmp_path))
    with pytest.raises(DeviceError, match="no sound cards"):
        _check_alsa_card("hw:1,0", str(tmp_path / "nothing"))


def test_alsa_capture_devices_are_named_by_card(tmp_path):
    (tmp_path / "cards").write_text(" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
                                    "                      HDA Intel PCH at 0xf7f10000 irq 32\n"
                                    " 1 [F8n            ]: USB-Audio - ZOOM F8n\n"
                                    "                      ZOOM Corporation ZOOM F8n at usb-0000:00:14.0-2\n")
    for number, card_id in ((0, "PCH"), (1, "F8n")):
        (tmp_path / f"card{number}" / "pcm0c").mkdir(parents=True)
        (tmp_path / f"card{number}" / "pcm0p").mkdir()  # playback: not a microphone
        (tmp_path / f"card{number}" / "id").write_text(card_id + "\n")
        info = f"card: {number}\ndevice: 0\nname: USB Audio\n"
        (tmp_path / f"card{number}" / "pcm0c" / "info").write_text(info)
    (tmp_path / "card1" / "stream0").write_text("ZOOM F8n\n\nCapture:\n  Status: Stop\n    Channels: 10\n"
                                               "    Rates: 44100, 48000, 96000\n")
    mics = alsa_microphones(tmp_path)
    assert [m.source for m in mics] == ["alsa:plughw:CARD=PCH,DEV=0", "alsa:plughw:CARD=F8n,DEV=0"]
    assert mics[1].name == "ZOOM F8n: USB Audio" and mics[1].formats == ["10 ch, 44100, 48000, 96000"]
