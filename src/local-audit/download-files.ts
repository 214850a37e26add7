// The downloads folder (<DATA_DIR>/downloads): the gzip files behind v1/download_results' URLs.
// SQLite keeps only their metadata (store/download-store.ts); every row names its own file, so
// deleting a row's file never affects another row. A download made from a kept rendering is a
// hard link to it: no copy, and each name expires on its own.
//
// A file is written under a temporary name and renamed once complete (mode 0600, flushed to disk
// first), so a name in the folder is always a whole file. Temporary files, files no row names
// and rows whose file is gone are removed when the service starts; expired ones every minute.
import { randomBytes } from 'node:crypto';
import { createWriteStream, fstatSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, closeSync, createReadStream, type ReadStream } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { DownloadStore } from './store/download-store.js';

/** How long a download URL (and a kept rendering) works. */
export const DOWNLOAD_TTL_MS = 3600_000;

const TEMP_PREFIX = '.tmp-';

const newName = (): string => `${randomBytes(16).toString('hex')}.gz`;

export class DownloadFiles {
  constructor(
    readonly dir: string,
    private readonly store: DownloadStore,
    private readonly onError: (err: unknown) => void,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Removes expired rows and their files, then every file no row names (temporary files left by a
   * crash among them) and every row whose file is missing. Only at start-up: a file being written
   * has no row yet.
   */
  sweep(nowMs = Date.now()): void {
    this.purgeExpired(nowMs);
    const live = this.store.files();
    const present = new Set(readdirSync(this.dir));
    for (const name of present) {
      if (!live.has(name)) this.remove(name);
    }
    for (const name of live) {
      if (!present.has(name)) this.store.forget(name);
    }
  }

  /** Deletes the expired rows and their files. */
  purgeExpired(nowMs = Date.now()): void {
    for (const name of this.store.purgeExpired(nowMs)) this.remove(name);
  }

  /**
   * Gzips `chunks` into a new file of the folder; resolves with its name and size once it is
   * complete and renamed. On any failure the partial file is removed and the error rethrown.
   */
  async write(chunks: AsyncIterable<string>): Promise<{ file: string; size: number }> {
    const file = newName();
    const temp = join(this.dir, TEMP_PREFIX + file);
    try {
      // pipeline carries backpressure from the disk back to the generator: it is pulled only as
      // fast as the file is written, so one chunk at a time is held.
      await pipeline(Readable.from(chunks, { objectMode: false }), createGzip(), createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
      renameSync(temp, join(this.dir, file));
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
    return { file, size: statSync(join(this.dir, file)).size };
  }

  /**
   * A new name for the file `name` (a hard link; a copy where the file system refuses links).
   * Throws ENOENT when the file is gone.
   */
  async link(name: string): Promise<string> {
    const file = newName();
    try {
      linkSync(join(this.dir, name), join(this.dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      const temp = join(this.dir, TEMP_PREFIX + file);
      try {
        await copyFile(join(this.dir, name), temp);
        renameSync(temp, join(this.dir, file));
      } catch (copyErr) {
        rmSync(temp, { force: true });
        throw copyErr;
      }
    }
    return file;
  }

  /**
   * Opens a file for sending: the stream and its size, or undefined when the file is gone. The
   * open descriptor keeps the content readable even if the file expires while it is sent.
   */
  open(name: string): { stream: ReadStream; size: number } | undefined {
    let fd: number;
    try {
      fd = openSync(join(this.dir, name), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const { size } = fstatSync(fd);
      return { stream: createReadStream('', { fd, autoClose: true }), size };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  remove(name: string): void {
    try {
      rmSync(join(this.dir, name), { force: true });
    } catch (err) {
      this.onError(err);
    }
  }
}
