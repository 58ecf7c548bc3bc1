"""Where finished recordings live: a local folder (embedded default) or S3-compatible object storage.

Both backends verify what they stored against the SHA-256 the recorder computed, so "uploaded" always
means "the store holds exactly these bytes". The S3 backend runs boto3 in threads (never on the event
loop), sends SHA-256 checksums with every part, and signs time-limited download URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Protocol

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from .download_name import content_disposition

CHUNK = 1 << 20


class StorageError(Exception):
    """The store could not be reached or refused the object; the caller retries later."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str  # as recorded when it was stored; "" if unknown


class Storage(Protocol):
    name: str

    async def put(self, key: str, path: Path, sha256: str) -> StoredObject: ...

    async def stat(self, key: str) -> StoredObject | None: ...

    async def read(self, key: str) -> bytes: ...

    def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...

    async def download_url(self, key: str, filename: str, expires: int) -> str | None:
        """A direct, expiring URL for a browser, or None when the server must stream the bytes itself."""
        ...

    async def list(self, prefix: str) -> list[str]: ...

    def recordings(self, after: str = "") -> AsyncIterator[str]:
        """The hearing ids the store holds a folder for, in key order, after `after` (a reindex resumes)."""
        ...

    async def delete_recording(self, hearing_id: str) -> int:
        """Every object of one recording (retention); returns how many were removed."""
        ...


def _safe_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    async def put(self, key: str, path: Path, sha256: str) -> StoredObject:
        return await asyncio.to_thread(self._put, key, path, sha256)

    def _put(self, key: str, source: Path, sha256: str) -> StoredObject:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while block := src.read(CHUNK):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                Path(tmp).unlink(missing_ok=True)
                raise StorageError(f"{source} changed while it was stored (hash mismatch)")
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(f"local store: {exc}") from exc
        return StoredObject(key, size, sha256)

    async def stat(self, key: str) -> StoredObject | None:
        path = self.path(key)
        if not path.is_file():
            return None
        return StoredObject(key, path.stat().st_size, "")

    async def read(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(key).read_bytes)
        except OSError as exc:
            raise StorageError(f"local store: {exc}") from exc

    async def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self.path(key)
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                block = await asyncio.to_thread(handle.read, CHUNK if remaining is None else min(CHUNK, remaining))
                if not block:
                    break
                if remaining is not None:
                    remaining -= len(block)
                yield block
        finally:
            handle.close()

    async def download_url(self, key: str, filename: str, expires: int) -> str | None:
        return None

    async def list(self, prefix: str) -> list[str]:
        def walk() -> list[str]:
            base = self.root / prefix if prefix else self.root
            if not base.exists():
                return []
            return sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                          if p.is_file() and not p.name.startswith(".upload-"))

        return await asyncio.to_thread(walk)

    async def recordings(self, after: str = "") -> AsyncIterator[str]:
        names = await asyncio.to_thread(lambda: sorted(p.name for p in self.root.iterdir() if p.is_dir())
                                        if self.root.exists() else [])
        for name in names:
            if name > after:
                yield name

    async def delete_recording(self, hearing_id: str) -> int:
        folder = self.path(hearing_id)

        def remove() -> int:
            if not folder.is_dir():
                return 0
            files = [p for p in folder.rglob("*") if p.is_file()]
            for path in files:
                path.unlink()
            for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
                sub.rmdir()
            folder.rmdir()
            _fsync_dir(self.root)
            return len(files)

        return await asyncio.to_thread(remove)


class S3Storage:
    name = "s3"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str = "", region: str = "",
                 access_key_id: str = "", secret_access_key: str = "", multipart_threshold_mb: int = 16,
                 connect_timeout: float = 5.0) -> None:
        self.bucket = bucket
        self.prefix = prefix
        session = boto3.session.Session()
        self.client = session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=BotoConfig(
                # boto3 retries a few times itself; the uploader retries for as long as it takes after that.
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=connect_timeout,
                read_timeout=30,
                signature_version="s3v4",
                s3={"addressing_style": "path"} if endpoint_url else None,
                request_checksum_calculation="when_supported",
            ),
        )
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold_mb * 1024 * 1024,
                                       multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)

    def _key(self, key: str) -> str:
        return self.prefix + _safe_key(key)

    async def ensure_bucket(self) -> None:
        def create() -> None:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError:
                region = self.client.meta.region_name
                if region and region != "us-east-1":  # AWS wants the region named everywhere but there
                    self.client.create_bucket(Bucket=self.bucket,
                                              CreateBucketConfiguration={"LocationConstraint": region})
                else:
                    self.client.create_bucket(Bucket=self.bucket)

        await self._call(create)

    async def _call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageError(f"s3: {exc}") from exc

    async def put(self, key: str, path: Path, sha256: str) -> StoredObject:
        def upload() -> StoredObject:
            self.client.upload_file(
                str(path), self.bucket, self._key(key), Config=self.transfer,
                ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {"sha256": sha256}})
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            stored = StoredObject(key, int(head["ContentLength"]), head.get("Metadata", {}).get("sha256", ""))
            # Trust, but verify: some S3 implementations accept a part with a wrong checksum.
            if stored.size != path.stat().st_size or stored.sha256 != sha256:
                raise StorageError(f"s3: {key} stored as {stored.size} bytes / {stored.sha256[:12]}, "
                                   f"expected {path.stat().st_size} / {sha256[:12]}")
            return stored

        return await self._call(upload)

    async def stat(self, key: str) -> StoredObject | None:
        def head() -> StoredObject | None:
            try:
                found = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
            return StoredObject(key, int(found["ContentLength"]), found.get("Metadata", {}).get("sha256", ""))

        return await self._call(head)

    async def read(self, key: str) -> bytes:
        def get() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

        return await self._call(get)

    async def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        byte_range = f"bytes={start}-{'' if end is None else end}"
        response = await self._call(self.client.get_object, Bucket=self.bucket, Key=self._key(key),
                                    Range=byte_range)
        body = response["Body"]
        try:
            while block := await self._call(body.read, CHUNK):
                yield block
        finally:
            body.close()

    async def download_url(self, key: str, filename: str, expires: int) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:  # a download; without it, a URL a <video> element can play and seek
            params["ResponseContentDisposition"] = content_disposition(filename)
        return await self._call(self.client.generate_presigned_url, "get_object", Params=params,
                                ExpiresIn=expires)

    async def list(self, prefix: str) -> list[str]:
        def walk() -> list[str]:
            keys: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                keys.extend(item["Key"][len(self.prefix):] for item in page.get("Contents", []))
            return sorted(keys)

        return await self._call(walk)

    async def recordings(self, after: str = "") -> AsyncIterator[str]:
        # One folder per recording: the listing by delimiter names folders, a thousand to a request,
        # without listing each recording's segments.
        token = ""
        while True:
            params = {"Bucket": self.bucket, "Prefix": self.prefix, "Delimiter": "/", "MaxKeys": 1000}
            if token:
                params["ContinuationToken"] = token
            elif after:
                params["StartAfter"] = f"{self.prefix}{after}/~"  # past every key of the folder `after`
            page = await self._call(self.client.list_objects_v2, **params)
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(self.prefix):].rstrip("/")
                if name > after:
                    yield name
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    async def delete_recording(self, hearing_id: str) -> int:
        keys = [self._key(k) for k in await self.list(f"{hearing_id}/")]
        for start in range(0, len(keys), 1000):
            batch = {"Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True}
            result = await self._call(self.client.delete_objects, Bucket=self.bucket, Delete=batch)
            if result.get("Errors"):
                first = result["Errors"][0]
                raise StorageError(f"s3: {first.get('Key')}: {first.get('Code')} {first.get('Message')}")
        return len(keys)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

