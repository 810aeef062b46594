"""HTTPS webhook sink: POST each record as JSON; only a 2xx answer counts as delivered (urllib only).

* ``https://`` required (config validation allows plain ``http://`` to loopback addresses only, for
  local test receivers). Server certificate and host name verified against ``ca_file`` or the system
  store; TLS 1.2 minimum; optional client certificate (mutual TLS); optional bearer token from a file.
* Redirects are refused (a redirect could downgrade to http or move records to another host).
* Headers: ``Content-Type: application/json``, ``Idempotency-Key`` and ``X-Ekyc-Record-Id`` (the record
  id, for de-duplication), ``X-Ekyc-Kiosk-Id``.
* 401, 403, 408, 425, 429 and 5xx are sink-level trouble (sink back-off); other 4xx mean the receiver
  rejected this record (kept, retried at the maximum interval, reported by doctor).
"""

from __future__ import annotations

import logging
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.records.sink import DeliveryError

log = logging.getLogger(__name__)

# Sink-level trouble (auth, overload): back off the whole sink. Other 4xx: this record was refused.
TRANSIENT_STATUS = {401, 403, 408, 425, 429}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


class WebhookSink:
    """``cfg``: :class:`~kiosk.config.records.WebhookConfig`. ``kiosk_id``: sent as a header."""

    name = "webhook"

    def __init__(self, cfg: Any, kiosk_id: str, base_dir: Path | None = None) -> None:
        self.cfg = cfg
        self.kiosk_id = kiosk_id
        self.base_dir = base_dir
        self._opener: urllib.request.OpenerDirector | None = None

    def _path(self, p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() or self.base_dir is None else self.base_dir / q

    def _build_opener(self) -> urllib.request.OpenerDirector:
        handlers: list[Any] = [_NoRedirect()]
        if str(self.cfg.url).startswith("https:"):
            ctx = ssl.create_default_context(
                cafile=str(self._path(self.cfg.ca_file)) if self.cfg.ca_file else None
            )
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.cfg.client_cert_file:
                key = str(self._path(self.cfg.client_key_file)) if self.cfg.client_key_file else None
                ctx.load_cert_chain(str(self._path(self.cfg.client_cert_file)), key)
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        return urllib.request.build_opener(*handlers)

    def _token(self) -> str | None:
        if not self.cfg.auth_token_file:
            return None
        p = self._path(self.cfg.auth_token_file)
        try:
            return p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DeliveryError(f"cannot read webhook token file {p}: {exc.strerror}") from None

    def deliver(self, record_id: str, payload: bytes) -> None:
        """POST ``payload``; return on 2xx, raise :class:`DeliveryError` otherwise."""
        if self._opener is None:
            try:
                self._opener = self._build_opener()
            except (OSError, ssl.SSLError) as exc:
                raise DeliveryError(f"webhook TLS setup failed: {exc}") from None
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": record_id,
            "X-Ekyc-Record-Id": record_id,
            "X-Ekyc-Kiosk-Id": self.kiosk_id,
            "User-Agent": f"ekyc-kiosk/{__version__}",
        }
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.cfg.url, data=payload, headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=float(self.cfg.timeout_s)) as resp:
                status = int(resp.status)
                resp.read(65536)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            exc.close()
            permanent = 400 <= status < 500 and status not in TRANSIENT_STATUS
            raise DeliveryError(
                f"webhook answered HTTP {status} for record {record_id}", permanent=permanent
            ) from None
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"webhook {self.cfg.url} unreachable: {reason}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook answered HTTP {status} for record {record_id}")

    def close(self) -> None:
        self._opener = None
