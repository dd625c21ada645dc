package protodsl.e2e.dubbo;

import java.util.HashMap;
import java.util.Map;
import org.apache.dubbo.config.ApplicationConfig;

/**
 * Entry point: {@code provider --port P} or {@code consumer --target HOST:PORT SCENARIO [--option value]...}.
 * stdout carries JSON lines only; Dubbo logs to stderr (see logging.properties).
 */
public final class Main {
    private static final String USAGE = "usage: provider --port P\n"
            + "       consumer --target HOST:PORT SCENARIO [--count N] [--concurrency C] [--bytes B]"
            + " [--idle S] [--sleep-ms MS] [--timeout-ms MS] [--base-sleep-ms MS]\n"
            + "scenarios: " + String.join(" ", Consumer.SCENARIOS);

    private Main() {}

    public static void main(String[] args) throws Exception {
        // Dubbo looks for "the local host" by pinging each interface's address (InetAddress.isReachable),
        // i.e. traffic to the machine's non-loopback address. With every interface ignored it settles
        // on 127.0.0.1 without probing; the peers only use loopback anyway.
        System.setProperty("dubbo.network.interface.ignored", ".*");
        if (args.length == 0) {
            usage("missing role");
        }
        Map<String, String> options = new HashMap<>();
        String scenario = null;
        for (int i = 1; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                if (i + 1 >= args.length) usage("missing value for " + args[i]);
                options.put(args[i].substring(2), args[++i]);
            } else if (scenario == null) {
                scenario = args[i];
            } else {
                usage("unexpected argument " + args[i]);
            }
        }
        if (args[0].equals("provider") && scenario == null && options.containsKey("port")) {
            Provider.run(Integer.parseInt(options.get("port")));
        } else if (args[0].equals("consumer") && options.containsKey("target") && Consumer.SCENARIOS.contains(scenario)) {
            Consumer.run(options.get("target"), scenario, options);
            System.out.flush();
            // Dubbo's shutdown hook closes the connection, so the peer sees an orderly FIN.
            System.exit(0);
        } else {
            usage("bad arguments");
        }
    }

    /** The application settings both roles share: nothing that opens a port or touches the network or disk. */
    static ApplicationConfig application(String name) {
        ApplicationConfig app = new ApplicationConfig(name);
        app.setQosEnable(false); // the QoS server would bind port 22222
        app.setEnableFileCache(false); // no metadata/mapping cache files under ~/.dubbo
        app.setLogger("jdk");
        app.setShutwait("1000"); // graceful shutdown on SIGTERM waits 1 s for in-flight calls, not 10 s
        return app;
    }

    private static void usage(String problem) {
        System.err.println(problem + "\n" + USAGE);
        System.exit(2);
    }
}
