package protodsl.e2e.bolt;

import com.alipay.remoting.CommandFactory;
import com.alipay.remoting.CommonCommandCode;
import com.alipay.remoting.Connection;
import com.alipay.remoting.ConnectionEventType;
import com.alipay.remoting.CustomSerializerManager;
import com.alipay.remoting.InvokeCallback;
import com.alipay.remoting.InvokeContext;
import com.alipay.remoting.InvokeFuture;
import com.alipay.remoting.ProtocolCode;
import com.alipay.remoting.ProtocolManager;
import com.alipay.remoting.RemotingCommand;
import com.alipay.remoting.RemotingContext;
import com.alipay.remoting.ResponseStatus;
import com.alipay.remoting.config.switches.ProtocolSwitch;
import com.alipay.remoting.rpc.DefaultInvokeFuture;
import com.alipay.remoting.rpc.HeartbeatAckCommand;
import com.alipay.remoting.rpc.HeartbeatCommand;
import com.alipay.remoting.rpc.ResponseCommand;
import com.alipay.remoting.rpc.RpcClient;
import com.alipay.remoting.rpc.RpcResponseFuture;
import com.alipay.remoting.rpc.protocol.RpcCommandCode;
import com.alipay.remoting.rpc.protocol.RpcHeartBeatProcessor;
import com.alipay.remoting.rpc.protocol.RpcProtocol;
import com.alipay.remoting.rpc.protocol.RpcProtocolV2;
import com.alipay.remoting.rpc.protocol.RpcRequestCommand;
import com.alipay.remoting.rpc.protocol.RpcResponseCommand;
import com.alipay.remoting.rpc.protocol.RpcResponseProcessor;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Bolt client driver: runs one scenario over one pooled connection and reports one JSON line.
 * Every invocation goes through the same bolt address, so RpcClient's pool (one connection
 * per URL by default) reuses a single connection; CONNECT/CLOSE events are counted to prove it.
 */
final class Client {
    static final String    SYNC_TEXT          = "hello, bolt";
    static final String    NONASCII_TEXT      = "naïve café — Ωμέγα — 漢字かな — 🚀🧪";
    static final int       TIMEOUT_MS         = 30_000;
    static final int       CONNECT_TIMEOUT_MS = 3_000;
    /** inflight: every reply waits at least this long, so all requests are out before any returns. */
    static final int       INFLIGHT_BASE_MS   = 500;
    static final int       INFLIGHT_JITTER_MS = 200;
    static final Set<String> SCENARIOS        = Set.of("sync", "headers", "nonascii", "future",
        "callback", "inflight", "large", "heartbeat", "oneway", "status", "load");

    private final String   target;
    private final int      protocol;
    private final int      ver1;
    private final boolean  crc;
    private final String   address;
    private final RpcClient rpc               = new RpcClient();
    private final AtomicInteger connects      = new AtomicInteger();
    private final AtomicInteger closes        = new AtomicInteger();
    private final AtomicInteger strayResponses = new AtomicInteger();
    private final AtomicInteger heartbeatAcks = new AtomicInteger();
    private final AtomicInteger heartbeatsSent = new AtomicInteger();

    Client(String target, int protocol, int ver1, boolean crc) {
        // bolt reads the protocol (v1 = code 1, v2 = code 2) and v2's ver1 byte from the URL
        this.target = target;
        this.protocol = protocol;
        this.ver1 = ver1;
        this.crc = crc;
        this.address = target + "?_CONNECTTIMEOUT=" + CONNECT_TIMEOUT_MS
                       + (protocol == 2 ? "&_PROTOCOL=2&_VERSION=" + ver1 : "");
    }

    /** Runs the scenario; returns the result line (scenario failures are reported, not thrown). */
    Map<String, Object> run(String scenario, Options opts) throws Exception {
        CustomSerializerManager.registerCustomSerializer(Echo.class.getName(),
            new HeaderSerializer());
        rpc.addConnectionEventProcessor(ConnectionEventType.CONNECT,
            (remote, conn) -> connects.incrementAndGet());
        rpc.addConnectionEventProcessor(ConnectionEventType.CLOSE,
            (remote, conn) -> closes.incrementAndGet());
        rpc.startup();
        installProbes();

        Map<String, Object> details;
        long start = System.nanoTime();
        try {
            details = dispatch(scenario, opts);
        } catch (Exception e) {
            details = Json.obj("ok", false, "error", describe(e));
        }
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        Thread.sleep(200); // bolt delivers connection events asynchronously: let them land

        Map<String, Object> result = Json.obj("scenario", scenario, "ok", details.remove("ok"));
        result.put("target", target);
        result.put("url", address);
        result.put("protocol", protocol);
        result.put("ver1", protocol == 2 ? ver1 : null);
        result.put("crc", crc);
        result.put("elapsed_ms", elapsedMs);
        result.putAll(details);
        result.put("connects", connects.get());
        result.put("closes", closes.get());
        rpc.shutdown();
        return result;
    }

    private Map<String, Object> dispatch(String scenario, Options o) throws Exception {
        switch (scenario) {
            case "sync":
                return sync();
            case "headers":
                return headers(o.has("--no-service"));
            case "nonascii":
                return nonascii();
            case "future":
                return future(o.integer("--count", 50));
            case "callback":
                return callback(o.integer("--count", 50));
            case "inflight":
                return inflight(o.integer("--count", 500));
            case "large":
                return large(o.integer("--bytes", 1 << 20));
            case "heartbeat":
                return heartbeat(o.integer("--idle", 5));
            case "oneway":
                return oneway(o.integer("--count", 10));
            case "status":
                int timeoutMs = o.integer("--timeout-ms", 1000);
                return status(o.integer("--sleep-ms", 3000), timeoutMs,
                    o.integer("--wait-ms", timeoutMs + 5000));
            case "load":
                return load(o.integer("--count", 20_000), o.integer("--concurrency", 16));
            default:
                throw new IllegalArgumentException("unknown scenario: " + scenario);
        }
    }

    private Map<String, Object> sync() throws Exception {
        Object reply = rpc.invokeSync(address, SYNC_TEXT, context(null), TIMEOUT_MS);
        return Json.obj("ok", SYNC_TEXT.equals(reply), "sent", SYNC_TEXT, "received", reply);
    }

    private Map<String, Object> headers(boolean noService) throws Exception {
        Map<String, String> sent = new LinkedHashMap<>();
        if (!noService) {
            sent.put("service", "protodsl.e2e.Echo:1.0");
        }
        sent.put("x-text", "héllo wörld 你好 🚀");
        sent.put("x-empty", "");
        Echo reply = (Echo) rpc.invokeSync(address, Echo.of("headers"), context(sent),
            TIMEOUT_MS);
        boolean ok = "headers".equals(reply.text) && sent.equals(reply.headers);
        return Json.obj("ok", ok, "text", reply.text, "sent_headers", sent, "received_headers",
            reply.headers, "server_frame", frame(reply));
    }

    private Map<String, Object> nonascii() throws Exception {
        Echo reply = (Echo) rpc.invokeSync(address, Echo.of(NONASCII_TEXT), context(null),
            TIMEOUT_MS);
        return Json.obj("ok", NONASCII_TEXT.equals(reply.text), "sent", NONASCII_TEXT,
            "received", reply.text);
    }

    private Map<String, Object> future(int count) throws Exception {
        List<RpcResponseFuture> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            futures.add(rpc.invokeWithFuture(address, Echo.of("future-" + i), context(null),
                TIMEOUT_MS));
        }
        Tally tally = new Tally();
        for (int i = 0; i < count; i++) {
            try {
                tally.answer("future-" + i, futures.get(i).get(TIMEOUT_MS));
            } catch (Exception e) {
                tally.error(e);
            }
        }
        return tally.report(count, Json.obj());
    }

    private Map<String, Object> callback(int count) throws Exception {
        Tally tally = new Tally();
        CountDownLatch done = new CountDownLatch(count);
        for (int i = 0; i < count; i++) {
            String text = "callback-" + i;
            rpc.invokeWithCallback(address, Echo.of(text), context(null), callback(reply -> {
                tally.answer(text, reply);
                done.countDown();
            }, error -> {
                tally.error(error);
                done.countDown();
            }), TIMEOUT_MS);
        }
        boolean finished = done.await(TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
        return tally.report(count, Json.obj("all_completed", finished));
    }

    private Map<String, Object> inflight(int count) throws Exception {
        Random random = new Random(42);
        Tally tally = new Tally();
        CountDownLatch done = new CountDownLatch(count);
        List<Integer> completionOrder = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean allSent = new AtomicBoolean();
        AtomicInteger completedBeforeAllSent = new AtomicInteger();
        for (int i = 0; i < count; i++) {
            int index = i;
            String text = "inflight-" + i;
            int sleepMs = INFLIGHT_BASE_MS + random.nextInt(INFLIGHT_JITTER_MS + 1);
            rpc.invokeWithCallback(address, Echo.of(text, null, sleepMs), context(null),
                callback(reply -> {
                    if (!allSent.get()) {
                        completedBeforeAllSent.incrementAndGet();
                    }
                    tally.answer(text, reply);
                    completionOrder.add(index);
                    done.countDown();
                }, error -> {
                    tally.error(error);
                    done.countDown();
                }), TIMEOUT_MS);
        }
        allSent.set(true);
        boolean finished = done.await(TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);

        // a completion is out of order when an answer to a later-sent request came before it
        int outOfOrder = 0;
        long inversions = 0;
        List<Integer> order = new ArrayList<>(completionOrder);
        int maxSeen = -1;
        for (int i = 0; i < order.size(); i++) {
            if (order.get(i) < maxSeen) {
                outOfOrder++;
            }
            maxSeen = Math.max(maxSeen, order.get(i));
            for (int j = i + 1; j < order.size(); j++) {
                if (order.get(j) < order.get(i)) {
                    inversions++;
                }
            }
        }
        Map<String, Object> r = tally.report(count, Json.obj("all_completed", finished,
            "out_of_order", outOfOrder, "inversions", inversions, "completed_before_all_sent",
            completedBeforeAllSent.get(), "sleep_ms", INFLIGHT_BASE_MS + ".."
                                                       + (INFLIGHT_BASE_MS + INFLIGHT_JITTER_MS)));
        r.put("ok", (Boolean) r.get("ok") && outOfOrder > 0);
        return r;
    }

    private Map<String, Object> large(int bytes) throws Exception {
        byte[] blob = new byte[bytes];
        new Random(42).nextBytes(blob);
        Echo reply = (Echo) rpc.invokeSync(address, Echo.of("large", blob, 0), context(null),
            TIMEOUT_MS);
        String sent = sha256(blob);
        String received = reply.blob == null ? null : sha256(reply.blob);
        return Json.obj("ok", sent.equals(received), "bytes", bytes, "received_bytes",
            reply.blob == null ? null : reply.blob.length, "sha256_sent", sent,
            "sha256_received", received);
    }

    /** Needs bolt.tcp.heartbeat.* system properties set before the client exists (see Main). */
    private Map<String, Object> heartbeat(int idleSeconds) throws Exception {
        Object first = rpc.invokeSync(address, "before-idle", context(null), TIMEOUT_MS);
        Connection conn = rpc.getConnection(address, CONNECT_TIMEOUT_MS);
        // heartbeats are written from the "heartbeatHandler" context, so count them just
        // above the encoder, where every outgoing command passes
        conn.getChannel().pipeline().addAfter("encoder", "heartbeatCounter",
            new HeartbeatCounter());
        Thread.sleep(idleSeconds * 1000L);
        boolean openAfterIdle = conn.isFine();
        Object second = rpc.invokeSync(address, "after-idle", context(null), TIMEOUT_MS);
        boolean sameConnection = rpc.getConnection(address, CONNECT_TIMEOUT_MS) == conn;
        boolean ok = "before-idle".equals(first) && "after-idle".equals(second)
                     && openAfterIdle && sameConnection && closes.get() == 0
                     && heartbeatsSent.get() > 0 && heartbeatAcks.get() > 0;
        return Json.obj("ok", ok, "idle_s", idleSeconds, "heartbeats_sent",
            heartbeatsSent.get(), "heartbeat_acks", heartbeatAcks.get(),
            "heartbeat_unanswered_in_a_row", conn.getChannel().attr(Connection.HEARTBEAT_COUNT)
                .get(), "open_after_idle", openAfterIdle, "same_connection", sameConnection,
            "first", first, "second", second);
    }

    private Map<String, Object> oneway(int count) throws Exception {
        for (int i = 0; i < count; i++) {
            rpc.oneway(address, Echo.of("oneway-" + i), context(null));
        }
        Object reply = rpc.invokeSync(address, "after-oneway", context(null), TIMEOUT_MS);
        Thread.sleep(500); // give any (wrong) answer to a oneway request time to arrive
        return Json.obj("ok", "after-oneway".equals(reply), "sent", count, "final_sync",
            reply, "stray_responses", strayResponses.get());
    }

    /**
     * One request whose frame says timeout T while the client itself waits longer, so that a
     * TIMEOUT answer produced by a proxy is seen. RpcClient would time out locally after T, so
     * the command is built and awaited by hand, as bolt's BaseRemoting does internally.
     */
    private Map<String, Object> status(int sleepMs, int timeoutMs, int waitMs) throws Exception {
        Connection conn = rpc.getConnection(address, CONNECT_TIMEOUT_MS);
        ProtocolCode code = conn.getChannel().attr(Connection.PROTOCOL).get();
        CommandFactory factory = ProtocolManager.getProtocol(code).getCommandFactory();
        InvokeContext context = context(null);
        RpcRequestCommand cmd = factory.createRequestCommand(Echo.of("status", null, sleepMs));
        cmd.setTimeout(timeoutMs);
        cmd.setRequestClass(Echo.class.getName());
        cmd.setInvokeContext(context);
        if (crc) {
            cmd.setProtocolSwitch(ProtocolSwitch
                .create(new int[] { ProtocolSwitch.CRC_SWITCH_INDEX }));
        }
        cmd.serialize();
        InvokeFuture future = new DefaultInvokeFuture(cmd.getId(), null, null,
            code.getFirstByte(), factory, context);
        conn.addInvokeFuture(future);
        long start = System.nanoTime();
        conn.getChannel().writeAndFlush(cmd).sync();
        ResponseCommand response = (ResponseCommand) future.waitResponse(waitMs);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        conn.removeInvokeFuture(cmd.getId());

        Map<String, Object> r = Json.obj("sleep_ms", sleepMs, "timeout_ms", timeoutMs,
            "waited_ms", waitMs, "elapsed_ms", elapsedMs);
        if (response == null) {
            r.putAll(Json.obj("ok", false, "status_code", null, "status", null, "error",
                "no response frame within " + waitMs + " ms"));
            return r;
        }
        // bolt decodes wire responses as RpcResponseCommand; the ones it makes up locally
        // (e.g. CONNECTION_CLOSED when the connection drops) are plain ResponseCommands
        boolean fromWire = response instanceof RpcResponseCommand;
        ResponseStatus status = response.getResponseStatus();
        r.putAll(Json.obj("ok", fromWire, "status_code", (int) status.getValue(), "status",
            status.name(), "from_wire", fromWire, "error", null));
        if (fromWire) {
            try {
                RpcResponseCommand rpcResponse = (RpcResponseCommand) response;
                rpcResponse.deserialize();
                Object body = rpcResponse.getResponseObject();
                r.put("body", body instanceof Echo ? ((Echo) body).text : body == null ? null
                    : body.toString());
            } catch (Exception e) {
                r.put("body_error", describe(e));
            }
        } else {
            r.put("error", "bolt generated " + status + " locally");
        }
        return r;
    }

    private Map<String, Object> load(int count, int concurrency) throws Exception {
        Tally tally = new Tally();
        Semaphore window = new Semaphore(concurrency);
        CountDownLatch done = new CountDownLatch(count);
        long[] latencyNs = new long[count]; // 0: no answer
        long start = System.nanoTime();
        int sent = 0;
        for (int i = 0; i < count; i++) {
            window.acquire();
            String text = "load-" + i;
            int index = i;
            long sentAt = System.nanoTime();
            Consumer<Object> onReply = reply -> {
                latencyNs[index] = System.nanoTime() - sentAt;
                tally.answer(text, reply);
                window.release();
                done.countDown();
            };
            try {
                rpc.invokeWithCallback(address, Echo.of(text), context(null),
                    callback(onReply, error -> {
                        tally.error(error);
                        window.release();
                        done.countDown();
                    }), TIMEOUT_MS);
                sent++;
            } catch (Exception e) {
                tally.error(e); // cannot even send (no connection): stop here
                break;
            }
        }
        boolean finished = sent == count
                           && done.await(TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        Map<String, Object> r = tally.report(count, Json.obj("sent", sent, "concurrency",
            concurrency, "all_completed", finished, "elapsed_ms", elapsedMs));
        r.put("rps", Math.round((Integer) r.get("answered") * 1000.0 / Math.max(1, elapsedMs)));
        long[] answered = java.util.Arrays.stream(latencyNs).filter(ns -> ns > 0).sorted().toArray();
        if (answered.length > 0) { // latency of an answer, request sent to answer received
            r.put("p50_us", answered[answered.length / 2] / 1_000);
            r.put("p99_us", answered[Math.min(answered.length - 1, answered.length * 99 / 100)] / 1_000);
        }
        return r;
    }

    private InvokeContext context(Map<String, String> headers) {
        InvokeContext context = new InvokeContext();
        // bolt v2 sets the CRC switch unless told otherwise; v1 frames have no switch byte
        context.put(InvokeContext.BOLT_CRC_SWITCH, crc);
        if (headers != null) {
            context.put(HeaderSerializer.HEADERS_KEY, headers);
        }
        return context;
    }

    private static InvokeCallback callback(Consumer<Object> onReply, Consumer<Throwable> onError) {
        return new InvokeCallback() {
            @Override
            public void onResponse(Object result) {
                onReply.accept(result);
            }

            @Override
            public void onException(Throwable e) {
                onError.accept(e);
            }

            @Override
            public Executor getExecutor() {
                return null; // run on bolt's own executor
            }
        };
    }

    private static Map<String, Object> frame(Echo reply) {
        return Json.obj("oneway", reply.oneway, "timeout_ms", reply.timeoutMs, "crc_switch",
            reply.crcSwitch);
    }

    /** Probes for the client's own connection: stray responses and heartbeat acks. */
    private void installProbes() {
        for (byte code : new byte[] { RpcProtocol.PROTOCOL_CODE, RpcProtocolV2.PROTOCOL_CODE }) {
            var handler = ProtocolManager.getProtocol(ProtocolCode.fromBytes(code))
                .getCommandHandler();
            handler.registerProcessor(RpcCommandCode.RPC_RESPONSE, new StrayResponseProbe());
            handler.registerProcessor(CommonCommandCode.HEARTBEAT, new HeartbeatAckProbe());
        }
    }

    /** Bolt's response processor, counting answers whose request id is unknown (bolt only logs those). */
    private final class StrayResponseProbe extends RpcResponseProcessor {
        @Override
        public void doProcess(RemotingContext ctx, RemotingCommand cmd) {
            Connection conn = ctx.getChannelContext().channel().attr(Connection.CONNECTION).get();
            if (conn.getInvokeFuture(cmd.getId()) == null) {
                strayResponses.incrementAndGet();
            }
            super.doProcess(ctx, cmd);
        }
    }

    private final class HeartbeatAckProbe extends RpcHeartBeatProcessor {
        @Override
        public void doProcess(RemotingContext ctx, RemotingCommand msg) {
            if (msg instanceof HeartbeatAckCommand) {
                heartbeatAcks.incrementAndGet();
            }
            super.doProcess(ctx, msg);
        }
    }

    @ChannelHandler.Sharable
    private final class HeartbeatCounter extends ChannelOutboundHandlerAdapter {
        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
                                                                                        throws Exception {
            if (msg instanceof HeartbeatCommand) {
                heartbeatsSent.incrementAndGet();
            }
            super.write(ctx, msg, promise);
        }
    }

    /** Thread-safe count of answers checked against their requests. */
    private static final class Tally {
        private int                answered;
        private int                wrong;
        private int                errors;
        private final List<String> firstErrors = new ArrayList<>();

        synchronized void answer(String expectedText, Object reply) {
            if (reply instanceof Echo && expectedText.equals(((Echo) reply).text)) {
                answered++;
            } else {
                wrong++;
            }
        }

        synchronized void error(Throwable e) {
            errors++;
            if (firstErrors.size() < 5) {
                firstErrors.add(describe(e));
            }
        }

        synchronized Map<String, Object> report(int count, Map<String, Object> extra) {
            Map<String, Object> r = Json.obj("ok", answered == count && wrong == 0
                                                   && errors == 0, "count", count, "answered",
                answered, "wrong", wrong, "errors", errors, "first_errors", firstErrors);
            r.putAll(extra);
            return r;
        }
    }

    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (sb.length() > 0) {
                sb.append(" <- caused by ");
            }
            sb.append(t.getClass().getName()).append(": ").append(t.getMessage());
        }
        return sb.toString();
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
