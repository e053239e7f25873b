"""Invitations in the SQLite store: the work ``SqliteStore`` runs on its connection's thread."""

from __future__ import annotations

import sqlite3

from .store import Invitation, Role
from .store_sqlite_rows import parse_time, time_text

COLUMNS = ("token_hash", "tenant", "role", "email", "invited_by", "created_at", "expires_at")


def insert(db: sqlite3.Connection, tenant: str, invitation: Invitation) -> None:
    values = {
        "token_hash": invitation.token_hash,
        "tenant": tenant,
        "role": invitation.role.value,
        "email": invitation.email,
        "invited_by": invitation.invited_by,
        "created_at": time_text(invitation.created_at),
        "expires_at": time_text(invitation.expires_at),
    }
    db.execute("DELETE FROM invitations WHERE tenant = ? AND expires_at < ?", (tenant, values["created_at"]))
    db.execute(
        f"INSERT INTO invitations ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + name for name in COLUMNS)})",
        values,
    )


def take(db: sqlite3.Connection, tenant: str, token_hash: str) -> Invitation | None:
    # One DELETE … RETURNING is the atomic "take": a second use finds the row gone.
    row = db.execute(
        f"DELETE FROM invitations WHERE tenant = ? AND token_hash = ? RETURNING {', '.join(COLUMNS)}",
        (tenant, token_hash),
    ).fetchone()
    if row is None:
        return None
    return Invitation(
        token_hash=row["token_hash"],
        tenant=row["tenant"],
        role=Role(row["role"]),
        email=row["email"],
        invited_by=row["invited_by"],
        created_at=parse_time(row["created_at"]),
        expires_at=parse_time(row["expires_at"]),
    )
