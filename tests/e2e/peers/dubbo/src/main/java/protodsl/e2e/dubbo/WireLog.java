package protodsl.e2e.dubbo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The consumer's record of frames and connection events, read back by the scenarios. */
final class WireLog implements Wire.Listener {
    private final List<Wire.Frame> frames = new ArrayList<>();
    private int connects;
    private int disconnects;

    @Override
    public synchronized void frame(Wire.Frame frame) {
        frames.add(frame);
    }

    @Override
    public synchronized void connection(boolean up, String local, String remote) {
        if (up) connects++;
        else disconnects++;
    }

    synchronized List<Wire.Frame> frames() {
        return new ArrayList<>(frames);
    }

    /** The first inbound response frame answering request id, or null. */
    synchronized Wire.Frame response(long id) {
        for (Wire.Frame f : frames) {
            if (f.inbound() && !f.request() && f.id() == id) return f;
        }
        return null;
    }

    /** Counts that every scenario reports under "wire". */
    synchronized Map<String, Object> summary() {
        int requests = 0, responses = 0, heartbeatsSent = 0, heartbeatAnswers = 0, heartbeatsReceived = 0;
        Set<String> locals = new LinkedHashSet<>();
        for (Wire.Frame f : frames) {
            locals.add(f.local());
            if (!f.inbound() && f.request()) {
                if (f.heartbeat()) heartbeatsSent++;
                else requests++;
            } else if (f.inbound() && !f.request()) {
                if (f.heartbeat()) heartbeatAnswers++;
                else responses++;
            } else if (f.inbound() && f.heartbeat()) {
                heartbeatsReceived++; // a heartbeat request from the peer (Dubbo answers it itself)
            }
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("connects", connects);
        s.put("disconnects", disconnects);
        s.put("requests_sent", requests);
        s.put("responses_received", responses);
        s.put("heartbeats_sent", heartbeatsSent);
        s.put("heartbeat_responses", heartbeatAnswers);
        s.put("heartbeats_received", heartbeatsReceived);
        s.put("local_addresses", locals);
        return s;
    }
}
