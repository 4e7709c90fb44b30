/**
 * Process entry of a node daemon, started by `rayts start` (and the test
 * harness) with its options as JSON in argv. Tells its parent over IPC when
 * it has joined, logs to stdout (redirected to the session's log file), and
 * leaves the cluster on SIGTERM/SIGINT.
 */
import { NodeDaemon, type NodeOptions } from "./node-daemon.js";

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

const options = JSON.parse(process.argv[2] ?? "{}") as NodeOptions;
try {
  const daemon = await NodeDaemon.start(options, log);
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
