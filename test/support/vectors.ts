// Loads the conformance vectors from test/fixtures/vectors (their README says where each came
// from). Missing vectors fail the run loudly: a green test suite without them would prove nothing.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const vectorsDir = process.env.AUDIT_VECTORS_DIR ?? resolve(projectRoot, 'test', 'fixtures', 'vectors');

export interface Vector {
  id: string;
  origin: string;
  expected?: 'pass' | 'fail' | 'none';
  [key: string]: unknown;
}

export function loadVectors(file: string): Vector[] {
  const path = join(vectorsDir, file);
  if (!existsSync(path)) {
    throw new Error(`conformance vectors not found at ${path}: set AUDIT_VECTORS_DIR or restore test/fixtures/vectors`);
  }
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { vectors: Vector[] };
  if (!Array.isArray(parsed.vectors) || parsed.vectors.length === 0) throw new Error(`${path} holds no vectors`);
  return parsed.vectors;
}
