/**
 * Where a V8 CPU profile's time went (`node --cpu-prof`, or bench/http.ts's `--cpu-prof DIR`):
 * self time summed by function and by file (node_modules by package), top lines first.
 *
 *   node dist/bench/support/cpu-profile.js FILE.cpuprofile [--from SECONDS] [--to SECONDS] [--top 40] [--callers REGEX]
 *
 * --from/--to keep only the samples taken that many seconds after the profile began (to leave out a bench's seeding).
 * --callers: for functions whose name matches, their self time by the three frames that called them.
 */
import * as fs from 'node:fs';
import { argsOf } from './args';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function fileOf(url: string): string {
  if (!url) return '(native/v8)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return url;
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url.replace(/^file:\/\//, '');
}

function main(): void {
  const argv = process.argv.slice(2);
  const args = argsOf(argv);
  const file = argv.find((a) => !a.startsWith('--') && a.endsWith('.cpuprofile'));
  if (!file) throw new Error('usage: cpu-profile.js FILE.cpuprofile [--from s] [--to s] [--top n]');
  const from = args.num('from', 0, 0, 1e6) * 1e6;
  const to = args.num('to', 1e6, 0, 1e6) * 1e6;
  const top = args.int('top', 40, 1, 1000);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callers = args.raw('callers') ? new RegExp(args.raw('callers')!) : undefined;
  const byCaller = new Map<string, number>();
  const frame = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || '(anonymous)'} ${fileOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
  };
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let t = 0;
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i];
    if (t < from || t > to) return;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return void (idle += delta);
    total += delta;
    const where = fileOf(url);
    const name = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    byFile.set(where, (byFile.get(where) ?? 0) + delta);
    if (callers?.test(name)) {
      const chain: string[] = [];
      for (let p = parent.get(id); p !== undefined && chain.length < 3; p = parent.get(p)) chain.push(frame(p));
      const key = `${name} ← ${chain.join(' ← ')}`;
      byCaller.set(key, (byCaller.get(key) ?? 0) + delta);
    }
  });
  const print = (title: string, map: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
    }
  };
  process.stdout.write(`busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s in the window\n`);
  print('self time by file (node_modules by package)', byFile);
  print('self time by function', byFunction);
  if (callers) print(`callers of /${callers.source}/`, byCaller);
}

main();
