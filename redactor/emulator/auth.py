"""Every emulated bucket is private: a request is authenticated as COS does it (an
Authorization header, ``q-*`` query parameters, or ``sign=``), with
:func:`redactor.cos.signing.verify` over the decoded path and all received query parameters."""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Mapping

from redactor.cos.signing import parse_authorization, verify
from redactor.emulator.protocol import ErrorReply, Request, as_utf8, split_host


def authenticate(
    request: Request,
    permanent: Mapping[str, str],
    temporary: Mapping[str, tuple[str, str]],
    now: float,
) -> None:
    """Raise :class:`ErrorReply` unless ``request`` is signed by a known key, within its
    signing time. ``permanent``: SecretId to SecretKey; ``temporary``: SecretId to (SecretKey,
    security token), whose requests must carry the token."""
    auth = request.headers.get("authorization", "")
    if auth:
        fields = parse_authorization(auth)
    elif request.has("q-signature"):
        fields = {k: v for k, v in request.params if k.startswith("q-")}
    elif request.has("sign"):
        fields = parse_authorization(request.param("sign") or "")
    else:
        raise ErrorReply(403, "AccessDenied", "Access Denied: the bucket is private and the request is anonymous.")
    secret_id = fields.get("q-ak", "")
    session = temporary.get(secret_id)
    if session is not None:
        secret_key, token = session
        sent = request.headers.get("x-cos-security-token") or request.param("x-cos-security-token")
        if not sent:
            raise ErrorReply(403, "InvalidAccessKeyId", "The temporary SecretId needs x-cos-security-token.")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise ErrorReply(403, "AccessDenied", "The security token does not match the temporary SecretId.")
    elif secret_id in permanent:
        secret_key = permanent[secret_id]
    else:
        raise ErrorReply(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
    try:
        start, end = (int(t) for t in fields.get("q-sign-time", "").split(";"))
    except ValueError:
        raise ErrorReply(403, "AccessDenied", "Invalid q-sign-time.") from None
    if not start <= now <= end:
        raise ErrorReply(403, "AccessDenied", "Request has expired")
    params = [(k, v) for k, v in request.params if not k.startswith("q-") and k != "sign"]
    signed_headers = {k: as_utf8(v) for k, v in request.headers.items()}
    hosts = [signed_headers.get("host", request.host)]
    hosts.append(split_host(hosts[0]))
    paths = [request.path, "/" + request.key] if request.path_style else [request.path]
    for host, path in itertools.product(dict.fromkeys(hosts), paths):
        signed_headers["host"] = host
        if verify(
            fields=fields,
            secret_key=secret_key,
            method=request.method,
            path=path,
            params=params,
            headers=signed_headers,
        ):
            return
    raise ErrorReply(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    )
