"""Our COS client from CLI-style settings: the one place every entry point (CLI, SCF handler,
library) gets a configured client from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redactor.cos.client import CosClient
from redactor.cos.config import DEFAULT_AI_RATE, CosConfig, resolve_credentials
from redactor.errors import RedactorError, UsageError

if TYPE_CHECKING:
    from redactor.cos.ratelimit import Limiter


def make_cos_client(
    *,
    endpoint: str | None = None,
    region: str | None = None,
    bucket: str | None = None,
    ci_rate: float | None = None,
    ai_limiter: Limiter | None = None,
) -> CosClient:
    """Our COS client from CLI-style settings (env, ``~/.cos.yaml``, ``--endpoint``/``--region``);
    ``ci_rate``: AILicenseRec requests/s for the whole process (default 50, under the 100/s account limit);
    ``ai_limiter``: asked before each AILicenseRec call instead (a cluster-wide rate)."""
    try:
        rate = ci_rate if ci_rate is not None else DEFAULT_AI_RATE
        config = CosConfig.from_env(region=region, endpoint=endpoint, bucket=bucket, ai_rate_limit=rate)
        client = CosClient(config, resolve_credentials())
    except RedactorError as exc:
        raise UsageError(str(exc)) from None
    if ai_limiter is not None:
        client.use_limiter("ai", ai_limiter)
    return client
