// Prepared statements by SQL text, least recently used evicted first. Searches compile to a few
// recurring SQL shapes (every value is a parameter), and preparing one costs more than running
// it on a small table.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Db,
    private readonly capacity: number,
  ) {}

  get(sql: string): Database.Statement {
    const hit = this.statements.get(sql);
    if (hit) {
      // Re-inserting moves it to the back of the Map's order: the most recently used.
      this.statements.delete(sql);
      this.statements.set(sql, hit);
      return hit;
    }
    const statement = this.db.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > this.capacity) this.statements.delete(this.statements.keys().next().value!);
    return statement;
  }
}
