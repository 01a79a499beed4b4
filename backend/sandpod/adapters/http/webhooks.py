"""WebhookSender over httpx: one POST to the checked address, no redirects, bounded in time."""

import httpx

from sandpod.domain.callback_urls import IPAddress
from sandpod.ports import DeliveryFailedError

# Enough of a receiver's answer to say why it refused; the rest is not read.
_ERROR_BODY_CHARS = 200


class HttpxWebhookSender:
    def __init__(self, *, timeout_seconds: float) -> None:
        # trust_env off: no proxy from the environment may carry a callback past the SSRF check.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "sandpod-webhooks"},
        )

    async def post(
        self, url: str, address: IPAddress, body: bytes, headers: dict[str, str]
    ) -> None:
        named = httpx.URL(url)
        # Connect to the address that was checked; the name still goes in Host and, for TLS,
        # in SNI and the certificate check.
        pinned = named.copy_with(host=str(address))
        request = self._client.build_request(
            "POST",
            pinned,
            content=body,
            headers={**headers, "Host": named.netloc.decode("ascii")},
            extensions={"sni_hostname": named.host},
        )
        try:
            # Streamed: a receiver's answer is read only as far as an error message needs.
            response = await self._client.send(request, stream=True)
            try:
                if response.is_success:
                    return
                head = await _first_bytes(response, _ERROR_BODY_CHARS)
            finally:
                await response.aclose()
        except httpx.TimeoutException as error:
            raise DeliveryFailedError(f"timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            reason = str(error) or type(error).__name__
            raise DeliveryFailedError(f"could not connect: {reason}") from error
        where = f" (redirect to {response.headers.get('location')})" if response.is_redirect else ""
        text = head.decode("utf-8", "replace").strip()
        raise DeliveryFailedError(
            f"answered {response.status_code}{where}" + (f": {text}" if text else "")
        )

    async def aclose(self) -> None:
        await self._client.aclose()


async def _first_bytes(response: httpx.Response, most: int) -> bytes:
    head = b""
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= most:
            break
    return head[:most]
