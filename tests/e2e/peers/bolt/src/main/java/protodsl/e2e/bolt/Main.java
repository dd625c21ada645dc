package protodsl.e2e.bolt;

import java.util.List;

/**
 * Entry point.
 *
 * <pre>
 * server --port P [--protocol 1|2] [--crc]
 * client --target HOST:PORT [--protocol 1|2] [--ver1 1|2] [--crc] SCENARIO [scenario options]
 * </pre>
 *
 * stdout carries JSON lines only; logs go to stderr. Exit codes: 0 the scenario ran (whatever
 * its "ok"), 1 crash, 2 bad usage.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        // libraries (sofa-common-tools, Netty) may print to System.out: keep stdout for JSON
        System.setOut(System.err);
        // bolt logs through SLF4J (slf4j-simple writes to stderr): keep its warnings and errors
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        try {
            run(Options.parse(args));
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1); // a crash: exit even though bolt/Netty threads are still alive
        }
    }

    private static void run(Options o) throws Exception {
        List<String> words = o.positional();
        int protocol = o.integer("--protocol", 1);
        boolean crc = o.has("--crc");
        if ((protocol != 1 && protocol != 2) || (crc && protocol != 2)) {
            throw new IllegalArgumentException("--protocol must be 1 or 2; --crc needs --protocol 2");
        }
        if (words.size() == 1 && words.get(0).equals("server") && o.has("--port")) {
            Server.run(o.integer("--port", 0), protocol, crc);
        } else if (words.size() == 2 && words.get(0).equals("client") && o.has("--target")
                   && Client.SCENARIOS.contains(words.get(1))) {
            String scenario = words.get(1);
            if (scenario.equals("heartbeat")) {
                // read by bolt when it builds the connection pipeline and heartbeat trigger
                System.setProperty("bolt.tcp.heartbeat.interval",
                    String.valueOf(o.integer("--interval-ms", 1000)));
                System.setProperty("bolt.tcp.heartbeat.maxtimes",
                    String.valueOf(o.integer("--maxtimes", 3)));
            }
            int ver1 = o.integer("--ver1", 2);
            if (ver1 != 1 && ver1 != 2) {
                throw new IllegalArgumentException("--ver1 must be 1 or 2");
            }
            Client client = new Client(o.string("--target"), protocol, ver1, crc);
            Json.emit(client.run(scenario, o));
            System.exit(0); // bolt/Netty leave non-daemon threads behind
        } else {
            throw new IllegalArgumentException(
                "expected 'server --port P' or 'client --target HOST:PORT SCENARIO'");
        }
    }

    private static void usage(String problem) {
        System.err.println("usage error: " + problem);
        System.err.println("  server --port P [--protocol 1|2] [--crc]");
        System.err.println("  client --target HOST:PORT [--protocol 1|2] [--ver1 1|2] [--crc] "
                           + "sync|headers [--no-service]|nonascii|future|callback [--count N]|"
                           + "inflight [--count N]|large [--bytes B]|"
                           + "heartbeat [--idle S --interval-ms I --maxtimes M]|"
                           + "oneway [--count N]|status [--sleep-ms S --timeout-ms T --wait-ms W]|"
                           + "load [--count N --concurrency C]");
        System.exit(2);
    }
}
