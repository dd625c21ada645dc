// The generated bolt codec (package bolt, `protodsl gen specs/bolt.proto-dsl
// --target mosn-go`, put in place by benchmarks/go_codec.py) against MOSN's
// hand-written one (mosn.io/mosn/pkg/protocol/xprotocol/bolt) on the same
// frames: a request and a response, each with a class, headers and a body.
//
// What each side does per operation:
//   - generated Decode: bytes -> *bolt.Request: the frame copied once, the class
//     and body slices of the copy, the headers a []KV of slices of it.
//   - MOSN Decode: an IoBuffer (one, refilled each time, as a connection's read
//     buffer is) -> *bolt.Request from its pool: the frame copied into a pooled
//     IoBuffer, the class a string, the headers a BytesHeader of slices, the body
//     an IoBuffer over the copy, the frame drained from the input; inside the
//     per-stream context MOSN makes for each frame (a buffer-pool context given
//     back afterwards), which BenchmarkMosnStreamContext measures alone.
//   - generated Encode: *bolt.Request -> a new []byte of the frame; AppendEncode:
//     the same bytes appended to a buffer reused from frame to frame (as MOSN
//     reuses its pooled buffers).
//   - MOSN Encode: *bolt.Request built by hand (no raw bytes kept, so its slow
//     path: every length computed, every field written) -> a pooled IoBuffer,
//     given back to the pool afterwards as MOSN does once it is written.
//   - "through api.XProtocol": both codecs as MOSN's stream layer calls them,
//     the same interface on both sides: Decode from the refilled IoBuffer inside
//     a new per-stream context, the frame drained (the generated one wraps its
//     frame as a MosnRequest); Encode of a frame MOSN holds into a pooled
//     IoBuffer, given back afterwards.
package mosngo

import (
	"bytes"
	"context"
	"testing"

	gen "bolt"

	"mosn.io/api"
	mosn "mosn.io/mosn/pkg/protocol/xprotocol/bolt"
	"mosn.io/pkg/buffer"
	"mosn.io/pkg/header"
	"mosn.io/pkg/variable"
)

var (
	requestClass   = []byte("com.alipay.sofa.rpc.core.request.SofaRequest")
	responseClass  = []byte("com.alipay.sofa.rpc.core.response.SofaResponse")
	requestHeaders = []gen.KV{
		{Key: []byte("service"), Value: []byte("com.alipay.test.TestService:1.0")},
		{Key: []byte("sofa_head_method_name"), Value: []byte("sayHello")},
		{Key: []byte("rpc_trace_context.sofaTraceId"), Value: []byte("0a0fe8d81700000000001000")},
		{Key: []byte("rpc_trace_context.sofaRpcId"), Value: []byte("0.1")},
	}
	responseHeaders = []gen.KV{
		{Key: []byte("rpc_trace_context.sofaTraceId"), Value: []byte("0a0fe8d81700000000001000")},
		{Key: []byte("rpc_trace_context.sofaRpcId"), Value: []byte("0.1")},
	}
	requestBody  = bytes.Repeat([]byte("hessian2-request-body "), 12) // 264 bytes
	responseBody = bytes.Repeat([]byte("hessian2-response-body "), 6) // 138 bytes
)

func genRequest() *gen.Request {
	return &gen.Request{Type: gen.CmdTypeRequest, CmdCode: gen.CmdCodeRpcRequest, Version: 1,
		RequestId: 7, Codec: 1, Timeout: 3000, Class: requestClass, Headers: requestHeaders,
		Content: requestBody}
}

func genResponse() *gen.Response {
	return &gen.Response{Type: gen.CmdTypeResponse, CmdCode: gen.CmdCodeRpcResponse, Version: 1,
		RequestId: 7, Codec: 1, Status: gen.StatusSuccess, Class: responseClass,
		Headers: responseHeaders, Content: responseBody}
}

func mosnHeaders(kvs []gen.KV) header.BytesHeader {
	var h header.BytesHeader
	for _, kv := range kvs {
		h.Kvs = append(h.Kvs, header.BytesKV{Key: kv.Key, Value: kv.Value})
	}
	return h
}

func mosnRequest() *mosn.Request {
	return &mosn.Request{
		RequestHeader: mosn.RequestHeader{Protocol: mosn.ProtocolCode, CmdType: mosn.CmdTypeRequest,
			CmdCode: mosn.CmdCodeRpcRequest, Version: 1, RequestId: 7, Codec: 1, Timeout: 3000,
			Class: string(requestClass), BytesHeader: mosnHeaders(requestHeaders)},
		Content: buffer.NewIoBufferBytes(requestBody),
	}
}

func mosnResponse() *mosn.Response {
	return &mosn.Response{
		ResponseHeader: mosn.ResponseHeader{Protocol: mosn.ProtocolCode,
			CmdType: mosn.CmdTypeResponse, CmdCode: mosn.CmdCodeRpcResponse, Version: 1,
			RequestId: 7, Codec: 1, ResponseStatus: mosn.ResponseStatusSuccess,
			Class: string(responseClass), BytesHeader: mosnHeaders(responseHeaders)},
		Content: buffer.NewIoBufferBytes(responseBody),
	}
}

func wire(tb testing.TB, f gen.Frame) []byte {
	out, err := gen.Encode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

var (
	proto    = (&mosn.XCodec{}).NewXProtocol(context.Background())
	genProto = gen.Codec{}.NewXProtocol(context.Background())
)

// mosnDecode decodes data as MOSN does a frame arriving on a connection; the
// frame is MOSN's until release gives its per-stream buffers back.
func mosnDecode(tb testing.TB, in api.IoBuffer, base context.Context, data []byte) (
	cmd interface{}, release func()) {
	return xDecode(tb, proto, in, base, data)
}

// xDecode is mosnDecode through either codec's api.XProtocol.
func xDecode(tb testing.TB, p api.XProtocol, in api.IoBuffer, base context.Context,
	data []byte) (cmd interface{}, release func()) {
	in.Reset()
	if _, err := in.Write(data); err != nil {
		tb.Fatal(err)
	}
	ctx := buffer.NewBufferPoolContext(base)
	cmd, err := p.Decode(ctx, in)
	if err != nil || cmd == nil || in.Len() != 0 {
		tb.Fatalf("MOSN decode: %v %v, %d bytes left", cmd, err, in.Len())
	}
	return cmd, buffer.PoolContext(ctx).Give
}

// TestSameFrames: both codecs read the bytes the generated one writes as the
// same frame, and write the same bytes for it.
func TestSameFrames(t *testing.T) {
	base := variable.NewVariableContext(context.Background())
	in := buffer.NewIoBuffer(1024)
	for _, f := range []gen.Frame{genRequest(), genResponse()} {
		data := wire(t, f)
		var encoded api.IoBuffer
		var err error
		decoded, release := mosnDecode(t, in, base, data)
		switch cmd := decoded.(type) {
		case *mosn.Request:
			if cmd.Class != string(requestClass) || len(cmd.BytesHeader.Kvs) != len(requestHeaders) ||
				!bytes.Equal(cmd.Content.Bytes(), requestBody) {
				t.Fatalf("MOSN read another request: %+v", cmd)
			}
			encoded, err = proto.Encode(context.Background(), mosnRequest())
		case *mosn.Response:
			if cmd.Class != string(responseClass) || len(cmd.BytesHeader.Kvs) != len(responseHeaders) ||
				!bytes.Equal(cmd.Content.Bytes(), responseBody) {
				t.Fatalf("MOSN read another response: %+v", cmd)
			}
			encoded, err = proto.Encode(context.Background(), mosnResponse())
		default:
			t.Fatalf("MOSN read %T", cmd)
		}
		release()
		if err != nil || !bytes.Equal(encoded.Bytes(), data) {
			t.Fatalf("MOSN encodes %x (%v), the generated codec %x", encoded.Bytes(), err, data)
		}
		back, n, err := gen.Decode(data)
		if err != nil || n != len(data) || back.FrameName() != f.FrameName() {
			t.Fatalf("generated decode: %v %d %v", back, n, err)
		}
	}
}

func benchGenDecode(b *testing.B, f gen.Frame) {
	data := wire(b, f)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := gen.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMosnDecode(b *testing.B, f gen.Frame) { benchXDecode(b, proto, f) }

func benchGenEncode(b *testing.B, f gen.Frame) {
	b.SetBytes(int64(len(wire(b, f))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := gen.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGenAppendEncode(b *testing.B, f gen.Frame) {
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(wire(b, f))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = gen.AppendEncode(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMosnEncode(b *testing.B, f gen.Frame, model interface{}) {
	benchXEncode(b, proto, f, model)
}

func benchXDecode(b *testing.B, p api.XProtocol, f gen.Frame) {
	data := wire(b, f)
	base := variable.NewVariableContext(context.Background())
	in := buffer.NewIoBuffer(1024)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, release := xDecode(b, p, in, base, data)
		release()
	}
}

func benchXEncode(b *testing.B, p api.XProtocol, f gen.Frame, model interface{}) {
	ctx := context.Background()
	b.SetBytes(int64(len(wire(b, f))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := p.Encode(ctx, model)
		if err != nil {
			b.Fatal(err)
		}
		if err := buffer.PutIoBuffer(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRequestGenerated(b *testing.B)  { benchGenDecode(b, genRequest()) }
func BenchmarkDecodeRequestMosn(b *testing.B)       { benchMosnDecode(b, genRequest()) }
func BenchmarkDecodeResponseGenerated(b *testing.B) { benchGenDecode(b, genResponse()) }
func BenchmarkDecodeResponseMosn(b *testing.B)      { benchMosnDecode(b, genResponse()) }
func BenchmarkEncodeRequestGenerated(b *testing.B)  { benchGenEncode(b, genRequest()) }
func BenchmarkEncodeRequestGeneratedAppend(b *testing.B) {
	benchGenAppendEncode(b, genRequest())
}
func BenchmarkEncodeRequestMosn(b *testing.B)       { benchMosnEncode(b, genRequest(), mosnRequest()) }
func BenchmarkEncodeResponseGenerated(b *testing.B) { benchGenEncode(b, genResponse()) }
func BenchmarkEncodeResponseGeneratedAppend(b *testing.B) {
	benchGenAppendEncode(b, genResponse())
}
func BenchmarkEncodeResponseMosn(b *testing.B) {
	benchMosnEncode(b, genResponse(), mosnResponse())
}

func BenchmarkXDecodeRequestGenerated(b *testing.B)  { benchXDecode(b, genProto, genRequest()) }
func BenchmarkXDecodeResponseGenerated(b *testing.B) { benchXDecode(b, genProto, genResponse()) }
func BenchmarkXEncodeRequestGenerated(b *testing.B) {
	benchXEncode(b, genProto, genRequest(), &gen.MosnRequest{Frame: genRequest()})
}
func BenchmarkXEncodeResponseGenerated(b *testing.B) {
	benchXEncode(b, genProto, genResponse(), &gen.MosnResponse{Frame: genResponse()})
}

// BenchmarkMosnStreamContext: the per-stream context alone, inside MOSN's decode figures.
func BenchmarkMosnStreamContext(b *testing.B) {
	base := variable.NewVariableContext(context.Background())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buffer.PoolContext(buffer.NewBufferPoolContext(base)).Give()
	}
}
