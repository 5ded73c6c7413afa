import json

import pytest

from homesense_core.bodies import MAX_BODY_BYTES, decode_json_body
from homesense_core.problems import (MalformedRequest, PayloadTooLarge, UnsupportedMediaType,
                                     ValidationFailed)


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON",
    "application/merge-patch+json", "application/vnd.homesense+json;v=1",
])
def test_decode_json_body_accepts_json_media_types(content_type):
    assert decode_json_body(b'{"a": 1}', content_type) == {"a": 1}


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/xml",
                                          "application/jsonx", "text/json", "application/+json",
                                          "multipart/form-data; boundary=x"])
def test_decode_json_body_rejects_other_media_types_with_415(content_type):
    with pytest.raises(UnsupportedMediaType):
        decode_json_body(b'{"a": 1}', content_type)


def test_decode_json_body_accepts_exactly_one_mebibyte():
    raw = b'{"a":"' + b"x" * (MAX_BODY_BYTES - 8) + b'"}'
    assert len(raw) == MAX_BODY_BYTES
    assert decode_json_body(raw, "application/json")["a"].startswith("x")


def test_decode_json_body_rejects_over_one_mebibyte_with_413_before_media_type():
    with pytest.raises(PayloadTooLarge):
        decode_json_body(b" " * (MAX_BODY_BYTES + 1), "text/plain")


@pytest.mark.parametrize("raw", [
    b"", b"{", b"{'a': 1}", b'{"a": 1,}', b"\xff\xfe", b'{"a": "\xc3"}', b"\xef\xbb\xbf{}",
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b"[" * 100000,
    b'{"a": ' + b"9" * 5000 + b"}",
])
def test_decode_json_body_rejects_unparseable_bodies_with_400(raw):
    with pytest.raises(MalformedRequest):
        decode_json_body(raw, "application/json")


@pytest.mark.parametrize("raw", [b"[]", b"1", b'"x"', b"null", b"true"])
def test_decode_json_body_rejects_non_objects_with_422_on_empty_field(raw):
    with pytest.raises(ValidationFailed) as info:
        decode_json_body(raw, "application/json")
    assert [e.field for e in info.value.errors] == [""]


def test_decode_json_body_accepts_str_and_unicode_content():
    assert decode_json_body(json.dumps({"n": "Küche"}), "application/json") == {"n": "Küche"}


@pytest.mark.parametrize("raw, field", [(b'{"name": "a", "name": "b"}', "name"),
                                        (b'{"readings": [{"value": 1, "value": 2}]}', "value")])
def test_a_repeated_key_is_422_naming_it(raw, field):
    from homesense_core.bodies import decode_json_body
    from homesense_core.problems import ValidationFailed
    with pytest.raises(ValidationFailed) as refused:
        decode_json_body(raw, "application/json")
    assert [e.field for e in refused.value.errors] == [field]
