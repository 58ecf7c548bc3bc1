#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine, installed only when missing:
# Debian's chromium + chromium-driver + ffmpeg, GStreamer with webrtcbin and python3-gi, a running Redis on 127.0.0.1:6379, a running PostgreSQL on
# 127.0.0.1:5432 that the local user `postgres` reaches without a password (the archive's tests create and
# drop databases of their own there), and the Python package with its test extras in .venv. Safe to run again: it only does what is not done yet.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
# A second, independent WebRTC stack for tests/test_gstreamer_client.py: GStreamer's webrtcbin (libnice ICE,
# its own DTLS/SRTP), driven by Debian's /usr/bin/python3 through python3-gi.
for pkg in python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 \
        gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
        gstreamer1.0-nice gir1.2-nice-0.1 gstreamer1.0-libav; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "==> starting redis-server on 127.0.0.1:6379"
    $SUDO mkdir -p /var/lib/redis /var/log/redis
    $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "==> starting PostgreSQL on 127.0.0.1:5432"
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql/"$version"/main >/dev/null 2>&1; then
        $SUDO pg_ctlcluster "$version" main start || true
    else
        $SUDO pg_createcluster "$version" main --start -- --auth-local=trust --auth-host=trust
    fi
    for _ in $(seq 1 100); do
        pg_isready -h 127.0.0.1 -p 5432 -q && break
        sleep 0.1
    done
    pg_isready -h 127.0.0.1 -p 5432
fi

scripts/install.sh test
