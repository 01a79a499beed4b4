"""What an access token says about its holder, and a token as issued."""

from dataclasses import dataclass

from sandpod.domain.users import Role


@dataclass(frozen=True)
class Claims:
    subject: str
    role: Role
    session_version: int
    token_id: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    claims: Claims
