"""What SOFA bolt's Java decoder (RpcCommandDecoder, RpcCommandDecoderV2) cannot
take is malformed here too: a frame it would misread or wait on forever must
never be forwarded to it, since MOSN shares one upstream connection among all
clients (found by tests/e2e/test_hostile.py: one such boltv2 frame stalled every
request on the connection)."""

from __future__ import annotations

from types import ModuleType

import pytest

from protodsl.codecs import load_python
from protodsl.passes.pipeline import compile_file
from tests.helpers import SPECS


@pytest.fixture(scope="module")
def boltv2() -> ModuleType:
    return load_python(compile_file(SPECS / "boltv2.proto-dsl"))


@pytest.fixture(scope="module")
def bolt() -> ModuleType:
    return load_python(compile_file(SPECS / "bolt.proto-dsl"))


def test_a_boltv2_version_other_than_1_and_2_is_malformed(boltv2: ModuleType) -> None:
    # proto 2, ver1 3, request, rpc_request, ver2 1, id 1, codec 1, switch 0, timeout 0, no lengths
    frame = bytes.fromhex("02030100010100000001010000000000" "0000000000000000")
    with pytest.raises(boltv2.UnknownEnumValue) as error:
        boltv2.decode(frame)
    assert error.value.field == "ver1"
    assert boltv2.decode(frame[:1] + b"\x02" + frame[2:]).consumed == len(frame)


@pytest.mark.parametrize("at", [14, 16])  # class_len, header_len: Java's short
def test_a_length_past_javas_short_is_malformed(bolt: ModuleType, at: int) -> None:
    frame = bytearray.fromhex("01010001010000000101000003e8" "000000000000" "0000")
    frame[at:at + 2] = b"\x80\x00"
    with pytest.raises(bolt.NegativeSize):
        bolt.decode(bytes(frame) + bytes(0x8000))


def test_a_class_name_java_cannot_carry_cannot_be_encoded(bolt: ModuleType) -> None:
    request = bolt.Request(type=bolt.CmdType.request, cmd_code=bolt.CmdCode.rpc_request,
                           version=1, request_id=1, codec=1, timeout=1000,
                           class_=b"c" * 0x8000, headers=[], content=b"")
    with pytest.raises(bolt.EncodeError):
        bolt.encode(request)
