// Writes schema/schema.graphql from the code (`npm run schema:print`), or with --check fails when
// the checked-in file differs (`npm run schema:check`, run in CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { printedSchema } from '../src/graphql/schema.js';

const path = new URL('../schema/schema.graphql', import.meta.url);
const sdl = printedSchema();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing file: reported below
  }
  if (current !== sdl) {
    console.error('schema/schema.graphql is out of date: run `npm run schema:print` and commit it');
    process.exit(1);
  }
  console.log('schema/schema.graphql is up to date');
} else {
  writeFileSync(path, sdl);
  console.log(`wrote schema/schema.graphql (${sdl.length} bytes)`);
}
