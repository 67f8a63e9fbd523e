"""An article's identity: its own id, else its canonical URL, else its title and date."""

from __future__ import annotations

import hashlib
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ocid", "cmpid", "ref", "ref_src"}
)


def canonical_url(url: str) -> str:
    """The URL with case, default ports, fragments, tracking parameters and trailing slashes normalised."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not key.lower().startswith("utm_") and key.lower() not in _TRACKING_PARAMS
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, host, path, query, ""))


def article_id(explicit: str | None, url: str | None, title: str, published_at: date | None) -> str:
    """A stable id: the source's own id when it has one, else a hash of the URL or title and date."""
    if explicit and explicit.strip():
        return explicit.strip()
    if url:
        return "u-" + _digest(canonical_url(url))
    key = " ".join(title.lower().split()) + "|" + (published_at.isoformat() if published_at else "")
    return "t-" + _digest(key)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
