package protodsl.e2e.dubbo;

import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.common.Version;
import org.apache.dubbo.remoting.RemotingException;
import org.apache.dubbo.remoting.exchange.ExchangeClient;
import org.apache.dubbo.remoting.exchange.Exchangers;
import org.apache.dubbo.remoting.exchange.Request;
import org.apache.dubbo.remoting.exchange.support.ExchangeHandlerAdapter;
import org.apache.dubbo.rpc.AppResponse;
import org.apache.dubbo.rpc.RpcInvocation;
import org.apache.dubbo.rpc.model.FrameworkModel;

/**
 * One sleepEcho call whose request says "timeout=T" while the consumer waits longer, so that a response
 * produced by a proxy in between (on its own timeout, or when the provider is down) is what we see.
 *
 * Dubbo's invoker always waits exactly as long as the timeout it writes into the request, so this goes
 * one layer down: it builds the same Request that DubboInvoker builds and hands it to Dubbo's exchange
 * client (same codec, same connection handling) with a longer wait. The status byte is read from the
 * raw frame header (see ObservingCodec), because Dubbo rewrites it to 90 when the body fails to decode.
 */
final class StatusProbe {
    private StatusProbe() {}

    static Map<String, Object> run(String target, int sleepMs, int timeoutMs, int waitMs, WireLog wire)
            throws Exception {
        String service = EchoService.class.getName();
        URL url = URL.valueOf("dubbo://" + target + "/" + service
                + "?codec=dubbo&serialization=hessian2&heartbeat=60000");

        Method method = EchoService.class.getMethod("sleepEcho", String.class, int.class);
        RpcInvocation invocation = new RpcInvocation(method, service, service, new Object[] {"status", sleepMs});
        // The attachments DubboInvoker and the consumer filters put on a plain call (checked on the wire).
        invocation.setAttachment("path", service);
        invocation.setAttachment("remote.application", Consumer.APPLICATION);
        invocation.setAttachment("interface", service);
        invocation.setAttachment("version", "0.0.0");
        invocation.setAttachment("timeout", String.valueOf(timeoutMs));
        Request request = new Request();
        request.setVersion(Version.getProtocolVersion());
        request.setTwoWay(true);
        request.setData(invocation);

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("sleep_ms", sleepMs);
        out.put("timeout_ms", timeoutMs);
        out.put("wait_ms", waitMs);
        long start = System.nanoTime();
        Object value = null;
        String error = null;
        ExchangeClient client = null;
        try {
            // The handler only serves requests from the server side, which never come here.
            client = Exchangers.connect(url, new ExchangeHandlerAdapter(FrameworkModel.defaultModel()) {});
            AppResponse response = (AppResponse) client.request(request, waitMs, null).get();
            if (response.hasException()) {
                error = Consumer.describe(response.getException());
            } else {
                value = response.getValue();
            }
        } catch (ExecutionException e) {
            error = Consumer.describe(e.getCause());
        } catch (RuntimeException | RemotingException e) {
            // cannot connect, or the connection closed while sending (Dubbo 3.3.6 may then throw an NPE)
            error = Consumer.describe(e);
        } finally {
            if (client != null) client.close();
        }
        out.put("elapsed_ms", Consumer.millisSince(start));
        Wire.Frame frame = wire.response(request.getId());
        out.put("status_code", frame == null ? null : frame.status());
        out.put("decode_error", frame == null ? null : Consumer.firstLine(frame.decodeError()));
        out.put("result", value);
        out.put("error", error);
        return out;
    }
}
