"""Host names as the gateway accepts them: one canonical form, or a clear refusal."""

from __future__ import annotations

import ipaddress
import re

import idna

MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
# Longer input cannot shrink to a valid host, so it is refused before any IDNA work.
_MAX_RAW_LENGTH = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LABEL = re.compile(r"[a-z0-9_-]+")


class InvalidHost(ValueError):
    """A Host header, site folder or alias that is no host name; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_host(raw: str) -> str:
    """The canonical form of a Host header value: lower case, no port, no trailing dot,
    international labels in punycode; an IPv6 literal stays bracketed (``[::1]``)."""
    if len(raw) > _MAX_RAW_LENGTH:
        raise InvalidHost(f"longer than {MAX_HOST_LENGTH} characters")
    if _CONTROL.search(raw):
        raise InvalidHost("contains a control character")
    if any(char.isspace() for char in raw):
        raise InvalidHost("contains a space")
    if raw.startswith("["):
        literal, bracket, rest = raw[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise InvalidHost("a malformed IPv6 literal")
        _check_port(rest[1:])
        return _ipv6_literal(literal)
    host, colon, port = raw.rpartition(":")
    if not colon:
        return normalize_name(raw)
    _check_port(port)
    return normalize_name(host)


def normalize_name(raw: str) -> str:
    """A host name without a port (a site folder, an alias), normalised like ``normalize_host``."""
    if raw.startswith("[") and raw.endswith("]"):
        return _ipv6_literal(raw[1:-1])
    if "/" in raw or "\\" in raw:
        raise InvalidHost("contains a slash")
    host = raw.lower()
    if not host.isascii() or "xn--" in host:
        host = _to_ascii(host)
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise InvalidHost("empty host")
    if len(host) > MAX_HOST_LENGTH:
        raise InvalidHost(f"longer than {MAX_HOST_LENGTH} characters")
    for label in host.split("."):
        _check_label(label)
    return host


def _check_port(port: str) -> None:
    # RFC 9110 allows an empty port after the colon.
    if not (port.isascii() and port.isdigit()) and port:
        raise InvalidHost("port is not a number")
    if len(port) > 5 or (port and int(port) > 65535):
        raise InvalidHost("port is over 65535")


def _ipv6_literal(literal: str) -> str:
    # Zone ids ("%eth0") only mean something on the client's own machine.
    if "%" in literal:
        raise InvalidHost("IPv6 zone ids are not allowed")
    try:
        return f"[{ipaddress.IPv6Address(literal).compressed}]"
    except ValueError:
        raise InvalidHost("not a valid IPv6 address") from None


def _to_ascii(host: str) -> str:
    """Punycode for international labels, in one canonical form whichever way they came."""
    # UTS 46 mapping as browsers do it (case folding, "。" as a dot). Its validity rules, not
    # IDNA 2008's, so names browsers accept (emoji ones too) are served rather than refused.
    try:
        ascii_host = _mapped_to_ascii(host)
        # The mapping can make an "xn--" label out of others ("\xadxn--a" loses its soft hyphen)
        # that is no valid punycode; only a second pass tells, and such a name has no canonical form.
        if _mapped_to_ascii(ascii_host) != ascii_host:
            raise UnicodeError("the name changes when mapped again")
        return ascii_host
    except UnicodeError:
        raise InvalidHost("not a valid international name") from None


def _mapped_to_ascii(host: str) -> str:
    labels = host.split(".")
    unicode = ".".join(_from_punycode(label) if label.startswith("xn--") else label for label in labels)
    mapped = idna.uts46_remap(unicode, std3_rules=False, transitional=False)
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii") for label in mapped.split(".")
    )


def _from_punycode(label: str) -> str:
    decoded = label[4:].encode("ascii").decode("punycode")
    if decoded.isascii():
        raise UnicodeError("a punycode label of plain letters")
    return decoded


def _check_label(label: str) -> None:
    if not label:
        raise InvalidHost("empty label")
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidHost(f"a label is longer than {MAX_LABEL_LENGTH} characters")
    if label.startswith("-") or label.endswith("-"):
        raise InvalidHost("a label starts or ends with '-'")
    if not _LABEL.fullmatch(label):
        raise InvalidHost("a character not allowed in a host name")
