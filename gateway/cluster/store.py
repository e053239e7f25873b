"""The build store: builds shared by the gateways of several hosts through S3-compatible
object storage (AWS S3, MinIO, R2, ...).

```
<prefix>/<site>/<build id>.tar     the build folder (archive.pack)
<prefix>/<site>/<build id>.json    its record, put last and only if absent: present = complete
```

Blocking (obstore's sync API): call from a worker thread, like a builder.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, PreconditionError
from obstore.store import S3Store

from gateway.cluster.archive import CHUNK_SIZE, SUFFIX, pack, unpack

if TYPE_CHECKING:
    from obstore import GetOptions

_SETTING = "SITEGATE_BUILD_STORE"
# S3's rules for bucket names (MinIO's and R2's too).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
RECORD_SUFFIX = ".json"
# A dead endpoint fails in seconds: connection refused at once, a silent host after the
# connect timeout, and a couple of quick retries, bounded in time too.
CONNECT_TIMEOUT = timedelta(seconds=3)
RETRIES = 2
FIRST_BACKOFF = timedelta(milliseconds=100)
LONGEST_BACKOFF = timedelta(seconds=1)
RETRY_WINDOW = timedelta(seconds=10)
# Multipart upload: obstore holds up to PART_SIZE * PART_CONCURRENCY of the file in memory.
PART_SIZE = 8 * 1024 * 1024
PART_CONCURRENCY = 4
# A download asks for the archive a range at a time: the request timeout bounds each
# request, body included, so one GET of a large archive would need a fast link to finish.
RANGE_SIZE = 16 * 1024 * 1024
_ERROR_LIMIT = 300


class StoreError(Exception):
    """The build store could not be reached or refused an operation; one line naming both."""


class BuildNotInStore(StoreError):
    """No complete build of that id in the store."""


@dataclass(frozen=True)
class StoreLocation:
    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str | None
    access_key_id: str | None
    secret_access_key: str | None = field(repr=False)
    session_token: str | None = field(repr=False)

    @classmethod
    def parse(
        cls,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
    ) -> StoreLocation:
        """``s3://bucket`` or ``s3://bucket/some/prefix``; anything else is a ValueError."""
        bucket, prefix = _bucket_and_prefix(url)
        if endpoint_url is not None and urlsplit(endpoint_url).scheme not in ("http", "https"):
            raise ValueError(f"SITEGATE_S3_ENDPOINT_URL must be an http:// or https:// URL, not {endpoint_url!r}")
        return cls(bucket, prefix, endpoint_url, region, access_key_id, secret_access_key, session_token)

    def describe(self) -> str:
        """Where, for messages: never the credentials."""
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where


class BuildStore:
    """Upload and download builds. Blocking: call from a worker thread."""

    def __init__(self, location: StoreLocation, timeout_seconds: float = 30.0) -> None:
        self.location = location
        with self._failing("setting up the client"):
            self._store = _client(location, timedelta(seconds=timeout_seconds))

    def has(self, site: str, build_id: str) -> bool:
        """Whether the store holds the complete build (its record is there)."""
        with self._failing(f"looking for {site}/{build_id}"):
            try:
                obstore.head(self._store, _key(site, build_id, RECORD_SUFFIX))
            except FileNotFoundError:
                return False
        return True

    def upload(self, site: str, build_id: str, build_path: Path, record_json: str) -> bool:
        """Put the build and then its record; False when it was there already (or another
        gateway put it first). A folder that cannot be packed raises ``ArchiveError``."""
        if self.has(site, build_id):
            return False
        with tempfile.TemporaryDirectory(prefix="sitegate-upload-") as scratch:
            archive = Path(scratch) / f"{build_id}{SUFFIX}"
            pack(build_path, archive)
            with self._failing(f"uploading {site}/{build_id}"):
                # An archive left by an upload that stopped before its record is overwritten:
                # only a record says an archive is complete.
                obstore.put(
                    self._store,
                    _key(site, build_id, SUFFIX),
                    archive,
                    chunk_size=PART_SIZE,
                    max_concurrency=PART_CONCURRENCY,
                )
        with self._failing(f"uploading the record of {site}/{build_id}"):
            try:
                obstore.put(self._store, _key(site, build_id, RECORD_SUFFIX), record_json.encode(), mode="create")
            except (AlreadyExistsError, PreconditionError):
                # Another gateway completed the same build meanwhile: same id, same inputs.
                return False
        return True

    def download(self, site: str, build_id: str, into: Path) -> str:
        """Unpack the build into the empty folder ``into``; its record's JSON text. Raises
        ``BuildNotInStore``, ``StoreError``, or ``ArchiveError`` for an archive refused."""
        with self._failing(f"downloading the record of {site}/{build_id}"):
            record = bytes(obstore.get(self._store, _key(site, build_id, RECORD_SUFFIX)).bytes()).decode()
        with tempfile.TemporaryDirectory(prefix="sitegate-download-") as scratch:
            archive = Path(scratch) / f"{build_id}{SUFFIX}"
            with self._failing(f"downloading {site}/{build_id}"):
                self._fetch(_key(site, build_id, SUFFIX), archive)
            unpack(archive, into)
        return record

    def ping(self) -> None:
        """Raise StoreError unless the store answers (one HEAD of a key that need not exist)."""
        with self._failing("ping"):
            try:
                obstore.head(self._store, ".ping")
            except FileNotFoundError:
                pass

    def _fetch(self, key: str, into: Path) -> None:
        meta = obstore.head(self._store, key)
        size = meta["size"]
        with into.open("wb") as sink:
            for start in range(0, size, RANGE_SIZE):
                # if_match: the same object from the first range to the last, should an
                # upload replace it meanwhile.
                options: GetOptions = {"if_match": meta["e_tag"], "range": (start, min(start + RANGE_SIZE, size))}
                for chunk in obstore.get(self._store, key, options=options).stream(min_chunk_size=CHUNK_SIZE):
                    sink.write(chunk)
            if sink.tell() != size:
                raise StoreError(f"build store {self.location.describe()}: {key} ended at {sink.tell()} of {size} bytes")

    @contextmanager
    def _failing(self, operation: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise BuildNotInStore(f"build store {self.location.describe()}: {operation}: not in the store") from None
        except BaseError as error:
            raise StoreError(f"build store {self.location.describe()}: {operation} failed: {_first_line(error)}") from None


def _client(location: StoreLocation, timeout: timedelta) -> S3Store:
    credentials = {
        "access_key_id": location.access_key_id,
        "secret_access_key": location.secret_access_key,
        "session_token": location.session_token,
        "region": location.region,
        "endpoint": location.endpoint_url,
    }
    return S3Store(
        location.bucket,
        prefix=location.prefix or None,
        config={name: value for name, value in credentials.items() if value is not None},
        # MinIO and moto answer at one host for every bucket: path-style. AWS wants the bucket
        # in the host name.
        virtual_hosted_style_request=location.endpoint_url is None,
        client_options={
            "connect_timeout": CONNECT_TIMEOUT,
            "timeout": timeout,
            "allow_http": (location.endpoint_url or "").startswith("http://"),
        },
        retry_config={
            "max_retries": RETRIES,
            "backoff": {"init_backoff": FIRST_BACKOFF, "max_backoff": LONGEST_BACKOFF, "base": 2},
            "retry_timeout": RETRY_WINDOW,
        },
    )


def _bucket_and_prefix(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # Not echoed: what comes before the @ may be a secret.
        raise ValueError(f"{_SETTING} takes no credentials in the URL: pass them as their own settings")
    prefix = parts.path.strip("/")
    segments = prefix.split("/") if prefix else []
    if parts.scheme != "s3" or not _BUCKET.fullmatch(parts.netloc) or parts.query or parts.fragment:
        raise ValueError(f"{_SETTING} must be s3://bucket or s3://bucket/prefix, not {url!r}")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"{_SETTING}: the prefix of {url!r} has an empty, '.' or '..' part")
    return parts.netloc, prefix


def _key(site: str, build_id: str, suffix: str) -> str:
    for part in (site, build_id):
        if part in ("", ".", "..") or "/" in part:
            raise ValueError(f"not a site or build id for the build store: {part!r}")
    return f"{site}/{build_id}{suffix}"


def _first_line(error: BaseException) -> str:
    line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return line if len(line) <= _ERROR_LIMIT else line[:_ERROR_LIMIT] + "…"
