package protodsl.e2e.bolt;

import java.io.Serializable;
import java.util.Map;

/**
 * The request and reply object of the Echo service (Hessian-serialized by bolt). The client
 * fills text, blob and sleepMs; the server echoes the object back after sleepMs, with the
 * frame-level facts it observed filled in by {@link HeaderSerializer}.
 */
public class Echo implements Serializable {
    private static final long serialVersionUID = 1L;

    String              text;
    byte[]              blob;
    int                 sleepMs;

    /** Bolt request headers as decoded by the server. */
    Map<String, String> headers;
    /** Whether the server received the frame as a oneway request (frame type 2). */
    boolean             oneway;
    /** The timeout field of the request frame, in ms. */
    int                 timeoutMs;
    /** Whether the request frame had the CRC bit of the bolt v2 switch byte set. */
    boolean             crcSwitch;

    public Echo() {
    }

    static Echo of(String text, byte[] blob, int sleepMs) {
        Echo echo = new Echo();
        echo.text = text;
        echo.blob = blob;
        echo.sleepMs = sleepMs;
        return echo;
    }

    static Echo of(String text) {
        return of(text, null, 0);
    }
}
