// The data directory holds the audit log and the bearer token: it is created for its owner only
// (0700, whatever the umask). One that already exists is left as the operator made it (it may be a
// mounted volume others are meant to reach), with a warning when group or others can enter it.
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';

/** Creates `dataDir` 0700 when it is missing; returns warnings about an existing one. */
export function prepareDataDir(dataDir: string): string[] {
  if (!existsSync(dataDir)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
    return [];
  }
  const stat = statSync(dataDir);
  if (!stat.isDirectory()) throw new Error(`the data directory ${dataDir} is not a directory`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) === 0) return [];
  return [`the data directory ${dataDir} is open to group or others (mode ${mode.toString(8).padStart(3, '0')}); its files are 0600, but consider: chmod 700 ${dataDir}`];
}
