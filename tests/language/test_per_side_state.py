"""State kept per side: HTTP/2's SETTINGS_MAX_FRAME_SIZE. A member `per side`
has a value for the client and one for the server; a frame reads and sets the
sender's (whose bytes these are, `State.side`) or the receiver's. `last()`
takes the last matching record of a list, else its default, and a `max_frame`
limit that reads the state bounds every frame. Both Python readings agree;
without a side, a frame that needs one is malformed (SideUnknown), never a
guess; the Wasm target refuses each feature by name."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import pytest
from protodsl.codegen.wasm.backend import check_target

from protodsl.ir import Protocol
from tests.helpers import ROOT

SPEC = ROOT / "tests/language/specs/per_side_limit.proto-dsl"
READINGS = [("decode", "encode"), ("reference_decode", "reference_encode")]


def _announce(codec: ModuleType, *entries: tuple[int, int]) -> object:
    return codec.Announce(settings=[codec.Setting(id=i, value=v) for i, v in entries])


@pytest.mark.parametrize(("decode", "encode"), READINGS)
def test_the_last_matching_entry_sets_the_senders_value(
        codec: ModuleType, decode: str, encode: str) -> None:
    client = codec.State(side="client")
    frame = _announce(codec, (5, 100), (5, 40), (4, 9))  # 19 bytes: within 16 + 4
    wire = getattr(codec, encode)(frame, client)
    result = getattr(codec, decode)(wire, client)
    assert result.frame == frame and result.consumed == len(wire)
    assert result.state == codec.State(side="client", client_accepts=40, server_accepts=16,
                                       heard=16)
    assert codec.next_state(frame, client) == result.state
    server = replace(result.state, side="server")
    after = getattr(codec, decode)(getattr(codec, encode)(_announce(codec, (3, 1)), server),
                                   server)
    assert after.state == replace(server, heard=40)  # no id 5: the default, its own value


@pytest.mark.parametrize(("decode", "encode"), READINGS)
def test_a_frame_is_at_most_what_its_receiver_accepts(
        codec: ModuleType, decode: str, encode: str) -> None:
    server = codec.State(side="server", client_accepts=30)  # the client accepts 30 bytes
    client = replace(server, side="client")  # the server accepts the initial 16
    most = codec.Data(data=b"x" * 30)
    wire = getattr(codec, encode)(most, server)
    assert getattr(codec, decode)(wire, server).frame == most
    with pytest.raises(codec.FrameTooLarge) as caught:
        getattr(codec, decode)(wire, client)
    assert str(caught.value) == "data at offset 0: frame of 34 bytes exceeds max_frame 20"
    for state, limit, frame in ((client, 20, most), (server, 34, codec.Data(data=b"x" * 31))):
        with pytest.raises(codec.EncodeError, match=f"bytes exceeds max_frame {limit}"):
            getattr(codec, encode)(frame, state)


def test_a_grant_sets_the_receivers_value(codec: ModuleType) -> None:
    state = codec.State(side="client")
    after = codec.decode(codec.encode(codec.Grant(value=99), state), state).state
    assert (after.client_accepts, after.server_accepts) == (16, 99)


@pytest.mark.parametrize("decode", ["decode", "reference_decode"])
def test_without_a_side_a_frame_is_malformed(codec: ModuleType, decode: str) -> None:
    with pytest.raises(codec.SideUnknown) as caught:
        getattr(codec, decode)(bytes.fromhex("00000100" "78"), codec.State())
    assert caught.value.field == "state.accepts"
    assert "says no side (None)" in str(caught.value)
    with pytest.raises(codec.StateUnset, match="state 'server.accepts' is read by frame"):
        getattr(codec, decode)(bytes.fromhex("00000100" "78"),
                               codec.State(side="client", server_accepts=None))


def test_the_wasm_target_refuses_each_feature_by_name(protocol: Protocol) -> None:
    errors = [d.message for d in check_target(protocol) if d.severity == "error"]
    assert any("'accepts' is kept per side" in m for m in errors), errors
    assert any("a max_frame limit the state sets" in m for m in errors), errors
    assert any("frame 'announce': last() over a list" in m for m in errors), errors
