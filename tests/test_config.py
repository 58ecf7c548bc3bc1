"""Configuration: the shipped default file equals the embedded defaults; overrides are typed and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearing_server.config import ConfigError, Settings, load_settings

DEFAULT = Path(__file__).resolve().parent.parent / "config" / "default.toml"


def test_default_toml_documents_exactly_the_embedded_defaults():
    assert load_settings(DEFAULT, environ={}) == Settings()


def test_environment_overrides_the_file(tmp_path):
    file = tmp_path / "court.toml"
    file.write_text('[server]\nport = 9000\n[media]\nstun_urls = ["stun:a:3478"]\n')
    settings = load_settings(file, environ={
        "COURTROOM_SERVER_PORT": "9100",
        "COURTROOM_STATE_BACKEND": "redis",
        "COURTROOM_MEDIA_ICE_ADDRESSES": "127.0.0.1, 10.0.0.5",
        "COURTROOM_MEDIA_TURN_URLS": '["turn:t:3478"]',
        "COURTROOM_MEDIA_FPS": "10",
        "OTHER_VARIABLE": "ignored",
    })
    assert settings.server.port == 9100
    assert settings.state.backend == "redis"
    assert settings.media.ice_addresses == ["127.0.0.1", "10.0.0.5"]
    assert settings.media.turn_urls == ["turn:t:3478"]
    assert settings.media.stun_urls == ["stun:a:3478"]
    assert settings.media.fps == 10


@pytest.mark.parametrize("text, message", [
    ("[server]\nprot = 1\n", "unknown setting server.prot"),
    ("[sever]\nport = 1\n", "unknown section"),
    ("[server]\nport = 'eighty'\n", "expected an integer"),
    ("[state]\nbackend = 'postgres'\n", "state.backend"),
    ("[media]\nwidth = 1000\n", "multiple of 16"),
    ("[media]\nice_nat_mapping = ['10.0.0.1']\n", "private=public"),
    ("[server\n", "Expected"),
    ("[server]\nevent_loop = 'trio'\n", "server.event_loop"),
    ("[media]\nvoice_bitrate = 1000\n", "media.voice_bitrate"),
])
def test_bad_configuration_is_refused_with_a_reason(tmp_path, text, message):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(file, environ={})


def test_missing_file_and_bad_environment_values(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="expected true or false|expected a number"):
        load_settings(None, environ={"COURTROOM_MEDIA_RECONNECT_GRACE_SECONDS": "soon"})
