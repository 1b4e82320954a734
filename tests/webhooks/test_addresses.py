from __future__ import annotations

import pytest

from willow.webhooks.addresses import AddressRefused
from willow.webhooks.addresses import HostUnresolved
from willow.webhooks.addresses import Policy
from willow.webhooks.addresses import endpoint_url_problem
from willow.webhooks.addresses import url_problem


def resolver(table):
    return lambda host: table.get(host, [])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "example.com/hook",
        "https://user:pw@example.com/hook",
        "https://example.com:notaport/",
        "http:///nohost",
        "https://exa mple.com/",
    ],
)
def test_urls_of_the_wrong_shape_are_refused(url):
    assert url_problem(url) is not None


@pytest.mark.parametrize("public_only", [False, True])
@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.1.1", "fd00:ec2::254", "fe80::1", "::ffff:169.254.169.254"],
)
def test_link_local_and_metadata_addresses_are_refused_always(public_only, address):
    policy = Policy(public_only=public_only, resolver=resolver({"meta.example": [address]}))
    with pytest.raises(AddressRefused):
        policy.checked_address("http://meta.example/hook")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.1.10", "172.16.0.5", "100.64.0.1", "::1", "fd12::1"],
)
def test_private_and_loopback_targets_are_allowed_by_default_and_refused_public_only(address):
    names = resolver({"internal.example": [address]})
    assert (
        Policy(public_only=False, resolver=names).checked_address("https://internal.example/hook")
        == address
    )
    with pytest.raises(AddressRefused, match="WILLOW_WEBHOOK_PUBLIC_ONLY"):
        Policy(public_only=True, resolver=names).checked_address("https://internal.example/hook")


def test_every_resolved_address_is_checked_not_only_the_first():
    names = resolver({"mixed.example": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(AddressRefused):
        Policy(public_only=True, resolver=names).checked_address("https://mixed.example/")
    assert (
        Policy(public_only=True, resolver=names).checked_address("https://93.184.216.34/")
        == "93.184.216.34"
    )


def test_an_unresolved_host_fails_delivery_but_may_be_saved():
    policy = Policy(public_only=True, resolver=resolver({}))
    with pytest.raises(HostUnresolved):
        policy.checked_address("https://nowhere.example/")
    assert endpoint_url_problem(policy, "https://nowhere.example/") is None
    assert "always refused" in endpoint_url_problem(policy, "http://169.254.169.254/latest")
