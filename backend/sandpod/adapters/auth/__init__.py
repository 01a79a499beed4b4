"""Credentials: argon2id password hashes and HS256 access tokens."""
