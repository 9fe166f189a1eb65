"""Where COS credentials, region and endpoint come from (reference section 6).

Credentials never appear in a repr or an error message: only which source was used.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from redactor.cos.errors import CosConfigError, CosRequestError

#: The coscli key: ASCII ``coscli-secret`` zero-padded to 16 bytes (AES-128).
COSCLI_KEY = b"coscli-secret".ljust(16, b"\x00")

#: AILicenseRec request rate when the caller enables limiting without a figure.
DEFAULT_AI_RATE = 50.0

_ENV_SOURCES = (
    ("COS_SECRET_ID", "COS_SECRET_KEY", "COS_SESSION_TOKEN"),
    ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"),
    ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"),
)

REGION_ALIASES = {
    "cossh": "ap-shanghai",
    "cosgz": "ap-guangzhou",
    "cosbj": "ap-beijing",
    "costj": "ap-beijing-1",
    "coscd": "ap-chengdu",
    "cossgp": "ap-singapore",
    "coshk": "ap-hongkong",
    "cosca": "na-toronto",
    "cosger": "eu-frankfurt",
    "bj": "ap-beijing",
    "gz": "ap-guangzhou",
    "sh": "ap-shanghai",
    "cd": "ap-chengdu",
    "tj": "ap-beijing-1",
    "hk": "ap-hongkong",
    "cq": "ap-chongqing",
    "sgp": "ap-singapore",
    "ca": "na-toronto",
    "ger": "eu-frankfurt",
}

_REGION_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_BUCKET_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?-[0-9]+$")


@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "explicit"

    def __post_init__(self) -> None:
        for name, value in (("secret id", self.secret_id), ("secret key", self.secret_key)):
            if not value:
                raise CosConfigError(f"COS {name} is empty (source: {self.source})")
            if value != value.strip():
                raise CosConfigError(f"COS {name} has leading or trailing spaces (source: {self.source})")

    def __repr__(self) -> str:
        token = ", token=***" if self.token else ""
        return f"Credentials(secret_id={self.secret_id!r}, secret_key=***{token}, source={self.source!r})"


def coscli_encrypt(plain: str) -> str:
    """coscli's at-rest scheme (AES-128-ECB, zero padding, base64); used by tests and tools."""
    data = plain.encode("utf-8")
    data += b"\x00" * (-len(data) % 16)
    enc = Cipher(algorithms.AES(COSCLI_KEY), modes.ECB()).encryptor()  # noqa: S305 - coscli's format
    return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii")


def coscli_decrypt(value: str) -> str:
    """Decrypt a coscli secret, falling back to the raw value like coscli does."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
    if not raw or len(raw) % 16:
        return value
    dec = Cipher(algorithms.AES(COSCLI_KEY), modes.ECB()).decryptor()  # noqa: S305 - coscli's format
    plain = (dec.update(raw) + dec.finalize()).rstrip(b"\x00")
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        return value
    return text if text.isprintable() else value


def load_coscli(home: Path) -> dict[str, Any]:
    """The ``cos:`` section of ``~/.cos.yaml`` ({} if absent or unreadable)."""
    path = home / ".cos.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    cos = data.get("cos") if isinstance(data, dict) else None
    return cos if isinstance(cos, dict) else {}


def _coscli_credentials(home: Path) -> Credentials | None:
    base = load_coscli(home).get("base")
    if not isinstance(base, dict):
        return None
    plain = str(base.get("disableencryption", "")).lower() == "true"

    def value(name: str) -> str:
        raw = base.get(name)
        text = "" if raw is None else str(raw)
        return text if plain or not text else coscli_decrypt(text)

    secret_id, secret_key, token = value("secretid"), value("secretkey"), value("sessiontoken")
    if not secret_id and not secret_key:
        return None
    return Credentials(secret_id, secret_key, token or None, source=str(home / ".cos.yaml"))


def resolve_credentials(
    explicit: Credentials | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Credentials:
    """Explicit, then COS_*, TENCENTCLOUD_*_*, TENCENTCLOUD_* (SCF), then coscli's ``~/.cos.yaml``."""
    if explicit is not None:
        return explicit
    env = os.environ if env is None else env
    for id_var, key_var, token_var in _ENV_SOURCES:
        secret_id, secret_key = env.get(id_var), env.get(key_var)
        if secret_id or secret_key:
            return Credentials(secret_id or "", secret_key or "", env.get(token_var) or None, source=id_var)
    found = _coscli_credentials(Path.home() if home is None else home)
    if found is not None:
        return found
    raise CosConfigError(
        "no COS credentials: set COS_SECRET_ID/COS_SECRET_KEY (or TENCENTCLOUD_SECRET_ID/KEY) or run coscli config"
    )


def normalize_region(region: str) -> str:
    """Map legacy aliases (``cossh``, ``bj``...) and refuse anything that cannot be a host label."""
    value = region.strip().lower()
    value = value.removeprefix("cos.")
    value = REGION_ALIASES.get(value, value)
    if not _REGION_RE.match(value):
        raise CosConfigError(f"invalid COS region {region!r}")
    return value


def validate_bucket(bucket: str, appid: str | None = None) -> str:
    """``<name>-<appid>`` (appending the appid when configured and missing)."""
    if appid and not bucket.endswith(f"-{appid}"):
        bucket = f"{bucket}-{appid}"
    if not _BUCKET_RE.match(bucket):
        raise CosRequestError(f"invalid bucket name {bucket!r} (expected <name>-<appid>, [A-Za-z0-9-])")
    return bucket


def resolve_region(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    bucket: str | None = None,
) -> str:
    """Explicit, then ``COS_REGION``, then the bucket's entry in coscli's config."""
    env = os.environ if env is None else env
    if explicit:
        return normalize_region(explicit)
    if env.get("COS_REGION"):
        return normalize_region(env["COS_REGION"])
    buckets = load_coscli(Path.home() if home is None else home).get("buckets")
    if isinstance(buckets, list):
        for entry in buckets:
            if isinstance(entry, dict) and entry.get("region") and bucket in (entry.get("name"), entry.get("alias")):
                return normalize_region(str(entry["region"]))
    raise CosConfigError("no COS region: pass --region or set COS_REGION")


@dataclass(frozen=True)
class CosConfig:
    """Where and how to talk to COS. ``endpoint`` (e.g. the emulator) only changes where
    requests are sent: the Host header and the signature keep the bucket's virtual host."""

    region: str
    endpoint: str | None = None
    scheme: str = "https"
    appid: str | None = None
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_attempts: int = 5
    deadline: float = 60.0
    rate_limit: float | None = None
    ai_rate_limit: float | None = None
    multipart_threshold: int = 64 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024
    sign_expiry: int = 900

    def __post_init__(self) -> None:
        object.__setattr__(self, "region", normalize_region(self.region))
        if self.scheme not in ("http", "https"):
            raise CosConfigError(f"invalid scheme {self.scheme!r}")
        if self.endpoint is not None:
            parts = urlsplit(self.endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
                raise CosConfigError(f"invalid COS endpoint {self.endpoint!r} (expected http(s)://host[:port])")
        if self.max_attempts < 1 or self.part_size < 1024 * 1024 or self.multipart_threshold < self.part_size:
            raise CosConfigError("max_attempts >= 1, part_size >= 1 MiB and multipart_threshold >= part_size")

    @classmethod
    def from_env(
        cls,
        region: str | None = None,
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        bucket: str | None = None,
        **options: Any,
    ) -> CosConfig:
        """Region and endpoint from arguments, then ``COS_REGION``/``COS_ENDPOINT``, then coscli."""
        env = os.environ if env is None else env
        return cls(
            region=resolve_region(region, env, home, bucket),
            endpoint=endpoint or env.get("COS_ENDPOINT") or None,
            appid=options.pop("appid", None) or env.get("COS_APPID") or None,
            **options,
        )

    def bucket_host(self, bucket: str) -> str:
        return f"{validate_bucket(bucket, self.appid)}.cos.{self.region}.myqcloud.com"

    def base_url(self, bucket: str) -> str:
        """Scheme and authority requests go to (the endpoint if set, else the bucket host)."""
        if self.endpoint is not None:
            return self.endpoint.rstrip("/")
        return f"{self.scheme}://{self.bucket_host(bucket)}"


def parse_cos_url(url: str) -> tuple[str, str]:
    """``cos://bucket-1250000000/prefix/`` -> (bucket, prefix); the scheme is case-insensitive."""
    if url[:6].lower() != "cos://":
        raise CosRequestError(f"not a cos:// URL: {url!r}")
    bucket, _, prefix = url[6:].partition("/")
    return validate_bucket(bucket), prefix
