"""The stream ARN is read through the typed settings, and its absence is named."""

import pytest

from chalicelib.settings import Settings


def test_stream_arn_comes_from_the_environment():
    assert Settings.stream_arn_from_env({"TABLE_STREAM_ARN": "arn:x"}) == "arn:x"


def test_a_missing_stream_arn_names_the_variable():
    with pytest.raises(RuntimeError, match="TABLE_STREAM_ARN"):
        Settings.stream_arn_from_env({})
