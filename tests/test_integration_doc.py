"""docs/examples/minimal_client.py, the client docs/integration.md gives integrators, works as it says: run
as a program against a real server, it waits in the lobby, is admitted, and receives the hearing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from .waiting import until

pytestmark = pytest.mark.media

CLIENT = Path(__file__).resolve().parent.parent / "docs" / "examples" / "minimal_client.py"


async def test_the_documented_minimal_client_joins_and_receives_the_hearing(api):
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    hid = hearing["id"]
    invite = await api.invite(judge, hid, "Mina Client", "witness")
    client = await asyncio.create_subprocess_exec(
        sys.executable, str(CLIENT), "--server", api.base, "--token", invite["token"], "--seconds", "8",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async def waiting() -> list:
            return (await api.ok("GET", f"/api/hearings/{hid}/lobby", token=judge))["entrants"]
        entrant = (await until(waiting, 20.0, 0.2, what="the client in the lobby"))[0]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{entrant['id']}/admit", token=judge)
        out, err = await asyncio.wait_for(client.communicate(), 40.0)
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
    text = out.decode()
    assert client.returncode == 0, (text[-2000:], err.decode()[-2000:])
    assert '"type": "welcome"' in text and '"type": "admitted"' in text and '"state": "connected"' in text
    last = [line for line in text.splitlines() if line.startswith("connection ")][-1]
    assert last.startswith("connection connected, admitted True"), last
