package protodsl.e2e.bolt;

import com.alipay.remoting.AsyncContext;
import com.alipay.remoting.BizContext;
import com.alipay.remoting.CommonCommandCode;
import com.alipay.remoting.ConnectionEventType;
import com.alipay.remoting.CustomSerializerManager;
import com.alipay.remoting.RemotingCommand;
import com.alipay.remoting.RemotingContext;
import com.alipay.remoting.rpc.HeartbeatCommand;
import com.alipay.remoting.rpc.RpcServer;
import com.alipay.remoting.rpc.protocol.AsyncUserProcessor;
import com.alipay.remoting.rpc.protocol.RpcHeartBeatProcessor;
import com.alipay.remoting.rpc.protocol.RpcProtocol;
import com.alipay.remoting.rpc.protocol.RpcProtocolV2;
import com.alipay.remoting.rpc.protocol.SyncUserProcessor;
import com.alipay.remoting.util.RemotingUtil;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Bolt echo server. Bolt picks the protocol (v1 or v2) and the CRC check per connection from
 * the frames it receives, so one server answers every client variant; the --protocol/--crc
 * options are only echoed in the ready event.
 */
final class Server {
    private Server() {
    }

    static void run(int port, int protocol, boolean crc) throws Exception {
        CustomSerializerManager.registerCustomSerializer(Echo.class.getName(),
            new HeaderSerializer());
        RpcServer server = new RpcServer("127.0.0.1", port, false);
        server.registerUserProcessor(new StringEcho());
        server.registerUserProcessor(new DelayedEcho());
        server.addConnectionEventProcessor(ConnectionEventType.CONNECT, (remote, conn) -> Json
            .emit(Json.obj("event", "connect", "remote", remote)));
        server.addConnectionEventProcessor(ConnectionEventType.CLOSE, (remote, conn) -> Json
            .emit(Json.obj("event", "close", "remote", remote)));
        server.startup();
        // the protocols (and their processor tables) exist once the server has started
        for (byte code : new byte[] { RpcProtocol.PROTOCOL_CODE, RpcProtocolV2.PROTOCOL_CODE }) {
            server.registerProcessor(code, CommonCommandCode.HEARTBEAT, new ReportingHeartbeat());
        }
        Json.emit(Json.obj("event", "ready", "port", port, "protocol", protocol, "crc", crc));
        Thread.currentThread().join(); // killed by the harness
    }

    /** Plain String echo: no custom serializer is registered for String, so no headers. */
    private static final class StringEcho extends SyncUserProcessor<String> {
        @Override
        public Object handleRequest(BizContext bizCtx, String request) {
            return request;
        }

        @Override
        public String interest() {
            return String.class.getName();
        }
    }

    /** Answers each Echo after its sleepMs, so replies on one connection come out of order. */
    private static final class DelayedEcho extends AsyncUserProcessor<Echo> {
        private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(4);

        @Override
        public void handleRequest(BizContext bizCtx, AsyncContext asyncCtx, Echo request) {
            if (request.oneway) {
                Json.emit(Json.obj("event", "oneway", "text", request.text));
                return;
            }
            timer.schedule(() -> asyncCtx.sendResponse(request), request.sleepMs,
                TimeUnit.MILLISECONDS);
        }

        @Override
        public String interest() {
            return Echo.class.getName();
        }
    }

    /** Bolt's own heartbeat processor, plus an event for every heartbeat request received. */
    private static final class ReportingHeartbeat extends RpcHeartBeatProcessor {
        @Override
        public void doProcess(RemotingContext ctx, RemotingCommand msg) {
            if (msg instanceof HeartbeatCommand) {
                Json.emit(Json.obj("event", "heartbeat", "id", msg.getId(), "remote",
                    RemotingUtil.parseRemoteAddress(ctx.getChannelContext().channel())));
            }
            super.doProcess(ctx, msg);
        }
    }
}
