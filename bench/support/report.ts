import * as fs from 'node:fs';
import { spread, type Sample } from './measure';

export interface MeasuredRow {
  store: string;
  mode: string;
  samples: Sample[];
  /** The raw INSERT row this one is compared with, if any. */
  ceiling?: MeasuredRow;
}

export interface UnmeasuredRow {
  store: string;
  reason: string;
}

export type Row = MeasuredRow | UnmeasuredRow;

/** 12345.6 → "12 346": the thousands separator RIG.md uses. */
export function num(value: number): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  const [whole, fraction] = value.toFixed(digits).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return fraction ? `${grouped}.${fraction}` : grouped;
}

const opsPerSecond = (s: Sample) => s.ops / s.seconds;
const eventsPerSecond = (s: Sample) => s.events / s.seconds;

export function medianOps(row: MeasuredRow): number {
  return spread(row.samples.map(opsPerSecond)).median;
}

export function medianEvents(row: MeasuredRow): number {
  return spread(row.samples.map(eventsPerSecond)).median;
}

export function table(rows: Row[]): string {
  const lines = [
    '| Store | Mode | Appends/s (INSERTs/s): median [min–max] | Events/s: median | vs raw INSERT |',
    '|---|---|--:|--:|--:|',
  ];
  for (const row of rows) {
    if ('reason' in row) {
      lines.push(`| ${row.store} | all | ${row.reason} | | |`);
      continue;
    }
    const ops = spread(row.samples.map(opsPerSecond));
    const versus = row.ceiling ? vsCeiling(row, row.ceiling) : '';
    lines.push(`| ${row.store} | ${row.mode} | ${num(ops.median)} [${num(ops.min)}–${num(ops.max)}] | ${num(medianEvents(row))} | ${versus} |`);
  }
  return lines.join('\n');
}

/** Events/s of the row against rows/s of the ceiling: one event is one row in both. */
function vsCeiling(row: MeasuredRow, ceiling: MeasuredRow): string {
  const ratio = medianEvents(row) / medianEvents(ceiling);
  return ratio >= 2 ? `${num(ratio)}×` : `${Math.round(ratio * 100)} %`;
}

const START_MARK = '<!-- bench/append.ts results: generated, `npm run bench:append -- --write` replaces this block -->';
const END_MARK = '<!-- end of bench/append.ts results -->';

/** The comments around a bench's generated block in BENCHMARKS.md. */
export interface Marks {
  start: string;
  end: string;
}

/**
 * Replaces the generated block in BENCHMARKS.md, or appends one if there is none yet.
 * Without `marks`, the block of bench/append.ts.
 */
export function writeSection(file: string, body: string, marks: Marks = { start: START_MARK, end: END_MARK }): void {
  const block = `${marks.start}\n${body.trim()}\n${marks.end}`;
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(marks.start);
  const end = current.indexOf(marks.end);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + marks.end.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, next);
}
