import type { Budget } from "./harness.js";
import type { Progress } from "./progress.js";
import type { SuiteResult } from "./report.js";
import type { Chart } from "./svg.js";

/** What every suite module exports as default. */
export type Suite = (budget: Budget, progress: Progress) => Promise<{ result: SuiteResult; chart: Chart }>;

/** Worker threads every parallel runtime gets: one per core, as Ray's num_cpus default. */
export const THREADS = 2;
