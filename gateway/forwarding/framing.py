"""Refusing requests whose body framing another HTTP hop could read differently (smuggling).

aiohttp's parser already refuses most such shapes before any handler runs: Content-Length
beside Transfer-Encoding, two Content-Lengths, obsolete line folding, bad chunk sizes. This
middleware refuses the ones it lets through, before the request is routed or forwarded.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway.serving.negotiation import comma_list

# No body is longer than a file offset can be; aiohttp's C parser takes anything below 2**64,
# its pure-Python one any length at all.
MAX_CONTENT_LENGTH = 2**63 - 1


@web.middleware
async def refuse_ambiguous_framing(request: web.Request, handler: Handler) -> web.StreamResponse:
    codings = [coding.lower() for coding in comma_list(request.headers, hdrs.TRANSFER_ENCODING)]
    if codings and request.version < (1, 1):
        # HTTP/1.0 has no Transfer-Encoding: a 1.0 hop in front of us framed this body by other
        # means, so where it ends is uncertain (RFC 9112 §6.1: faulty framing, close after).
        return await _refuse(request, 400, "400: Bad Request: Transfer-Encoding in an HTTP/1.0 request")
    if codings and codings != ["chunked"]:
        # aiohttp reads "gzip, chunked" as plain chunked and would pass the still-coded bytes
        # on as the body; a coding we cannot undo is answered as RFC 9112 §6.1 says.
        return await _refuse(request, 501, "501: Not Implemented: only the chunked transfer coding is accepted")
    if (request.content_length or 0) > MAX_CONTENT_LENGTH:
        # Forwarded, such a length had the backend and us waiting for a body that never comes.
        return await _refuse(request, 400, "400: Bad Request: Content-Length is too large")
    return await handler(request)


def plainly_framed(request: web.BaseRequest) -> bool:
    """No Transfer-Encoding and no Content-Length: nothing ``refuse_ambiguous_framing`` refuses."""
    headers = request.headers
    return hdrs.TRANSFER_ENCODING not in headers and hdrs.CONTENT_LENGTH not in headers


async def _refuse(request: web.Request, status: int, text: str) -> web.StreamResponse:
    return await send_and_close(request, web.Response(status=status, text=text))


async def send_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response`` to a request whose body was not read whole, then close the connection."""
    # The body was not read, so the next bytes on this connection are not a request.
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    # Left open, the connection would stay until the client sent all of a body it said was long.
    if request.transport is not None:
        request.transport.close()
    return response
