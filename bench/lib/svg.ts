/**
 * Hand-written SVG charts: a line chart with a log x-axis (speedup against
 * task duration, one line per runtime) and horizontal bar panels (one panel
 * per metric, min..max whiskers) for the other suites. No dependencies.
 */
import { formatNumber } from "./stats.js";

export interface Point {
  readonly x: number;
  readonly y: number;
  readonly lo: number;
  readonly hi: number;
}

export interface LineChart {
  readonly kind: "lines";
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly { readonly name: string; readonly points: readonly Point[] }[];
  /** A dashed horizontal reference line (speedup 1 = break-even). */
  readonly referenceY?: number;
  readonly formatX?: (x: number) => string;
}

export interface Bar {
  readonly label: string;
  readonly runtime: string;
  readonly value: number;
  readonly lo: number;
  readonly hi: number;
}

export interface BarPanel {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly Bar[];
}

export interface BarChart {
  readonly kind: "bars";
  readonly title: string;
  readonly panels: readonly BarPanel[];
}

export type Chart = LineChart | BarChart;

const COLORS: Record<string, string> = {
  serial: "#6b7280",
  workerpool: "#d97706",
  piscina: "#059669",
  rayts: "#2563eb",
};
const EXTRA = ["#7c3aed", "#db2777", "#0891b2", "#65a30d"];

function color(runtime: string, index: number): string {
  return COLORS[runtime] ?? COLORS[runtime.split(" ")[0] ?? ""] ?? EXTRA[index % EXTRA.length]!;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function text(x: number, y: number, content: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(content)}</text>`;
}

function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = 0; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

export function renderLines(chart: LineChart): string {
  const width = 760;
  const height = 440;
  const m = { left: 70, right: 170, top: 50, bottom: 60 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xs = chart.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p.hi));
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const lx = (x: number): number => m.left + ((Math.log10(x) - Math.log10(minX)) / (Math.log10(maxX) - Math.log10(minX) || 1)) * plotW;
  const yTicks = niceTicks(Math.max(...ys, chart.referenceY ?? 0) * 1.05);
  const maxY = yTicks[yTicks.length - 1]!;
  const ly = (y: number): number => m.top + plotH - (y / maxY) * plotH;
  const formatX = chart.formatX ?? formatNumber;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(text(width / 2, 24, chart.title, `text-anchor="middle" font-size="15" font-weight="bold"`));
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${ly(t).toFixed(1)}" y2="${ly(t).toFixed(1)}" stroke="#e5e7eb"/>`);
    out.push(text(m.left - 6, ly(t) + 4, formatNumber(t), `text-anchor="end"`));
  }
  const decades: number[] = [];
  for (let e = Math.floor(Math.log10(minX)); e <= Math.ceil(Math.log10(maxX)); e++) decades.push(10 ** e);
  for (const x of [...new Set([...xs, ...decades.filter((d) => d >= minX && d <= maxX)])].sort((a, b) => a - b)) {
    out.push(`<line x1="${lx(x).toFixed(1)}" x2="${lx(x).toFixed(1)}" y1="${m.top}" y2="${m.top + plotH}" stroke="#f3f4f6"/>`);
    out.push(text(lx(x), m.top + plotH + 18, formatX(x), `text-anchor="middle"`));
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`);
  if (chart.referenceY !== undefined) {
    const y = ly(chart.referenceY).toFixed(1);
    out.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#111827" stroke-dasharray="6 4"/>`);
    out.push(text(m.left + plotW - 4, Number(y) - 5, `break-even (${chart.referenceY})`, `text-anchor="end" fill="#111827"`));
  }
  chart.series.forEach((series, index) => {
    const c = color(series.name, index);
    const points = series.points.map((p) => `${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${points}" fill="none" stroke="${c}" stroke-width="2.5"/>`);
    for (const p of series.points) {
      const x = lx(p.x).toFixed(1);
      out.push(`<line x1="${x}" x2="${x}" y1="${ly(p.lo).toFixed(1)}" y2="${ly(p.hi).toFixed(1)}" stroke="${c}" stroke-width="1.5"/>`);
      out.push(`<circle cx="${x}" cy="${ly(p.y).toFixed(1)}" r="3.5" fill="${c}"><title>${escape(`${series.name}: ${formatX(p.x)} -> ${formatNumber(p.y)} (${formatNumber(p.lo)}..${formatNumber(p.hi)})`)}</title></circle>`);
    }
    const ly0 = m.top + 10 + index * 20;
    out.push(`<line x1="${m.left + plotW + 16}" x2="${m.left + plotW + 40}" y1="${ly0}" y2="${ly0}" stroke="${c}" stroke-width="3"/>`);
    out.push(text(m.left + plotW + 46, ly0 + 4, series.name));
  });
  out.push(text(m.left + plotW / 2, height - 18, chart.xLabel, `text-anchor="middle"`));
  out.push(text(18, m.top + plotH / 2, chart.yLabel, `text-anchor="middle" transform="rotate(-90 18 ${m.top + plotH / 2})"`));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

export function renderBars(chart: BarChart): string {
  const width = 860;
  const labelW = 330;
  const valueW = 110;
  const barH = 18;
  const gap = 6;
  const panelHead = 34;
  const plotW = width - labelW - valueW - 20;
  let height = 50;
  for (const panel of chart.panels) height += panelHead + panel.bars.length * (barH + gap) + 16;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(text(width / 2, 26, chart.title, `text-anchor="middle" font-size="15" font-weight="bold"`));
  let y = 50;
  const runtimes = [...new Set(chart.panels.flatMap((p) => p.bars.map((b) => b.runtime)))];
  for (const panel of chart.panels) {
    out.push(text(10, y + 20, `${panel.title} (${panel.unit})`, `font-weight="bold"`));
    y += panelHead;
    const max = Math.max(...panel.bars.map((b) => b.hi), ...panel.bars.map((b) => b.value)) || 1;
    const sx = (v: number): number => labelW + (v / max) * plotW;
    for (const bar of panel.bars) {
      const c = color(bar.runtime, runtimes.indexOf(bar.runtime));
      out.push(text(labelW - 8, y + barH - 5, bar.label, `text-anchor="end"`));
      out.push(`<rect x="${labelW}" y="${y}" width="${Math.max(1, sx(bar.value) - labelW).toFixed(1)}" height="${barH}" fill="${c}" opacity="0.85"><title>${escape(`${bar.label}: ${formatNumber(bar.value)} ${panel.unit} (${formatNumber(bar.lo)}..${formatNumber(bar.hi)})`)}</title></rect>`);
      const wy = (y + barH / 2).toFixed(1);
      out.push(`<line x1="${sx(bar.lo).toFixed(1)}" x2="${sx(bar.hi).toFixed(1)}" y1="${wy}" y2="${wy}" stroke="#111827" stroke-width="1.2"/>`);
      out.push(text(sx(Math.max(bar.hi, bar.value)) + 6, y + barH - 5, formatNumber(bar.value)));
      y += barH + gap;
    }
    y += 16;
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

export function renderChart(chart: Chart): string {
  return chart.kind === "lines" ? renderLines(chart) : renderBars(chart);
}
