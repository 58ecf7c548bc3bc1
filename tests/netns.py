"""A participant's own network, made for a test or a bench: a network namespace joined to this host by a
veth pair, its link shaped by `tc tbf` in both directions (the kernel here has tbf, not netem).

    with ShapedLink(300) as link:            # 300 kbit/s each way
        server listens on link.host_ip; the party runs under `ip netns exec link.namespace ...`
        link.shape(1000)                    # change the rate on the fly

Needs root and iproute2 (scripts/setup-test-env.sh). Every name and the /30 subnet are picked at random, so
runs side by side do not meet; everything is deleted on exit, even after a failure.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from types import TracebackType


def available() -> str:
    """Why shaped links cannot be made here ("" when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "iproute2 (ip, tc) is missing"
    return ""


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=10)


class ShapedLink:
    def __init__(self, rate_kbit: int, burst_bytes: int = 16000, latency_ms: int = 100) -> None:
        tag = f"{os.getpid() % 10000}{random.randrange(1000):03d}"
        self.namespace = f"court-{tag}"
        self.host_dev, self.party_dev = f"cth{tag}", f"ctp{tag}"
        # 10.201.0.0/16 in /30s: .1 the host, .2 the party
        block = random.randrange(16384) * 4
        prefix = f"10.201.{block // 256}"
        self.host_ip, self.party_ip = f"{prefix}.{block % 256 + 1}", f"{prefix}.{block % 256 + 2}"
        self.rate_kbit = rate_kbit
        self.burst_bytes = burst_bytes
        self.latency_ms = latency_ms
        self._made = False

    def __enter__(self) -> ShapedLink:
        why = available()
        if why:
            raise RuntimeError(f"cannot shape a link: {why}")
        self._made = True
        try:
            _run("ip", "netns", "add", self.namespace)
            _run("ip", "link", "add", self.host_dev, "type", "veth", "peer", "name", self.party_dev)
            _run("ip", "link", "set", self.party_dev, "netns", self.namespace)
            _run("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_dev)
            _run("ip", "link", "set", self.host_dev, "up")
            self.exec("ip", "addr", "add", f"{self.party_ip}/30", "dev", self.party_dev)
            self.exec("ip", "link", "set", self.party_dev, "up")
            self.exec("ip", "link", "set", "lo", "up")
            self._qdisc("add")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def exec(self, *args: str) -> None:
        _run("ip", "netns", "exec", self.namespace, *args)

    def command(self, *args: str) -> list[str]:
        """`args` run inside the party's namespace."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def shape(self, rate_kbit: int) -> None:
        """Change both directions' rate now."""
        self.rate_kbit = rate_kbit
        self._qdisc("change")

    def _qdisc(self, verb: str) -> None:
        tbf = ["tbf", "rate", f"{self.rate_kbit}kbit", "burst", str(self.burst_bytes), "latency",
               f"{self.latency_ms}ms"]
        _run("tc", "qdisc", verb, "dev", self.host_dev, "root", *tbf)  # towards the party
        self.exec("tc", "qdisc", verb, "dev", self.party_dev, "root", *tbf)  # from the party

    def close(self) -> None:
        if not self._made:
            return
        self._made = False
        subprocess.run(["ip", "link", "del", self.host_dev], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=10)
