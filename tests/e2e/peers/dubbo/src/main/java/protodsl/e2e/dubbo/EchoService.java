package protodsl.e2e.dubbo;

import java.util.Map;

/** The service both peers share; its name and signatures are what travels on the wire. */
public interface EchoService {
    String echo(String text);

    byte[] echoBytes(byte[] blob);

    /** Answers after sleepMs, so that concurrent calls complete out of order. */
    String sleepEcho(String text, int sleepMs);

    /**
     * The attachments of this request as the provider decoded them. Besides the consumer's own, Dubbo
     * adds "dubbo", "path" and "version" (from the body's leading fields) and "input" (the body length).
     */
    Map<String, String> attachments();

    /** Called one-way (return=false) by the consumer: no response frame is expected. */
    void note(String text);
}
