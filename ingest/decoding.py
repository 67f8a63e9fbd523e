"""Bytes to text: declared encoding first, then UTF-8, then detection; binary is refused."""

from __future__ import annotations

import codecs
import unicodedata

from charset_normalizer import from_bytes

from ingest.errors import LoadError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAX_CONTROL_RATIO = 0.01


def decode_text(data: bytes, declared: str | None = None, *, notes: list[str] | None = None) -> str:
    """Decode a text file; raise LoadError for empty, binary or undecodable content.

    UTF-8 with a few broken bytes (a bad copy, a truncated download) is UTF-8 still: its broken
    bytes become U+FFFD and, when `notes` is given, a note says how many.
    """
    if not data.strip():
        raise LoadError("empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(data.decode(encoding, errors="strict"))
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (contains NUL bytes), not text")
    for encoding in dict.fromkeys(e for e in (declared, "utf-8") if e):
        try:
            return _checked(data.decode(encoding))
        except (UnicodeDecodeError, LookupError):
            continue
    repaired = _mostly_utf8(data)
    if repaired is not None:
        text, broken = repaired
        if notes is not None:
            notes.append(
                f"{broken} invalid UTF-8 {'sequence' if broken == 1 else 'sequences'} replaced with �"
            )
        return _checked(text)
    # Western news that is not UTF-8 is nearly always Windows-1252 / Latin-1; detection on short
    # texts confuses it with Baltic or Central European pages, so it is tried first and kept
    # only when the letters it yields look like Western European text.
    western = data.decode("cp1252", errors="replace")
    if "\ufffd" not in western and _looks_western(western):
        return _checked(western)
    best = from_bytes(data).best()
    if best is None:
        raise LoadError("undecodable text: not UTF-8 and no other encoding fits")
    return _checked(str(best))


def _mostly_utf8(data: bytes) -> tuple[str, int] | None:
    """UTF-8 text with its invalid sequences replaced, and how many there were, when valid
    multi-byte characters outnumber them three to one (a Windows-1252 file has almost none)."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    multibyte = sum(1 for char in text if ord(char) > 127) - broken
    return (text, broken) if broken and multibyte >= 3 * broken else None


def _looks_western(text: str) -> bool:
    """Few non-ASCII letters, all of them Latin-1 accented letters (é, ü, ç, œ...)."""
    letters = [char for char in text if char.isalpha()]
    accented = [char for char in letters if ord(char) > 127]
    return len(accented) <= 0.4 * max(1, len(letters)) and all(
        0xC0 <= ord(char) <= 0xFF or char in "ŒœŠšŽžŸ" for char in accented
    )


def _checked(text: str) -> str:
    """Refuse text that is mostly control characters: it was binary that happened to decode."""
    if not text.strip():
        raise LoadError("empty file")
    sample = text[:20000]
    controls = sum(
        1 for char in sample if unicodedata.category(char) in ("Cc", "Co", "Cn") and char not in "\n\r\t\f"
    )
    if controls / len(sample) > _MAX_CONTROL_RATIO:
        raise LoadError("binary file (control characters), not text")
    return text
