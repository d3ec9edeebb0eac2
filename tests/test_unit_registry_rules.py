"""The registry backend's rules (:mod:`stdc_registry_oci`): which registries are insecure, how
long a retry waits, which proxy the environment names, which credential helper config.json names.
Pure functions: no root, no server."""

from __future__ import annotations

import pytest
from stdc_registry_oci.client import MAX_RETRY_WAIT, is_insecure, proxy_for, retry_wait
from stdc_registry_oci.credentials import helper_of


@pytest.mark.parametrize(
    ("host", "settings", "insecure"),
    [
        ("127.0.0.1:5000", {}, True),
        ("127.8.9.10", {}, True),
        ("[::1]:5000", {}, True),
        ("localhost:5000", {}, True),
        ("10.0.0.5:5000", {}, False),
        ("registry.example", {}, False),
        ("10.0.0.5:5000", {"insecure": ["10.0.0.5:5000"]}, True),
        ("10.0.0.5:5000", {"insecure": ["10.0.0.5"]}, False),
        ("registry.example", {"tls_verify": False}, True),
        ("127.0.0.1:5000", {"tls_verify": True}, False),
        ("10.0.0.5:5000", {"insecure": ["10.0.0.5:5000"], "tls_verify": True}, False),
    ],
)
def test_which_registries_are_insecure(host, settings, insecure):
    assert is_insecure(host, settings) is insecure


def test_retry_waits_grow_and_honour_retry_after_within_bounds():
    assert [retry_wait(None, n) for n in range(3)] == [0.5, 1.0, 2.0]
    assert retry_wait("3", 0) == 3.0
    assert retry_wait("3600", 0) == MAX_RETRY_WAIT
    assert retry_wait("Wed, 21 Oct 2015 07:28:00 GMT", 1) == 0.0  # a date in the past: at once
    assert retry_wait("soon", 1) == 1.0  # not understood: the backoff's own


def test_proxy_chosen_from_the_environment(monkeypatch):
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https", "registry.example") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://u%40x:pw@proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".corp.example,10.0.0.5")
    proxy = proxy_for("https", "registry.example:5000")
    assert proxy is not None and proxy.hostname == "proxy.example" and proxy.port == 3128
    assert proxy.username == "u%40x"
    assert proxy_for("http", "registry.example") is None  # HTTP_PROXY unset
    assert proxy_for("https", "r.corp.example") is None
    assert proxy_for("https", "10.0.0.5:5000") is None


def test_credential_helper_named_per_registry_else_the_store():
    doc = {"credsStore": "desktop", "credHelpers": {"gcr.example": "gcloud", "https://index.docker.io/v1/": "hub"}}
    assert helper_of(doc, "gcr.example") == "gcloud"
    assert helper_of(doc, "docker.io") == "hub"
    assert helper_of(doc, "other.example:5000") == "desktop"
    assert helper_of({"auths": {}}, "other.example") is None
