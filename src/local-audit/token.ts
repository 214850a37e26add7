// The bearer token the service accepts: from configuration, or generated once and kept in the
// data directory (mode 0600) so restarts keep it.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BEARER_TOKEN } from './core/bearer-token.js';

/** Where the generated token is kept in a data directory. */
export function tokenPath(dataDir: string): string {
  return join(dataDir, 'token');
}

/** Refuses a token the server would never accept (core/bearer-token.ts), naming where it came from. */
export function checkToken(token: string, origin: string): string {
  if (token.trim() === '') throw new Error(`${origin} is empty: a blank bearer token is never accepted`);
  if (!BEARER_TOKEN.test(token)) throw new Error(`${origin} is not one word of visible ASCII characters, which a bearer token must be`);
  return token;
}

export function loadOrCreateToken(dataDir: string, configured?: string): { token: string; generated: boolean } {
  if (configured !== undefined && configured !== '') return { token: checkToken(configured, 'the configured token'), generated: false };
  const path = tokenPath(dataDir);
  if (existsSync(path)) {
    // An empty file (a copy cut short by a full disk, a truncated backup) is refused, never served
    // as a blank token; the operator deletes it to have a new one generated.
    const text = readFileSync(path, 'utf8');
    return { token: checkToken(text.trim(), `the token file ${path} (delete it to have a new token generated)`), generated: false };
  }
  const token = `pts_${randomBytes(24).toString('hex')}`;
  writeFileAtomically(path, token + '\n');
  return { token, generated: true };
}

/**
 * Writes `path` so that it either does not exist or holds all of `text`, mode 0600 whatever the
 * umask: a temporary file is written, synced and renamed over `path`. A full disk fails the
 * write of the temporary file, which is removed, and `path` is never left empty.
 */
function writeFileAtomically(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
