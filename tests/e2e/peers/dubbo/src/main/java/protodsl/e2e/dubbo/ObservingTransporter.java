package protodsl.e2e.dubbo;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.remoting.Channel;
import org.apache.dubbo.remoting.ChannelHandler;
import org.apache.dubbo.remoting.Client;
import org.apache.dubbo.remoting.RemotingException;
import org.apache.dubbo.remoting.RemotingServer;
import org.apache.dubbo.remoting.Transporter;
import org.apache.dubbo.remoting.transport.AbstractChannelHandlerDelegate;
import org.apache.dubbo.remoting.transport.netty4.NettyClient;
import org.apache.dubbo.remoting.transport.netty4.NettyServer;

/**
 * Dubbo's netty4 transport, reporting each connect and disconnect, and kept on loopback.
 * Registered under the default name "netty" in META-INF/dubbo/, overriding the built-in one.
 *
 * Dubbo treats any 127.x host as "no host configured" (NetUtils.isInvalidLocalHost): a server then
 * binds every interface and a client connects to the machine's first non-loopback address instead.
 * These test peers must stay on loopback, so both use the address they were given.
 */
public final class ObservingTransporter implements Transporter {
    @Override
    public RemotingServer bind(URL url, ChannelHandler handler) throws RemotingException {
        return new LoopbackServer(url, new Observed(handler));
    }

    @Override
    public Client connect(URL url, ChannelHandler handler) throws RemotingException {
        return new LoopbackClient(url, new Observed(handler));
    }

    private static final class LoopbackServer extends NettyServer {
        LoopbackServer(URL url, ChannelHandler handler) throws RemotingException {
            super(url, handler);
        }

        @Override
        public InetSocketAddress getBindAddress() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), super.getBindAddress().getPort());
        }
    }

    private static final class LoopbackClient extends NettyClient {
        LoopbackClient(URL url, ChannelHandler handler) throws RemotingException {
            super(url, handler);
        }

        @Override
        public InetSocketAddress getConnectAddress() {
            return new InetSocketAddress(getUrl().getHost(), getUrl().getPort());
        }
    }

    private static final class Observed extends AbstractChannelHandlerDelegate {
        Observed(ChannelHandler handler) {
            super(handler);
        }

        @Override
        public void connected(Channel channel) throws RemotingException {
            Wire.connection(true, channel);
            super.connected(channel);
        }

        @Override
        public void disconnected(Channel channel) throws RemotingException {
            Wire.connection(false, channel);
            super.disconnected(channel);
        }
    }
}
