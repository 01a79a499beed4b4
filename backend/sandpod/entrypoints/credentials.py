"""The CLI's stored access tokens: ~/.config/sandpod/credentials.json, mode 0600, keyed by URL."""

import contextlib
import json
import os
from pathlib import Path


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sandpod" / "credentials.json"


def _key(url: str) -> str:
    return url.rstrip("/")


def _load(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    # Created 0600 from the start (never readable by others, not even briefly), then renamed.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(data, file, indent=2)
    os.chmod(temporary, 0o600)  # an older file's mode is not kept by O_TRUNC
    temporary.replace(path)


def load_token(url: str, path: Path | None = None) -> str | None:
    entry = _load(path or credentials_path()).get(_key(url))
    token = entry.get("access_token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) else None


def save_token(url: str, token: str, username: str, path: Path | None = None) -> Path:
    path = path or credentials_path()
    data = _load(path)
    data[_key(url)] = {"access_token": token, "username": username}
    _save(path, data)
    return path


def forget_token(url: str, path: Path | None = None) -> bool:
    path = path or credentials_path()
    data = _load(path)
    if data.pop(_key(url), None) is None:
        return False
    if data:
        _save(path, data)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return True
