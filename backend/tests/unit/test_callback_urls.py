"""The SSRF rule for callback URLs, and the operator's allow-list."""

import ipaddress

import pytest

from sandpod.domain.callback_urls import (
    CallbackPolicy,
    CallbackRefusedError,
    parse_callback_url,
)

PUBLIC = ipaddress.ip_address("93.184.216.34")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "unique-local"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public address"),
        ("240.0.0.1", "private or unique-local"),  # Python counts 240/4 as private
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, why: str) -> None:
    target = parse_callback_url("http://hooks.example.com/x")
    with pytest.raises(CallbackRefusedError, match=why) as refused:
        CallbackPolicy().check(target, [PUBLIC, ipaddress.ip_address(address)])
    assert refused.value.field_errors()[0]["field"] == "callback_url"
    assert refused.value.status == 422


def test_public_addresses_are_allowed() -> None:
    target = parse_callback_url("https://hooks.example.com:8443/x?y=1")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 8443)
    CallbackPolicy().check(target, [PUBLIC, ipaddress.ip_address("2606:4700::1111")])


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://example.com", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("http:///nohost", "must name a host"),
        ("http://example.com:99999/", "not a valid URL"),
        ("https://example.com/" + "x" * 2048, "at most 2048"),
    ],
)
def test_urls_that_are_not_http_are_refused(url: str, why: str) -> None:
    with pytest.raises(CallbackRefusedError, match=why):
        parse_callback_url(url)


def test_a_host_that_resolves_to_nothing_is_refused() -> None:
    with pytest.raises(CallbackRefusedError, match="does not resolve"):
        CallbackPolicy().check(parse_callback_url("http://nowhere.invalid/"), [])


def test_the_allow_list_lets_cidrs_and_named_hosts_through() -> None:
    policy = CallbackPolicy(["127.0.0.0/8", "10.0.0.5", "Hooks.Internal."])
    loopback = parse_callback_url("http://127.0.0.1:8080/hook")
    policy.check(loopback, [ipaddress.ip_address("127.0.0.1")])
    policy.check(parse_callback_url("http://10.0.0.5/"), [ipaddress.ip_address("10.0.0.5")])
    internal = parse_callback_url("http://hooks.internal/")
    policy.check(internal, [ipaddress.ip_address("10.9.9.9")])
    with pytest.raises(CallbackRefusedError, match="private"):
        policy.check(parse_callback_url("http://10.0.0.6/"), [ipaddress.ip_address("10.0.0.6")])
    with pytest.raises(CallbackRefusedError, match="metadata"):
        policy.check(loopback, [ipaddress.ip_address("169.254.169.254")])
