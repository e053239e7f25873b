"""Invitations: how an editor brings in another editor or a reader, whether or not the site
takes sign-ups. The invitee gets a one-time token; the store keeps only its SHA-256, so a
leaked database hands out no accounts.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from .bodies import json_time
from .errors import ApiError, invalid
from .sessions import hash_token
from .store import Conflict, Invitation, NotFound, Role, Store, User, utc_now

INVITATION_LIFETIME = timedelta(days=7)
# A token we hand out is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128


def invitation_token(value: Any) -> str | None:
    """The token a register body's ``invitation`` carries, or None when it carries none."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_LENGTH:
        raise invalid("invitation", "must be the token of an invitation")
    return value


def invited_role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise invalid("role", f"must be one of {', '.join(role.value for role in Role)}") from None


async def issue_invitation(
    store: Store, tenant: str, *, role: Role, email: str | None, invited_by: User
) -> tuple[str, Invitation]:
    """A new invitation of ``tenant``, and its token: the one time the token exists in full."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    invitation = Invitation(
        token_hash=hash_token(token),
        tenant=tenant,
        role=role,
        email=email,
        invited_by=invited_by.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    await store.create_invitation(tenant, invitation)
    return token, invitation


def invitation_json(token: str, invitation: Invitation) -> dict[str, Any]:
    return {
        "token": token,
        "role": invitation.role.value,
        "email": invitation.email,
        "expires_at": json_time(invitation.expires_at),
    }


async def accept_invitation(
    store: Store, tenant: str, token: str, email: str, join: Callable[[Role], Awaitable[User]]
) -> User:
    """The user ``join`` makes with the invited role; the invitation is used up by it.

    The invitation is taken from the store first, so two uses at once cannot both get it; it
    goes back when the invitee could not join for a reason they can mend (another email).
    """
    try:
        invitation = await store.take_invitation(tenant, hash_token(token))
    except NotFound:
        raise ApiError(
            403, "invalid_invitation", "this invitation is unknown or already used", field="invitation"
        ) from None
    if invitation.expires_at <= utc_now():
        raise ApiError(403, "invalid_invitation", "this invitation has expired; ask for a new one", field="invitation")
    if invitation.email is not None and invitation.email != email:
        await store.create_invitation(tenant, invitation)
        raise ApiError(403, "invalid_invitation", "this invitation is for another email address", field="email")
    try:
        return await join(invitation.role)
    except Conflict:
        await store.create_invitation(tenant, invitation)
        raise
