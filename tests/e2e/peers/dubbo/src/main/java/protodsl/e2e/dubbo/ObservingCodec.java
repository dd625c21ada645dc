package protodsl.e2e.dubbo;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.dubbo.common.io.Bytes;
import org.apache.dubbo.remoting.Channel;
import org.apache.dubbo.remoting.Codec2;
import org.apache.dubbo.remoting.buffer.ChannelBuffer;
import org.apache.dubbo.remoting.exchange.Response;
import org.apache.dubbo.remoting.exchange.support.MultiMessage;
import org.apache.dubbo.rpc.model.FrameworkModel;
import org.apache.dubbo.rpc.protocol.dubbo.DubboCountCodec;

/**
 * Dubbo's own codec, unchanged, plus a look at each frame header it encodes or decodes.
 * Registered under the name "dubbo" in META-INF/dubbo/, which overrides the built-in
 * DubboCountCodec (the dubbo protocol forces codec=dubbo on its server URL, so a new name would not do).
 */
public final class ObservingCodec implements Codec2 {
    private static final int HEADER = 16;
    private static final short MAGIC = (short) 0xdabb;
    private static final byte HESSIAN2_NULL = 'N';

    private final Codec2 dubbo;

    public ObservingCodec(FrameworkModel frameworkModel) {
        dubbo = new DubboCountCodec(frameworkModel);
    }

    @Override
    public void encode(Channel channel, ChannelBuffer buffer, Object msg) throws IOException {
        int start = buffer.writerIndex();
        dubbo.encode(channel, buffer, msg);
        report(channel, buffer, start, buffer.writerIndex(), false, List.of());
    }

    @Override
    public Object decode(Channel channel, ChannelBuffer buffer) throws IOException {
        int start = buffer.readerIndex();
        Object msg = dubbo.decode(channel, buffer);
        if (msg != DecodeResult.NEED_MORE_INPUT) {
            report(channel, buffer, start, buffer.readerIndex(), true, messages(msg));
        }
        return msg;
    }

    private static List<Object> messages(Object msg) {
        List<Object> list = new ArrayList<>();
        if (msg instanceof MultiMessage) {
            ((MultiMessage) msg).forEach(list::add);
        } else {
            list.add(msg);
        }
        return list;
    }

    /** Walks the frames in buffer[start, end); decoded (inbound only) holds the matching messages in order. */
    private static void report(
            Channel channel, ChannelBuffer buffer, int start, int end, boolean inbound, List<Object> decoded) {
        byte[] h = new byte[HEADER];
        int index = 0;
        for (int pos = start; pos + HEADER <= end; index++) {
            buffer.getBytes(pos, h);
            if (Bytes.bytes2short(h, 0) != MAGIC) {
                return; // not a dubbo frame (Dubbo falls back to telnet): nothing to report
            }
            byte flag = h[2];
            int length = Bytes.bytes2int(h, 12);
            boolean event = (flag & 0x20) != 0;
            // Dubbo sends 'N'; MOSN answers with 'NN'. Dubbo takes both as a heartbeat (null event data).
            boolean heartbeat = event && length >= 1 && buffer.getByte(pos + HEADER) == HESSIAN2_NULL;
            Object message = index < decoded.size() ? decoded.get(index) : null;
            String decodeError = null;
            if (message instanceof Response && ((Response) message).getStatus() != h[3]) {
                decodeError = ((Response) message).getErrorMessage();
            }
            Wire.frame(new Wire.Frame(
                    inbound,
                    (flag & 0x80) != 0,
                    (flag & 0x40) != 0,
                    event,
                    heartbeat,
                    flag & 0x1f,
                    h[3] & 0xff,
                    Bytes.bytes2long(h, 4),
                    length,
                    Wire.address(channel.getLocalAddress()),
                    Wire.address(channel.getRemoteAddress()),
                    decodeError));
            pos += HEADER + length;
        }
    }
}
