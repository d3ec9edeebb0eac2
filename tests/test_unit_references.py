"""Image references (:mod:`stdc.kit.references`): parsing as users write them, and qualifying
them docker's way for a registry. Pure functions: no root, no images."""

from __future__ import annotations

import pytest
from stdc.errors import BadInput
from stdc.kit.references import Reference, parse, qualify

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "text,name,tag,digest,domain,path",
    [
        ("base", "base", "latest", None, None, "base"),
        ("base:1.0", "base", "1.0", None, None, "base"),
        ("ns/name", "ns/name", "latest", None, None, "ns/name"),
        ("ns/name:v2_rc.1-x", "ns/name", "v2_rc.1-x", None, None, "ns/name"),
        ("host:5000/ns/name:tag", "host:5000/ns/name", "tag", None, "host:5000", "ns/name"),
        ("reg.example/a/b/c", "reg.example/a/b/c", "latest", None, "reg.example", "a/b/c"),
        ("localhost/x", "localhost/x", "latest", None, "localhost", "x"),
        ("a__b/c-d/e--f", "a__b/c-d/e--f", "latest", None, None, "a__b/c-d/e--f"),
        (f"base@{DIGEST}", "base", None, DIGEST, None, "base"),
        (f"host:5000/base:1@{DIGEST}", "host:5000/base", "1", DIGEST, "host:5000", "base"),
        ("host:5000", "host", "5000", None, None, "host"),  # docker's reading: a name and a tag
    ],
)
def test_parse(text, name, tag, digest, domain, path):
    ref = parse(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)
    assert (ref.domain, ref.path) == (domain, path)


@pytest.mark.parametrize(
    "text,shown",
    [("base", "base:latest"), ("ns/x:1", "ns/x:1"), (f"x@{DIGEST}", f"x@{DIGEST}"), (f"x:t@{DIGEST}", "x:t")],
)
def test_str_is_the_key_the_store_tags_under(text, shown):
    assert str(parse(text)) == shown


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "empty reference"),
        ("UPPER", "must be lowercase"),
        ("ns/Name:1", "must be lowercase"),
        ("a:", "bad tag ''"),
        ("a:-x", "bad tag '-x'"),
        ("a:" + "t" * 129, "bad tag"),
        ("a@sha256:abc", "a digest is sha256: and 64 lowercase hex digits"),
        ("a@sha512:" + "a" * 64, "a digest is sha256:"),
        ("a@sha256:" + "A" * 64, "a digest is sha256:"),
        (":tag", "no repository name"),
        ("a//b", "'a//b'"),
        ("-a", "'-a'"),
        ("a b", "'a b'"),
        ("a..b", "'a..b'"),
        ("ho_st:5000/x", "bad registry host 'ho_st:5000'"),
        ("a" * 256, "longer than 255 characters"),
    ],
)
def test_bad_references_are_refused_with_the_reason(text, why):
    with pytest.raises(BadInput, match="^invalid reference format: ") as refused:
        parse(text)
    assert why in str(refused.value)


@pytest.mark.parametrize(
    "text,default,qualified",
    [
        ("base", None, "docker.io/library/base:latest"),
        ("ns/name:1", None, "docker.io/ns/name:1"),
        ("index.docker.io/x", None, "docker.io/library/x:latest"),
        ("docker.io/library/x:2", None, "docker.io/library/x:2"),
        ("host:5000/ns/name:tag", None, "host:5000/ns/name:tag"),
        ("host:5000/name", "reg.example:5000", "host:5000/name:latest"),  # a written host wins
        ("base", "reg.example:5000", "reg.example:5000/base:latest"),  # no library/ off docker.io
        ("ns/name", "reg.example:5000", "reg.example:5000/ns/name:latest"),
        (f"base@{DIGEST}", None, f"docker.io/library/base@{DIGEST}"),
    ],
)
def test_qualify(text, default, qualified):
    assert str(qualify(parse(text), default)) == qualified


def test_qualify_keeps_tag_and_digest_and_is_idempotent():
    ref = qualify(parse(f"base:1@{DIGEST}"))
    assert ref == Reference("docker.io/library/base", "1", DIGEST)
    assert qualify(ref) == ref
