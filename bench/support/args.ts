/** A progress line on stderr, as every bench writes them. */
export const log = (line: string) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** A bench's command line: `--name value` or `--name=value`, flags, and numbers checked against their range. */
export function argsOf(argv: string[]) {
  const raw = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
  };
  const number = (name: string, fallback: number, min: number, max: number, integer = true): number => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${text}`);
    return n;
  };
  return {
    raw,
    flag: (name: string) => argv.includes(`--${name}`),
    int: (name: string, fallback: number, min: number, max: number) => number(name, fallback, min, max),
    num: (name: string, fallback: number, min: number, max: number) => number(name, fallback, min, max, false),
  };
}
