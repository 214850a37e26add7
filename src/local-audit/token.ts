// The bearer token the service accepts: from configuration, or generated once and kept in the
// data directory (mode 0600) so restarts keep it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadOrCreateToken(dataDir: string, configured?: string): { token: string; generated: boolean } {
  if (configured) return { token: configured, generated: false };
  const path = join(dataDir, 'token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), generated: false };
  const token = `pts_${randomBytes(24).toString('hex')}`;
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return { token, generated: true };
}
