import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/**
 * Node's arguments that run the real src/main.ts in a process of its own, compiled
 * on the fly (as Jest does) with @swc/core, without a build.
 */
export function mainWithoutBuild(): string[] {
  const hook = `
const swc = require(${JSON.stringify(join(ROOT, 'node_modules/@swc/core'))});
const fs = require('node:fs');
const options = { swcrc: false, module: { type: 'commonjs' }, jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, keepClassNames: true } };
require.extensions['.ts'] = (module, filename) => module._compile(swc.transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename }).code, filename);
require(${JSON.stringify(join(ROOT, 'src/main.ts'))});
`;
  return ['-e', hook];
}
