"""Which callback URLs sandpod may POST to: the rule against server-side request forgery.

A callback must be http(s) and every address its host resolves to must be public: not loopback,
link-local, private, unique-local, multicast, reserved or a cloud metadata address, else anyone
could make sandpod call services only it can reach. The operator's allow-list (CIDRs or host
names) lets chosen ones through, e.g. a receiver on the same private network.
"""

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandpod.domain.errors import InvalidInputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")
MAX_URL_CHARS = 2048
# Instance metadata services (AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba, Azure's wire
# server): each hands out credentials to whoever asks from inside the machine.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


class CallbackRefusedError(InvalidInputError):
    """The callback_url may not be called (a 422 naming the field)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"callback_url {reason}")
        self.reason = reason

    def field_errors(self) -> list[dict[str, str]]:
        return [{"field": "callback_url", "message": self.reason}]


@dataclass(frozen=True)
class CallbackTarget:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int


def parse_callback_url(url: str) -> CallbackTarget:
    """The URL's scheme, host and port, or CallbackRefusedError when it is not one to call."""
    if len(url) > MAX_URL_CHARS:
        raise CallbackRefusedError(f"must be at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise CallbackRefusedError(f"is not a valid URL ({error})") from error
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise CallbackRefusedError("must be an http:// or https:// URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise CallbackRefusedError("must name a host")
    return CallbackTarget(scheme, host, port or (443 if scheme == "https" else 80))


def forbidden_because(address: IPAddress) -> str | None:
    """Why sandpod must not call this address, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_private, "a private or unique-local address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


class CallbackPolicy:
    """The SSRF rule with the operator's allow-list (CIDRs, or host names matched exactly)."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._networks: list[IPNetwork] = []
        self._hosts: set[str] = set()
        for entry in allow:
            try:
                self._networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                self._hosts.add(entry.strip().lower().rstrip("."))

    def check(self, target: CallbackTarget, addresses: Sequence[IPAddress]) -> None:
        """CallbackRefusedError unless every address the host resolved to may be called."""
        if not addresses:
            raise CallbackRefusedError(f"names a host that does not resolve: {target.host}")
        if target.host.lower() in self._hosts:
            return
        for address in addresses:
            reason = forbidden_because(address)
            if reason is not None and not any(address in net for net in self._networks):
                raise CallbackRefusedError(
                    f"resolves to {address}, {reason}; sandpod does not call such addresses "
                    "unless the operator allows them (SANDPOD_WEBHOOK_ALLOW)"
                )
