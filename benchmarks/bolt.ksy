meta:
  id: bolt
  title: SOFA bolt v1 (x-bolt), for the protodsl benchmark
  endian: be
doc: |
  One bolt v1 frame: a 22-byte request header or a 20-byte response header,
  then class name, header map and content, each sized by a header field.
  A header key or value of length 0xffffffff is null (the pair is dropped
  by bolt's serializer); here it is kept as an absent attribute.
seq:
  - id: proto
    contents: [1]
  - id: type
    type: u1
    enum: cmd_type
  - id: cmd_code
    type: u2
    enum: cmd_code
  - id: version
    type: u1
  - id: request_id
    type: u4
  - id: codec
    type: u1
  - id: timeout
    type: s4
    if: type != cmd_type::response
  - id: status
    type: u2
    if: type == cmd_type::response
  - id: class_len
    type: u2
  - id: header_len
    type: u2
  - id: content_len
    type: u4
  - id: class_name
    size: class_len
  - id: headers
    type: header_map
    size: header_len
  - id: content
    size: content_len
types:
  header_map:
    seq:
      - id: pairs
        type: pair
        repeat: eos
  pair:
    seq:
      - id: key_len
        type: u4
      - id: key
        size: key_len
        if: key_len != 0xffffffff
      - id: value_len
        type: u4
      - id: value
        size: value_len
        if: value_len != 0xffffffff
enums:
  cmd_type:
    0: response
    1: request
    2: oneway
  cmd_code:
    0: heartbeat
    1: rpc_request
    2: rpc_response
