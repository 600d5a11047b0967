import { sql, type RawBuilder } from 'kysely';

/** A LIKE pattern matching `text` anywhere (lower case), with LIKE's own wildcards taken literally. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * True when any of the columns contains `text`, ignoring case, on SQLite and PostgreSQL alike
 * (LIKE ignores case on SQLite only, so both sides are lowered). Columns are trusted names.
 */
export function anyContains(columns: string[], text: string): RawBuilder<boolean> {
  const pattern = containsPattern(text);
  const parts = columns.map((c) => sql`lower(${sql.ref(c)}) like ${pattern} escape '\\'`);
  return sql<boolean>`(${sql.join(parts, sql` or `)})`;
}
