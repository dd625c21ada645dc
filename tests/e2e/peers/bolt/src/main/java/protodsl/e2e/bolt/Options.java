package protodsl.e2e.bolt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Command-line options: "--name value" pairs, value-less flags, and positional words. */
final class Options {
    private static final Set<String> FLAGS = Set.of("--crc", "--no-service");

    private final Map<String, String> values = new HashMap<>();
    private final List<String>        positional = new ArrayList<>();

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (FLAGS.contains(arg)) {
                o.values.put(arg, "true");
            } else if (arg.startsWith("--")) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                o.values.put(arg, args[++i]);
            } else {
                o.positional.add(arg);
            }
        }
        return o;
    }

    List<String> positional() {
        return positional;
    }

    /** Whether a flag or a valued option was given. */
    boolean has(String name) {
        return values.containsKey(name);
    }

    String string(String name) {
        return values.get(name);
    }

    int integer(String name, int fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs an integer, got " + v);
        }
    }
}
