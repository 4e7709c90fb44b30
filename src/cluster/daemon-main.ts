/**
 * Process entry of a node daemon, started by `rayts start` (and the test
 * harness) with its options as JSON in argv. Tells its parent over IPC when
 * it has joined, logs to stdout (redirected to the session's log file), and
 * leaves the cluster on SIGTERM/SIGINT. A node the cluster declared dead
 * (refused under its id) rejoins as a new node; one that lost Redis past the
 * reconnect window exits with an error.
 */
import { NodeDaemon, type NodeEvents, type NodeOptions } from "./node-daemon.js";

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

const options = JSON.parse(process.argv[2] ?? "{}") as NodeOptions;
const events: NodeEvents = {
  refused: () => {
    void (async () => {
      const stale = daemon;
      await stale.stop().catch((error: unknown) => log(`stopping the refused node failed: ${String(error)}`));
      try {
        daemon = await NodeDaemon.start(options, log, events);
        log(`rejoined as new node ${daemon.nodeId} (was ${stale.nodeId})`);
      } catch (error) {
        log(`rejoining failed: ${String(error)}`);
        process.exit(1);
      }
    })();
  },
  unreachable: () => process.exit(1),
};
let daemon: NodeDaemon;
try {
  daemon = await NodeDaemon.start(options, log, events);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    log("stopping");
    // Leaving needs Redis; when it is gone, do not wait for it forever.
    setTimeout(() => process.exit(1), 5000).unref();
    daemon.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", () => undefined);
  process.send?.({ ready: true, nodeId: daemon.nodeId, dashboardUrl: daemon.dashboardUrl });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  log(`node failed to start: ${message}`);
  process.send?.({ ready: false, error: message });
  process.exit(1);
}
