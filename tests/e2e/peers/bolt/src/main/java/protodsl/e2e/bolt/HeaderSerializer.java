package protodsl.e2e.bolt;

import com.alipay.remoting.DefaultCustomSerializer;
import com.alipay.remoting.InvokeContext;
import com.alipay.remoting.config.switches.ProtocolSwitch;
import com.alipay.remoting.exception.CodecException;
import com.alipay.remoting.exception.DeserializationException;
import com.alipay.remoting.exception.SerializationException;
import com.alipay.remoting.rpc.RequestCommand;
import com.alipay.remoting.rpc.RpcCommandType;
import com.alipay.remoting.rpc.protocol.RpcRequestCommand;
import com.alipay.remoting.serialization.SerializerManager;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bolt custom serializer for {@link Echo} requests. It writes/reads the bolt header section in
 * SOFA RPC's SimpleMapSerializer layout: repeated (u32 key length, UTF-8 key, u32 value length,
 * UTF-8 value), big-endian. Empty values are kept (length 0), as SOFA RPC's encoder does.
 * Content stays Hessian; the server side additionally copies frame facts into the Echo.
 * Registered for the Echo class only, so String requests carry no header at all.
 */
final class HeaderSerializer extends DefaultCustomSerializer {
    /** InvokeContext key under which the client puts the Map of headers to send. */
    static final String HEADERS_KEY = "protodsl.e2e.headers";

    @Override
    public <T extends RequestCommand> boolean serializeHeader(T request, InvokeContext context)
                                                                                      throws SerializationException {
        Map<String, String> headers = context == null ? null : context.get(HEADERS_KEY);
        if (headers == null || headers.isEmpty()) {
            return false;
        }
        request.setHeader(encode(headers));
        return true;
    }

    @Override
    public <T extends RequestCommand> boolean deserializeHeader(T request)
                                                                        throws DeserializationException {
        ((RpcRequestCommand) request).setRequestHeader(decode(request.getHeader()));
        return true;
    }

    /** Server side: Hessian-decodes the Echo and records what the frame looked like. */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends RequestCommand> boolean deserializeContent(T request)
                                                                         throws DeserializationException {
        RpcRequestCommand cmd = (RpcRequestCommand) request;
        Echo echo;
        try {
            echo = (Echo) SerializerManager.getSerializer(cmd.getSerializer()).deserialize(
                cmd.getContent(), cmd.getRequestClass());
        } catch (CodecException e) {
            throw new DeserializationException("cannot decode Echo content: " + e, e);
        }
        // deserializeHeader only runs when the frame had a header section
        Object headers = cmd.getRequestHeader();
        echo.headers = headers == null ? Collections.emptyMap() : (Map<String, String>) headers;
        echo.oneway = cmd.getType() == RpcCommandType.REQUEST_ONEWAY;
        echo.timeoutMs = cmd.getTimeout();
        echo.crcSwitch = cmd.getProtocolSwitch().isOn(ProtocolSwitch.CRC_SWITCH_INDEX);
        cmd.setRequestObject(echo);
        return true;
    }

    static byte[] encode(Map<String, String> headers) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<String, String> e : headers.entrySet()) {
            writeString(out, e.getKey());
            writeString(out, e.getValue());
        }
        return out.toByteArray();
    }

    static Map<String, String> decode(byte[] bytes) throws DeserializationException {
        Map<String, String> headers = new LinkedHashMap<>();
        if (bytes == null) {
            return headers;
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            while (in.hasRemaining()) {
                String key = readString(in);
                headers.put(key, readString(in));
            }
        } catch (RuntimeException e) {
            throw new DeserializationException("malformed bolt header section: " + e, e);
        }
        return headers;
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(4).putInt(bytes.length).array());
        out.writeBytes(bytes);
    }

    private static String readString(ByteBuffer in) {
        byte[] bytes = new byte[in.getInt()];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
