"""Headless Chromium for browser tests: where it is, and what its net log says left 127.0.0.1.

Debian's package (scripts/install-system-deps.sh installs it; CI must have it). The net log
(`--log-net-log`) records every request of the browser process; requests made on behalf of our
pages are told apart from Chromium's own background traffic by their initiator or isolation key.
"""

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from tests import environment

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
INSTALL = "install Debian's browser: apt-get install chromium (scripts/install-system-deps.sh)"


def chromium_executable() -> str:
    # Debian's package, then the names Ubuntu and GitHub's runner images use.
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    environment.unavailable(f"chromium not found: {INSTALL}")


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
        return True
    return parts.hostname in LOCAL_HOSTS


def net_log_requests(net_log: Path) -> list[dict[str, str]]:
    """Every URL request of the browser process: url, initiator, network isolation key."""
    text = net_log.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # cut short (the browser was killed): close the event list
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    requests = []
    for event in log["events"]:
        params = event.get("params") or {}
        if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in params:
            requests.append(
                {
                    "url": str(params["url"]),
                    "initiator": str(params.get("initiator", "")),
                    "isolation": str(params.get("network_isolation_key", "")),
                }
            )
    return requests


def made_by_the_site(request: dict[str, str]) -> bool:
    """A request on behalf of our pages: initiated by, or isolated under, a local origin."""
    origins = [request["initiator"], *request["isolation"].split()]
    return any(is_local(origin) for origin in origins if "://" in origin)
