import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const DOMAIN = join(__dirname, '../../domain');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('domain/ stays pure TypeScript', () => {
  it('imports nothing but domain/: no framework, driver, node module, clock or randomness', () => {
    const offences: string[] = [];
    for (const file of files(DOMAIN)) {
      const source = readFileSync(file, 'utf8');
      for (const [, spec] of source.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
        if (!spec.startsWith('.')) offences.push(`${relative(DOMAIN, file)} imports ${spec}`);
        else if (!join(file, '..', spec).startsWith(DOMAIN)) offences.push(`${relative(DOMAIN, file)} reaches outside domain/: ${spec}`);
      }
      for (const banned of ['Date.now(', 'new Date()', 'Math.random(', 'crypto.', 'require(', 'process.']) {
        if (source.includes(banned)) offences.push(`${relative(DOMAIN, file)} uses ${banned}`);
      }
    }
    expect(offences).toEqual([]);
  });
});
