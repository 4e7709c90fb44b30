/** A measured figure: the median of several repetitions, with its spread. */
export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Repetitions (macro) or benchmark.js samples (micro) behind the figure. */
  readonly n: number;
}

export function summarize(values: readonly number[]): Figure {
  if (values.length === 0) throw new RangeError("summarize() needs at least one value");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Applies `f` to each statistic; for a decreasing `f` (time -> rate) min and max swap. */
export function mapFigure(figure: Figure, f: (value: number) => number): Figure {
  const a = f(figure.min);
  const b = f(figure.max);
  return { median: f(figure.median), min: Math.min(a, b), max: Math.max(a, b), n: figure.n };
}

/** Figures computed from paired repetitions (e.g. serial time / parallel time). */
export function ratioFigure(numerator: readonly number[], denominator: readonly number[]): Figure {
  // Median over all pairs is robust to one noisy repetition on either side.
  const ratios: number[] = [];
  for (const a of numerator) for (const b of denominator) ratios.push(a / b);
  return summarize(ratios);
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 1 : 2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return "0";
  return value.toPrecision(2);
}
