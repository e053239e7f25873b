"""Which uploads are allowed, judged by their first bytes rather than their name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

# Enough bytes for every signature below (WebP's is at offset 8).
SNIFF_BYTES = 16

EXTENSIONS: Mapping[str, frozenset[str]] = {
    "image/png": frozenset({".png"}),
    "image/jpeg": frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}),
    "image/gif": frozenset({".gif"}),
    "image/webp": frozenset({".webp"}),
    "application/pdf": frozenset({".pdf"}),
}

# Names clients use for the same types; "no idea" types defer to the content.
TYPE_ALIASES: Mapping[str, str] = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
UNDECLARED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def sniff(head: bytes) -> str | None:
    """The allowed type these first bytes begin, or None. SVG and HTML are deliberately
    absent: served from a site's own origin they could run script."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def declared_type_conflict(sniffed: str, declared_type: str | None, filename: str | None) -> str | None:
    """Why the client's description of the upload contradicts its content, or None."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    declared = TYPE_ALIASES.get(declared, declared)
    if declared not in UNDECLARED_TYPES and declared != sniffed:
        return f"declared as {declared} but the content is {sniffed}"
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix and suffix not in EXTENSIONS[sniffed]:
        return f"named *{suffix} but the content is {sniffed}"
    return None
