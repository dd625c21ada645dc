package protodsl.e2e.dubbo;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.apache.dubbo.config.MethodConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;

/** Runs one scenario against a target and prints one JSON result line. */
final class Consumer {
    static final List<String> SCENARIOS = List.of(
            "sync", "attachments", "nonascii", "async", "inflight", "large", "heartbeat", "oneway", "status", "load");

    static final String APPLICATION = "protodsl-e2e-consumer";
    private static final int CALL_TIMEOUT_MS = 10_000;
    private static final int SAMPLES = 5;

    private final String target;
    private final Map<String, String> options;
    private final WireLog wire = new WireLog();
    private final Map<String, Object> result = new LinkedHashMap<>();

    private Consumer(String target, Map<String, String> options) {
        this.target = target;
        this.options = options;
    }

    static void run(String target, String scenario, Map<String, String> options) {
        Consumer c = new Consumer(target, options);
        c.result.put("scenario", scenario);
        c.result.put("ok", false);
        c.result.put("target", target);
        Wire.listen(c.wire);
        long start = System.nanoTime();
        try {
            c.result.put("ok", c.scenario(scenario));
        } catch (Exception e) {
            e.printStackTrace(); // stderr, for whoever reads the harness log
            c.result.put("error", describe(e));
        }
        c.result.put("total_ms", millisSince(start));
        c.result.put("wire", c.wire.summary());
        Json.emit(c.result);
    }

    private boolean scenario(String scenario) throws Exception {
        switch (scenario) {
            case "sync": return echoOnce("hello, dubbo");
            case "attachments": return attachments();
            case "nonascii": return echoOnce("naïve café — Ωμέγα — 漢字かな — 🚀🧪");
            case "async": return async(option("count", 50));
            case "inflight": return inflight(option("count", 500), option("base-sleep-ms", 1000));
            case "large": return large(option("bytes", 1 << 20));
            case "heartbeat": return heartbeat(option("idle", 5));
            case "oneway": return oneway(option("count", 10));
            case "status": return status(option("sleep-ms", 3000), option("timeout-ms", 1000));
            case "load": return load(option("count", 20000), option("concurrency", 16));
            default: throw new IllegalArgumentException("unknown scenario " + scenario);
        }
    }

    /** A proxy for EchoService on ONE shared connection (Dubbo's default connections=0) to the target. */
    private EchoService refer(int timeoutMs, Map<String, String> parameters) {
        ReferenceConfig<EchoService> ref = new ReferenceConfig<>();
        ref.setInterface(EchoService.class);
        ref.setUrl("dubbo://" + target + "/" + EchoService.class.getName()); // direct, no registry
        ref.setTimeout(timeoutMs);
        ref.setRetries(0); // a retry would hide the failure under test
        MethodConfig note = new MethodConfig();
        note.setName("note");
        note.setReturn(false); // one-way: the request frame has the two-way flag cleared
        ref.setMethods(List.of(note));
        Map<String, String> p = new HashMap<>(parameters);
        p.put("serialization", "hessian2");
        p.put("prefer.serialization", "hessian2"); // 3.2+ would otherwise prefer fastjson2 when present
        ref.setParameters(p);
        DubboBootstrap.getInstance()
                .application(Main.application(APPLICATION))
                .reference(ref)
                .start();
        return ref.get();
    }

    private boolean echoOnce(String text) {
        EchoService svc = refer(CALL_TIMEOUT_MS, Map.of());
        String got = svc.echo(text);
        result.put("sent", text);
        result.put("received", got);
        return text.equals(got);
    }

    private boolean attachments() {
        EchoService svc = refer(CALL_TIMEOUT_MS, Map.of());
        Map<String, String> sent = new LinkedHashMap<>();
        sent.put("x-text", "héllo 你好");
        sent.put("x-plain", "v");
        sent.forEach((k, v) -> RpcContext.getClientAttachment().setAttachment(k, v));
        Map<String, String> got = svc.attachments();
        result.put("sent", sent);
        result.put("received", got);
        return sent.entrySet().stream().allMatch(e -> e.getValue().equals(got.get(e.getKey())));
    }

    private boolean async(int count) throws InterruptedException {
        EchoService svc = refer(CALL_TIMEOUT_MS, Map.of());
        List<CompletableFuture<String>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String text = "async-" + i;
            futures.add(RpcContext.getServiceContext().asyncCall(() -> svc.echo(text)));
        }
        Tally t = tally(futures, i -> "async-" + i);
        result.put("count", count);
        t.report(result);
        return t.answered == count && t.wrong == 0;
    }

    /**
     * count sleepEcho calls on one connection, all issued before the first answer: each sleeps
     * base + Random(42) in 0..200 ms, the base (default 1000) outlasting the issuing of the batch.
     */
    private boolean inflight(int count, int baseMs) throws InterruptedException {
        EchoService svc = refer(30_000, Map.of());
        svc.echo("warm-up"); // connection and proxy ready before the batch, so issuing it is quick
        Random random = new Random(42);
        int[] completionOrder = new int[count];
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger issued = new AtomicInteger();
        AtomicInteger issuedAtFirstAnswer = new AtomicInteger(-1);
        List<CompletableFuture<String>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            int index = i;
            int sleepMs = baseMs + random.nextInt(201);
            CompletableFuture<String> f =
                    RpcContext.getServiceContext().asyncCall(() -> svc.sleepEcho("inflight-" + index, sleepMs));
            issued.incrementAndGet();
            f.whenComplete((v, e) -> {
                int k = completed.getAndIncrement();
                completionOrder[k] = index;
                if (k == 0) issuedAtFirstAnswer.set(issued.get());
            });
            futures.add(f);
        }
        long issueMs = millisSince(start);
        Tally t = tally(futures, i -> "inflight-" + i);
        // get() may return just before the whenComplete callbacks ran: wait for them.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (completed.get() < count && System.nanoTime() < deadline) Thread.sleep(10);
        int outOfOrder = 0;
        for (int k = 0; k < completed.get(); k++) {
            if (completionOrder[k] != k) outOfOrder++;
        }
        result.put("count", count);
        t.report(result);
        result.put("out_of_order", outOfOrder);
        result.put("wire_out_of_order", wireOutOfOrder());
        result.put("base_sleep_ms", baseMs);
        result.put("issue_ms", issueMs);
        result.put("issued_before_first_answer", issuedAtFirstAnswer.get());
        result.put("all_issued_before_first_answer", issuedAtFirstAnswer.get() == count);
        return t.answered == count && t.wrong == 0 && outOfOrder > 0;
    }

    /** Positions where the n-th response frame received does not answer the n-th request frame sent. */
    private int wireOutOfOrder() {
        List<Long> sent = new ArrayList<>();
        List<Long> received = new ArrayList<>();
        for (Wire.Frame f : wire.frames()) {
            if (f.event()) continue;
            if (!f.inbound() && f.request() && f.twoWay()) sent.add(f.id());
            if (f.inbound() && !f.request()) received.add(f.id());
        }
        int mismatched = 0;
        for (int k = 0; k < Math.min(sent.size(), received.size()); k++) {
            if (!sent.get(k).equals(received.get(k))) mismatched++;
        }
        return mismatched;
    }

    private boolean large(int bytes) throws Exception {
        byte[] blob = new byte[bytes];
        new Random(42).nextBytes(blob);
        EchoService svc = refer(30_000, Map.of());
        byte[] got = svc.echoBytes(blob);
        result.put("bytes", bytes);
        result.put("received_bytes", got == null ? null : got.length);
        result.put("sha256_sent", sha256(blob));
        result.put("sha256_received", got == null ? null : sha256(got));
        return Arrays.equals(blob, got);
    }

    /**
     * Dubbo's netty4 client sends a heartbeat after `heartbeat` ms without reading anything, and its
     * reconnect task closes and reopens a connection that has read nothing for 3 x heartbeat. So with
     * heartbeat=1000 an idle of several seconds keeps the connection only if heartbeats are answered.
     */
    private boolean heartbeat(int idleSeconds) throws InterruptedException {
        EchoService svc = refer(CALL_TIMEOUT_MS, Map.of("heartbeat", "1000"));
        String first = attempt("first_error", () -> svc.echo("before-idle"));
        Thread.sleep(idleSeconds * 1000L);
        String second = attempt("second_error", () -> svc.echo("after-idle"));
        answered(2000);
        List<String> callConnections = new ArrayList<>();
        for (Wire.Frame f : wire.frames()) {
            if (!f.inbound() && f.request() && !f.event()) callConnections.add(f.local());
        }
        Map<String, Object> w = wire.summary();
        boolean sameConnection = callConnections.size() == 2 && callConnections.get(0).equals(callConnections.get(1));
        result.put("heartbeat_ms", 1000);
        result.put("idle_s", idleSeconds);
        result.put("first_ok", "before-idle".equals(first));
        result.put("second_ok", "after-idle".equals(second));
        result.put("call_connections", callConnections);
        result.put("same_connection", sameConnection);
        result.put("reconnects", Math.max(0, (int) w.get("connects") - 1));
        return "before-idle".equals(first)
                && "after-idle".equals(second)
                && sameConnection
                && (int) w.get("connects") == 1
                && (int) w.get("disconnects") == 0;
    }

    /**
     * Waits up to `ms` until every heartbeat sent has its answer: one sent just before the last
     * call may be answered after that call's response, and the summary is read once.
     */
    private void answered(long ms) throws InterruptedException {
        long until = System.currentTimeMillis() + ms;
        Map<String, Object> w = wire.summary();
        while (!w.get("heartbeat_responses").equals(w.get("heartbeats_sent"))
                && System.currentTimeMillis() < until) {
            Thread.sleep(20);
            w = wire.summary();
        }
    }

    private boolean oneway(int count) throws InterruptedException {
        EchoService svc = refer(CALL_TIMEOUT_MS, Map.of());
        for (int i = 0; i < count; i++) {
            svc.note("oneway-" + i);
        }
        String got = attempt("final_error", () -> svc.echo("after-oneway"));
        Thread.sleep(300); // a stray response to a one-way request would have arrived by now
        Set<Long> twoWayIds = new HashSet<>();
        int onewaySent = 0;
        List<Wire.Frame> frames = wire.frames();
        for (Wire.Frame f : frames) {
            if (!f.inbound() && f.request() && !f.event()) {
                if (f.twoWay()) twoWayIds.add(f.id());
                else onewaySent++;
            }
        }
        List<Long> strays = new ArrayList<>();
        for (Wire.Frame f : frames) {
            if (f.inbound() && !f.request() && !f.event() && !twoWayIds.contains(f.id())) strays.add(f.id());
        }
        result.put("count", count);
        result.put("oneway_frames_sent", onewaySent);
        result.put("final_echo", got);
        result.put("stray_responses", strays.size());
        result.put("stray_response_ids", strays);
        return "after-oneway".equals(got);
    }

    private boolean status(int sleepMs, int timeoutMs) throws Exception {
        result.putAll(StatusProbe.run(target, sleepMs, timeoutMs, timeoutMs + 5000, wire));
        return result.get("status_code") != null;
    }

    private boolean load(int count, int concurrency) throws InterruptedException {
        EchoService svc = refer(CALL_TIMEOUT_MS, Map.of());
        Semaphore permits = new Semaphore(concurrency);
        List<CompletableFuture<String>> futures = new ArrayList<>(count);
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            permits.acquire();
            String text = "load-" + i;
            CompletableFuture<String> f = RpcContext.getServiceContext().asyncCall(() -> svc.echo(text));
            f.whenComplete((v, e) -> permits.release());
            futures.add(f);
        }
        permits.acquire(concurrency); // every call has finished (each is bounded by its timeout)
        long elapsedMs = millisSince(start);
        Tally t = tally(futures, i -> "load-" + i);
        result.put("count", count);
        result.put("concurrency", concurrency);
        t.report(result);
        result.put("elapsed_ms", elapsedMs);
        result.put("rps", elapsedMs == 0 ? null : Math.round(count * 1000.0 / elapsedMs));
        return t.errors == 0 && t.wrong == 0;
    }

    /** Outcome of a batch of calls whose i-th answer should be expected(i). */
    private static final class Tally {
        int answered;
        int wrong;
        int errors;
        final List<String> samples = new ArrayList<>();

        void report(Map<String, Object> out) {
            out.put("answered", answered);
            out.put("wrong", wrong);
            out.put("errors", errors);
            out.put("error_samples", samples);
        }
    }

    private static Tally tally(List<CompletableFuture<String>> futures, IntFunction<String> expected)
            throws InterruptedException {
        Tally t = new Tally();
        for (int i = 0; i < futures.size(); i++) {
            try {
                // Each call carries its own timeout; this bound only guards against a lost future.
                String got = futures.get(i).get(60, TimeUnit.SECONDS);
                t.answered++;
                if (!expected.apply(i).equals(got)) {
                    t.wrong++;
                    if (t.samples.size() < SAMPLES) t.samples.add("call " + i + " answered " + got);
                }
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                t.errors++;
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                if (t.samples.size() < SAMPLES) t.samples.add("call " + i + ": " + describe(cause));
            }
        }
        return t;
    }

    private <T> T attempt(String errorKey, Callable<T> call) {
        try {
            return call.call();
        } catch (Exception e) {
            result.put(errorKey, describe(e));
            return null;
        }
    }

    private int option(String name, int fallback) {
        String v = options.get(name);
        return v == null ? fallback : Integer.parseInt(v);
    }

    /** "class: message", up to the message's first line break (Dubbo embeds whole stack traces in some). */
    static String describe(Throwable t) {
        return t.getClass().getName() + ": " + firstLine(t.getMessage());
    }

    static String firstLine(String text) {
        if (text == null) return null;
        int end = text.indexOf('\n');
        return end < 0 ? text : text.substring(0, end);
    }

    static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
