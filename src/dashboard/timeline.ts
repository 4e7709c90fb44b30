/**
 * Chrome trace / Perfetto JSON of recorded tasks: one track per worker with
 * the run span of each task or actor call, and one async track per task
 * with its phases (pending args, queued, assigned, run), so the time a task
 * spent waiting is visible beside the time it ran.
 */
import type { TaskInfo, TraceEvent } from "./state-source.js";

/**
 * Trace events for tasks (times in ms since the epoch); `node` names the
 * process track, `pid` numbers it (one per node in a cluster's trace, whose
 * async ids then stay apart per node).
 */
export function traceEvents(tasks: readonly TaskInfo[], node: string, pid = 1): TraceEvent[] {
  const PID = pid;
  const events: TraceEvent[] = [{ name: "process_name", ph: "M", pid: PID, tid: 0, args: { name: `rayts node ${node}` } }];
  const threads = new Map<string, number>();
  const tid = (worker: string): number => {
    let id = threads.get(worker);
    if (id === undefined) {
      id = threads.size + 1;
      threads.set(worker, id);
      events.push({ name: "thread_name", ph: "M", pid: PID, tid: id, args: { name: worker } });
    }
    return id;
  };
  const us = (ms: number): number => Math.round(ms * 1000);
  for (const task of [...tasks].sort((a, b) => a.submittedAt - b.submittedAt)) {
    const args = { taskId: task.taskId, state: task.state, attempts: task.attempts, parentTaskId: task.parentTaskId, error: task.error?.message };
    if (task.worker !== undefined && task.startedAt !== undefined && task.endedAt !== undefined) {
      events.push({ name: task.name, cat: task.type, ph: "X", ts: us(task.startedAt), dur: us(task.endedAt) - us(task.startedAt), pid: PID, tid: tid(task.worker), args });
    }
    // Phases of the task's life on its own async track.
    const id = (pid - 1) * 2 ** 32 + task.taskId;
    const end = task.endedAt ?? task.startedAt ?? task.assignedAt ?? task.queuedAt ?? task.submittedAt;
    const phases: [string, number | undefined, number | undefined][] = [
      ["pending args", task.submittedAt, task.queuedAt],
      ["queued", task.queuedAt, task.assignedAt ?? task.endedAt],
      ["assigned (fetch)", task.assignedAt, task.startedAt],
      ["run", task.startedAt, task.endedAt],
    ];
    events.push({ name: task.name, cat: "task", ph: "b", id, ts: us(task.submittedAt), pid: PID, tid: 0, args });
    for (const [name, from, to] of phases) {
      if (from === undefined || to === undefined || to <= from) continue;
      events.push({ name, cat: "task", ph: "b", id, ts: us(from), pid: PID, tid: 0 });
      events.push({ name, cat: "task", ph: "e", id, ts: us(to), pid: PID, tid: 0 });
    }
    events.push({ name: task.name, cat: "task", ph: "e", id, ts: us(end), pid: PID, tid: 0 });
  }
  return events;
}
