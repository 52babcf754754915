import { writeFileSync } from 'node:fs';
import { documentText, servedDocument } from '../src/client/document';

/**
 * `npm run client:generate`: writes the OpenAPI document the app serves to src/client/openapi.json;
 * the npm script then generates src/client/schema.d.ts from it with openapi-typescript.
 */
async function main(): Promise<void> {
  const [output = 'src/client/openapi.json'] = process.argv.slice(2);
  writeFileSync(output, documentText(await servedDocument()));
  process.stdout.write(`wrote ${output}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
