package protodsl.e2e.dubbo;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;

/** Exports EchoService over the dubbo protocol on 127.0.0.1:port (see ObservingTransporter), with no registry; runs until killed. */
final class Provider {
    private Provider() {}

    static void run(int port) throws InterruptedException {
        Wire.listen(new Wire.Listener() {
            @Override
            public void frame(Wire.Frame f) {
                if (f.inbound() && f.request() && f.heartbeat()) {
                    emit("heartbeat", f.remote());
                }
            }

            @Override
            public void connection(boolean up, String local, String remote) {
                emit(up ? "connect" : "disconnect", remote);
            }
        });

        ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setSerialization("hessian2");
        // More threads than the largest in-flight batch (500), so every sleepEcho sleeps concurrently
        // and answers come back in sleep order rather than arrival order; the default 200 with no
        // queue would reject the excess as "thread pool is exhausted".
        protocol.setThreads(1000);

        ServiceConfig<EchoService> service = new ServiceConfig<>();
        service.setInterface(EchoService.class);
        service.setRef(new EchoServiceImpl());

        DubboBootstrap.getInstance()
                .application(Main.application("protodsl-e2e-provider"))
                .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE))
                .protocol(protocol)
                .service(service)
                .start();

        Map<String, Object> ready = new LinkedHashMap<>();
        ready.put("event", "ready");
        ready.put("port", port);
        Json.emit(ready);
        Thread.currentThread().join();
    }

    private static void emit(String event, String remote) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", event);
        line.put("remote", remote);
        Json.emit(line);
    }
}
