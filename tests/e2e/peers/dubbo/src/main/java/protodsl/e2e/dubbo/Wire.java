package protodsl.e2e.dubbo;

import java.net.InetSocketAddress;
import org.apache.dubbo.remoting.Channel;

/**
 * What this JVM sent and received on the wire, reported by ObservingCodec and ObservingTransporter.
 * Dubbo hides some of it (heartbeats are answered below the service, a response whose body fails to
 * decode gets its status rewritten to 90), so the peers read the raw frame headers here.
 */
final class Wire {
    private Wire() {}

    /** One dubbo frame: its 16-byte header plus what the body says cheaply. */
    record Frame(
            boolean inbound,
            boolean request,
            boolean twoWay,
            boolean event,
            /** An event frame whose body starts with hessian2 null ('N'): Dubbo's heartbeat. */
            boolean heartbeat,
            int serialization,
            /** The raw status byte (meaningful on responses). */
            int status,
            long id,
            int bodyLength,
            String local,
            String remote,
            /** For an inbound response Dubbo failed to decode: the error it substituted, else null. */
            String decodeError) {}

    interface Listener {
        void frame(Frame frame);

        void connection(boolean up, String local, String remote);
    }

    private static volatile Listener listener;

    static void listen(Listener l) {
        listener = l;
    }

    static void frame(Frame frame) {
        Listener l = listener;
        if (l != null) l.frame(frame);
    }

    static void connection(boolean up, Channel channel) {
        Listener l = listener;
        if (l != null) l.connection(up, address(channel.getLocalAddress()), address(channel.getRemoteAddress()));
    }

    static String address(InetSocketAddress a) {
        return a == null ? null : a.getAddress().getHostAddress() + ":" + a.getPort();
    }
}
