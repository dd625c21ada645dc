package protodsl.e2e.dubbo;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.dubbo.rpc.RpcContext;

/** Provider side of EchoService. */
final class EchoServiceImpl implements EchoService {
    @Override
    public String echo(String text) {
        return text;
    }

    @Override
    public byte[] echoBytes(byte[] blob) {
        return blob;
    }

    @Override
    public String sleepEcho(String text, int sleepMs) {
        // Blocking is fine: the provider's pool has more threads than the largest in-flight batch.
        try {
            Thread.sleep(Math.max(0, sleepMs));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return text;
    }

    @Override
    public Map<String, String> attachments() {
        // The invocation's own map: RpcContext.getServerAttachment() has path, version, timeout... filtered out.
        Map<String, String> received = new TreeMap<>();
        RpcContext.getServiceContext()
                .getInvocation()
                .getObjectAttachments()
                .forEach((k, v) -> received.put(k, String.valueOf(v)));
        return received;
    }

    @Override
    public void note(String text) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("event", "oneway");
        event.put("text", text);
        Json.emit(event);
    }
}
