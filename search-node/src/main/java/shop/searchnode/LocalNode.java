package shop.searchnode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A real single-node OpenSearch running inside this JVM, for the shop's tests and for running
 * the shop by hand. Nothing is downloaded at run time: the server and the few modules it needs
 * (HTTP over Netty, the common analyzers, the extra field types) are plain jars on the class
 * path. There is no security plugin, so the node speaks plain HTTP and ignores any
 * Authorization header (such as a SigV4 signature) that a client sends.
 *
 * <p>Usage: {@code LocalNode <port> <dir>}. The node listens on 127.0.0.1:port (0 picks a free
 * port) and keeps its files under dir (data in dir/data), so a second start on the same dir
 * finds the indices again. Once the HTTP port answers a cluster health request with yellow or
 * green, one line {@code ready http://127.0.0.1:<port>} is printed to stdout; logs go to stderr.
 * SIGTERM (or Ctrl-C) closes the node and ends the process.
 */
public final class LocalNode {

    /** Modules that the OpenSearch distribution would load from its modules/ folder. */
    private static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class);

    /** How long the launcher waits for the node to answer before giving up. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    /**
     * Node's constructor that takes plugins from the class path is protected (it is meant for
     * tests); this subclass only makes it reachable.
     */
    private static final class EmbeddedNode extends Node {
        EmbeddedNode(Settings settings) {
            super(
                InternalSettingsPreparer.prepareEnvironment(
                    settings, Collections.emptyMap(), null, () -> settings.get("node.name")),
                MODULES,
                // As in the distribution: clients may not set private index settings
                // (index.version.created and the like).
                true);
        }
    }

    public static void main(String[] args) throws Exception {
        int port = args.length == 2 && args[0].matches("\\d{1,5}") ? Integer.parseInt(args[0]) : -1;
        if (port < 0 || port > 65535) {
            System.err.println("usage: LocalNode <port> <dir>   (port 0 picks a free one)");
            System.exit(2);
        }
        Path dir = Path.of(args[1]).toAbsolutePath();
        Files.createDirectories(dir);

        Settings settings = Settings.builder()
            .put("cluster.name", "shop-search")
            .put("node.name", "shop-search")
            .put("path.home", dir.toString())
            .put("path.data", dir.resolve("data").toString())
            .put("path.logs", dir.resolve("logs").toString())
            // One node that elects itself; no other node is looked for.
            .put("discovery.type", "single-node")
            // Loopback only, for HTTP and for the transport port (9300-9400, unused by clients).
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            // A nearly full test disk must not make indices read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();

        Node node;
        try {
            // Fails here if another node holds the directory's lock.
            node = new EmbeddedNode(settings);
        } catch (Throwable e) {
            failedToStart(e);
            return;
        }

        CountDownLatch closed = new CountDownLatch(1);
        // SIGTERM/SIGINT run shutdown hooks: close the node (flushes and releases the data
        // directory's lock), then stop logging, whose own hook is disabled in log4j2.xml.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(10, TimeUnit.SECONDS)) {
                    System.err.println("search node: still closing after 10 s, exiting anyway");
                }
            } catch (Exception e) {
                System.err.println("search node: error while closing: " + e);
            } finally {
                closed.countDown();
                LogManager.shutdown();
            }
        }, "search-node-shutdown"));

        try {
            node.start();
            // The port actually bound: the one asked for, or a free one for port 0.
            int bound = node.injector().getInstance(HttpServerTransport.class)
                .boundAddress().publishAddress().getPort();
            String url = "http://127.0.0.1:" + bound;
            awaitHealthy(url);
            System.out.println("ready " + url);
            System.out.flush();
        } catch (Throwable e) {
            failedToStart(e);
        }

        // The node's own threads are daemon threads: keep the JVM up until the hook has run.
        closed.await();
    }

    /**
     * Ends the process at once with status 1. halt, not exit: a half-started node has threads
     * and hooks that could hold the exit up; its files and ports are let go with the process.
     */
    private static void failedToStart(Throwable e) {
        System.err.println("search node: failed to start: " + e);
        e.printStackTrace();
        System.err.flush();
        Runtime.getRuntime().halt(1);
    }

    /**
     * Asks the node over its HTTP port, as a client would, until it reports yellow or green.
     */
    private static void awaitHealthy(String url) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest health = HttpRequest.newBuilder(
                URI.create(url + "/_cluster/health?wait_for_status=yellow&timeout=5s"))
            .timeout(Duration.ofSeconds(10))
            .build();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> answer = http.send(health, HttpResponse.BodyHandlers.ofString());
                last = answer.statusCode() + " " + answer.body();
                if (answer.statusCode() == 200
                        && (answer.body().contains("\"status\":\"green\"")
                            || answer.body().contains("\"status\":\"yellow\""))) {
                    return;
                }
            } catch (java.io.IOException e) {
                last = e.toString();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the node did not become healthy: " + last);
    }
}
