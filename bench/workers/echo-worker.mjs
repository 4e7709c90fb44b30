// A bare worker_threads echo: the floor any pool's round trip sits on.
import { parentPort } from "node:worker_threads";

parentPort.on("message", (message) => parentPort.postMessage(message));
