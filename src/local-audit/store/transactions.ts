// Transactions as the layers above the store see them: a function wrapped so that each call runs
// in one transaction. `read` is a snapshot (every read of the call sees the same state); `write`
// takes the write lock at once (IMMEDIATE), so the call never fails half-way on a lock upgrade.
// Both are synchronous: the store's driver (better-sqlite3) is, and the callers rely on it
// (store/README.md).
import type { Db } from './database.js';

export interface Transactions {
  read<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  write<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
}

export function sqliteTransactions(db: Db): Transactions {
  return {
    read: <A extends unknown[], R>(fn: (...args: A) => R) => {
      const tx = db.transaction(fn);
      return (...args: A): R => tx(...args);
    },
    write: <A extends unknown[], R>(fn: (...args: A) => R) => {
      const tx = db.transaction(fn);
      return (...args: A): R => tx.immediate(...args);
    },
  };
}
