"""W3C Trace Context header grammar: traceparent and tracestate parse/format."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor.exceptions import SpanError
from lexigram.monitor.tracing.propagation import (
    EMPTY_TRACE_STATE,
    MAX_TRACESTATE_LENGTH,
    TraceState,
    format_traceparent,
    parse_traceparent,
    parse_tracestate,
    read_trace_headers,
)

TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"
VALID = f"00-{TID}-{SID}-01"


def test_valid_traceparent_is_parsed_into_ints_and_flags() -> None:
    """A version 00 header yields the trace id, span id and flags as integers."""
    assert parse_traceparent(VALID) == (int(TID, 16), int(SID, 16), 1)


def test_unsampled_flags_parse_to_zero() -> None:
    """Flags 00 mean not sampled."""
    assert parse_traceparent(f"00-{TID}-{SID}-00") == (int(TID, 16), int(SID, 16), 0)


def test_unknown_flag_bits_are_kept_not_rejected() -> None:
    """Flags are masked, not compared: 03 is valid and keeps bit 0 (sampled)."""
    parsed = parse_traceparent(f"00-{TID}-{SID}-03")
    assert parsed is not None
    assert parsed[2] == 3
    assert parsed[2] & 1


@pytest.mark.parametrize(
    "header",
    [
        f"ff-{TID}-{SID}-01",  # version ff is invalid
        f"00-{TID}-{SID}-01-extra",  # version 00 must be exactly 55 chars
        f"00-{TID}-{SID}-1",  # too short
        f"00-{TID.upper()}-{SID}-01",  # uppercase hex
        f"00-{'0' * 32}-{SID}-01",  # all-zero trace id
        f"00-{TID}-{'0' * 16}-01",  # all-zero span id
        f"00-{TID[:-1]}g-{SID}-01",  # not hex
        f"00_{TID}-{SID}-01",  # wrong separator
        f"00-{TID}-{SID}-0G",  # bad flags
        f"0A-{TID}-{SID}-01",  # uppercase version
        f"00-{TID}-{SID}-01,00-{TID}-{SID}-01",  # two values joined
        "",
        "garbage",
    ],
)
def test_malformed_traceparent_is_rejected(header: str) -> None:
    """Every rule violation gives None (the receiver then starts a new trace)."""
    assert parse_traceparent(header) is None


def test_higher_version_may_carry_a_dash_suffix() -> None:
    """A future version may be longer than 55 characters if the 56th is '-'."""
    assert parse_traceparent(f"01-{TID}-{SID}-01-what-ever") == (int(TID, 16), int(SID, 16), 1)
    assert parse_traceparent(f"cc-{TID}-{SID}-01") is not None


def test_higher_version_suffix_without_dash_is_rejected() -> None:
    """Extra characters not starting with '-' make a future-version header invalid."""
    assert parse_traceparent(f"01-{TID}-{SID}-01x") is None


def test_surrounding_whitespace_is_ignored() -> None:
    """Optional whitespace around the header value is allowed (HTTP OWS)."""
    assert parse_traceparent(f" \t{VALID} ") is not None


def test_non_string_traceparent_is_rejected_without_error() -> None:
    """A value of the wrong type is simply invalid."""
    assert parse_traceparent(123) is None  # type: ignore[arg-type]


def test_format_traceparent_is_lowercase_version_00() -> None:
    """Formatting pads ids with zeros and keeps flags as two hex digits."""
    assert format_traceparent(1, 2, 1) == f"00-{'0' * 31}1-{'0' * 15}2-01"


_ids = st.integers(min_value=1, max_value=(1 << 128) - 1)
_span_ids = st.integers(min_value=1, max_value=(1 << 64) - 1)


@given(_ids, _span_ids, st.integers(min_value=0, max_value=255))
def test_traceparent_round_trips(trace_id: int, span_id: int, flags: int) -> None:
    """format then parse gives back the same ids and the two defined flags."""
    assert parse_traceparent(format_traceparent(trace_id, span_id, flags)) == (
        trace_id,
        span_id,
        flags & 0x03,
    )


@given(st.text(max_size=80))
def test_random_text_never_raises(text: str) -> None:
    """Garbage never raises; when accepted it is a well-formed header."""
    parsed = parse_traceparent(text)
    if parsed is not None:
        assert parsed[0] > 0
        assert parsed[1] > 0


@given(st.text(alphabet="0123456789abcdef-", min_size=50, max_size=60))
def test_near_miss_headers_never_raise(text: str) -> None:
    """Strings made of the header's own characters are parsed or refused, never raise."""
    parse_traceparent(text)


# -- tracestate ------------------------------------------------------------------------


def test_tracestate_members_are_parsed_in_order() -> None:
    """Members keep header order; values are read as written."""
    state = parse_tracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    assert state.items() == (("congo", "t61rcWkgMzE"), ("rojo", "00f067aa0ba902b7"))
    assert state.to_header() == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"


def test_repeated_headers_are_joined_with_commas() -> None:
    """Several header values form one list."""
    state = parse_tracestate(["a=1", "b=2,c=3"])
    assert [k for k in state] == ["a", "b", "c"]


def test_whitespace_around_members_is_stripped_and_empty_members_skipped() -> None:
    """OWS around members is ignored, as are empty list members."""
    state = parse_tracestate(" a=1 ,\t, ,b=2\t")
    assert state.items() == (("a", "1"), ("b", "2"))


def test_duplicate_key_drops_the_whole_tracestate() -> None:
    """A repeated key makes the list invalid (W3C level 2): nothing is kept."""
    assert parse_tracestate("a=1,b=2,a=3") == EMPTY_TRACE_STATE
    assert parse_tracestate(["a=1", "a=1"]) == EMPTY_TRACE_STATE


def test_multi_tenant_keys_are_accepted() -> None:
    """Level-1 tenant@system keys are still valid keys."""
    state = parse_tracestate("fw529a3039@dt=abc,1tenant@sys-x=v")
    assert state.get("fw529a3039@dt") == "abc"
    assert state.get("1tenant@sys-x") == "v"


@pytest.mark.parametrize(
    "key",
    [
        "foo@",  # '@' as the last character
        "t@1sys",  # what follows '@' may start with a digit
        "t@toolongsystemid",  # and be longer than 14 characters
        "a@b@c",  # several '@'
        "@".join(["k"] * 10),
        "k" * 256,  # the longest key
        "a" + "@" * 255,
        "0/*_-@x",
    ],
)
def test_level_2_keys_allow_at_anywhere_after_the_first_character(key: str) -> None:
    """Keys are [a-z0-9][a-z0-9_-*/@]{0,255}: '@' may appear anywhere after the first
    character, any number of times, and a key may be 256 characters long."""
    state = parse_tracestate(f"ok=1,{key}=v,z=2")
    assert state.items() == (("ok", "1"), (key, "v"), ("z", "2"))
    assert TraceState([(key, "v")]).to_header() == f"{key}=v"


@pytest.mark.parametrize(
    "header",
    [
        "Upper=1",  # uppercase key
        "a=1,b",  # member without '='
        "a=",  # empty value
        "a=b=c",  # '=' in value
        "@a=v",  # '@' cannot start a key
        "_a=v",  # nor can '_'
        "a@B=v",  # uppercase after '@'
        "ok=2",  # a duplicated key
        "k=" + "x" * 257,  # value longer than 256
        "k" * 257 + "=v",  # key longer than 256
        "a=\x7f",  # non-printable value
        "é=1",  # non-ASCII key
    ],
)
def test_malformed_member_drops_the_whole_tracestate(header: str) -> None:
    """Any malformed member makes the whole tracestate empty."""
    assert parse_tracestate(f"ok=1,{header}") == EMPTY_TRACE_STATE


def test_value_may_contain_inner_spaces() -> None:
    """Spaces are allowed inside a value, just not at its end."""
    assert parse_tracestate("a=x y").get("a") == "x y"


def test_more_than_32_members_drops_everything() -> None:
    """33 members exceed the W3C limit: the tracestate is dropped."""
    assert len(parse_tracestate(",".join(f"k{i}=v" for i in range(32)))) == 32
    assert parse_tracestate(",".join(f"k{i}=v" for i in range(33))) == EMPTY_TRACE_STATE


def test_oversized_raw_header_is_dropped() -> None:
    """A raw value longer than the bound is not even parsed."""
    assert parse_tracestate("a=1" + " " * MAX_TRACESTATE_LENGTH) == EMPTY_TRACE_STATE


def test_update_moves_key_to_front_and_keeps_at_most_32() -> None:
    """Updated keys move to the front; the right-most member goes past 32."""
    state = parse_tracestate(",".join(f"k{i}=v" for i in range(32)))
    updated = state.update("k5", "new")
    assert updated.items()[0] == ("k5", "new")
    assert len(updated) == 32
    grown = state.update("fresh", "x")
    assert next(iter(grown)) == "fresh"
    assert "k31" not in grown
    assert len(grown) == 32


def test_delete_and_contains() -> None:
    """delete removes a key; the original is unchanged (immutable)."""
    state = TraceState([("a", "1"), ("b", "2")])
    assert "a" in state
    assert "a" not in state.delete("a")
    assert "a" in state


def test_invalid_trace_state_construction_raises_span_error() -> None:
    """Constructing a TraceState in code validates and names the bad key."""
    with pytest.raises(SpanError, match="'Bad'"):
        TraceState([("Bad", "1")])
    with pytest.raises(SpanError, match="value"):
        TraceState([("ok", "a,b")])
    with pytest.raises(SpanError, match="space"):
        TraceState([("ok", "ends ")])
    with pytest.raises(SpanError, match="32"):
        TraceState([(f"k{i}", "v") for i in range(33)])
    with pytest.raises(SpanError, match="'a' is given twice"):
        TraceState([("a", "1"), ("a", "2")])


_key = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_lowercase + string.digits),
    st.text(string.ascii_lowercase + string.digits + "_-*/@", max_size=20),
)
_value = st.text(
    alphabet=[chr(c) for c in range(0x20, 0x7F) if chr(c) not in ",="], min_size=1, max_size=30
).filter(lambda v: not v.endswith(" ") and not v.startswith((" ", "\t")))


@given(st.dictionaries(_key, _value, max_size=32))
def test_tracestate_round_trips(members: dict[str, str]) -> None:
    """Valid members survive format then parse unchanged, in order."""
    state = TraceState(members.items())
    assert parse_tracestate(state.to_header()) == state


@given(st.one_of(st.text(max_size=200), st.lists(st.text(max_size=40), max_size=5)))
def test_random_tracestate_never_raises(value: str | list[str]) -> None:
    """Garbage gives a (possibly empty) state and never raises."""
    state = parse_tracestate(value)
    assert len(state) <= 32


# -- carriers --------------------------------------------------------------------------


def test_header_lookup_is_case_insensitive() -> None:
    """Carrier keys match regardless of case; bytes keys and values work too."""
    assert read_trace_headers({"TraceParent": VALID, "TRACESTATE": "a=1"}) == (VALID, ["a=1"])
    assert read_trace_headers({b"traceparent": VALID.encode()}) == (VALID, ())


def test_two_traceparent_values_are_invalid() -> None:
    """Two spellings, a two-item list or a comma-joined value all mean invalid."""
    assert read_trace_headers({"traceparent": VALID, "Traceparent": VALID})[0] is None
    assert read_trace_headers({"traceparent": [VALID, VALID]})[0] is None
    assert read_trace_headers({"traceparent": f"{VALID},{VALID}"})[0] is None
    assert read_trace_headers({"traceparent": [VALID]})[0] == VALID


def test_unusable_carrier_values_are_ignored() -> None:
    """Non-string values and non-mapping carriers give nothing, without errors."""
    assert read_trace_headers({"traceparent": 42})[0] is None
    assert read_trace_headers(object())[0] is None  # type: ignore[arg-type]


_header_names = st.sampled_from(["traceparent", "tracestate", "TraceParent", "TRACESTATE", "x"])
_header_values = st.one_of(
    st.just(VALID), st.just(f"{VALID},{VALID}"), st.just("a=1"), st.text(max_size=10)
)


@given(st.dictionaries(_header_names, _header_values, max_size=4))
def test_dict_fast_path_agrees_with_the_full_scan(carrier: dict[str, str]) -> None:
    """Plain dicts (fast path) and other mappings (full scan) read the same headers."""
    from types import MappingProxyType

    fast = read_trace_headers(carrier)
    scanned = read_trace_headers(MappingProxyType(carrier))
    assert (fast[0], list(fast[1])) == (scanned[0], list(scanned[1]))
