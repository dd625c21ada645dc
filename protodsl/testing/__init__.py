"""Property-based differential testing, usable from a user's own tests.

    from protodsl.passes.pipeline import compile_file
    from protodsl.codecs import load_python
    from protodsl.testing import strategies as st_

    protocol = compile_file("specs/bolt.proto-dsl")
    codec = load_python(protocol)

    @given(st_.frames(protocol, codec))
    def test_roundtrip(frame):
        assert codec.decode(codec.encode(frame)).frame == frame

`strategies` derives Hypothesis strategies from the IR (frames of every variant,
valid encodings, prefixes, concatenations, chunkings, mutations, arbitrary
bytes); `properties` holds the named properties that `protodsl test` runs
against the Python codec and a Wasm plugin; a failure's bytes print field by field
through `protodsl.explain`.
"""
