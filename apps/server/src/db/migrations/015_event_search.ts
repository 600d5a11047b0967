import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Full-text search over the event log (the SOC's `q`), and indexes for the SOC's filters.
 *
 * SQLite: an external-content FTS5 table (the text lives once, in `events`, read through a view)
 * over message, code (action), user name, source address and details, kept in step by triggers.
 * Folding a repeat (count, last_seen) changes none of the indexed columns, so the update trigger
 * only fires on an UPDATE OF those columns: a flood of repeats costs no index work. Existing rows
 * are indexed by a rebuild.
 *
 * PostgreSQL: the same words as a tsvector ('simple': no stemming and no stop words, like FTS5's
 * unicode61, so a word finds the same events on both) in a side table, events_search, with a GIN
 * index, kept in step by triggers (deleted with its event by the foreign key). Everything but
 * letters and digits becomes a space first, as FTS5 splits: PostgreSQL's parser would otherwise
 * keep a path (/api/admin/users), an e-mail or a host name as one token. Stored, not an
 * expression index: the planner often walks the newest events and checks each one, and computing
 * the vector per row cost ~40 µs (1.4 s for a word in one event of 400 over 1M events); reading
 * it costs ~1 µs. A side table rather than a column: `events` stays narrow for the plain list,
 * and SELECT * on it is unchanged.
 */
export async function up(db: Kysely<unknown>, { kind }: MigrationContext): Promise<void> {
  if (kind === 'sqlite') {
    // The FTS table's content: the searched text, plus `owner`, the tokens u<user_id> v<vm_id>
    // that the visibility rule needs, so a user's search intersects inside the index (a user's
    // few events among a million matches cost what their own events cost).
    await sql`CREATE VIEW events_fts_content AS SELECT id, message, action, username, source_ip, details, ${sql.raw(OWNER_TOKENS('events'))} AS owner FROM events`.execute(db);
    await sql`CREATE VIRTUAL TABLE events_fts USING fts5(message, action, username, source_ip, details, owner, content='events_fts_content', content_rowid='id', tokenize='unicode61 remove_diacritics 2')`.execute(db);
    const row = (r: 'new' | 'old') => sql.raw(`${r}.id, ${r}.message, ${r}.action, ${r}.username, ${r}.source_ip, ${r}.details, ${OWNER_TOKENS(r)}`);
    await sql`CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
      INSERT INTO events_fts(rowid, message, action, username, source_ip, details, owner) VALUES (${row('new')});
    END`.execute(db);
    await sql`CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
      INSERT INTO events_fts(events_fts, rowid, message, action, username, source_ip, details, owner) VALUES ('delete', ${row('old')});
    END`.execute(db);
    await sql`CREATE TRIGGER events_fts_update AFTER UPDATE OF message, action, username, source_ip, details, user_id, vm_id ON events BEGIN
      INSERT INTO events_fts(events_fts, rowid, message, action, username, source_ip, details, owner) VALUES ('delete', ${row('old')});
      INSERT INTO events_fts(rowid, message, action, username, source_ip, details, owner) VALUES (${row('new')});
    END`.execute(db);
    await sql`INSERT INTO events_fts(events_fts) VALUES ('rebuild')`.execute(db);
  } else {
    // The owner lexemes ~u<user_id> ~v<vm_id> go in the vector too (verbatim, so no typed word,
    // which loses its '~', can match them): a user's search is one GIN query, and GIN's fast scan
    // skips through a common word's entries to the user's few, instead of walking everyone's.
    await sql`CREATE TABLE events_search (id integer PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE, doc tsvector NOT NULL)`.execute(db);
    await sql`CREATE FUNCTION events_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO events_search (id, doc) VALUES (NEW.id, ${sql.raw(searchVectorPg('NEW'))})
          ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc;
        RETURN NULL;
      END $$`.execute(db);
    await sql`CREATE TRIGGER events_search_insert AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_search_sync()`.execute(db);
    await sql`CREATE TRIGGER events_search_update AFTER UPDATE OF message, action, username, source_ip, details, user_id, vm_id ON events FOR EACH ROW EXECUTE FUNCTION events_search_sync()`.execute(db);
    await sql`INSERT INTO events_search (id, doc) SELECT id, ${sql.raw(searchVectorPg('events'))} FROM events`.execute(db);
    await sql`CREATE INDEX idx_events_search_doc ON events_search USING GIN (doc)`.execute(db);
    // Finer statistics: with the defaults, a word absent from the frequency list (or a quiet
    // user) is estimated as fairly common and the planner walks every row looking for it
    // (0.4 s at 1M events); with these it uses the indexes.
    await sql`ALTER TABLE events_search ALTER COLUMN doc SET STATISTICS 1000`.execute(db);
    await sql`ALTER TABLE events ALTER COLUMN user_id SET STATISTICS 1000`.execute(db);
    await sql`ALTER TABLE events ALTER COLUMN vm_id SET STATISTICS 1000`.execute(db);
  }
  // The SOC's filters and its "related events" (same address, same VM), newest first.
  await db.schema.createIndex('idx_events_source_ip').on('events').columns(['source_ip', 'id']).execute();
  await db.schema.createIndex('idx_events_vm').on('events').columns(['vm_id', 'id']).execute();
}

/** SQLite: the owner tokens of an event row (`r`: events, new or old), e.g. 'u7 v12'. */
const OWNER_TOKENS = (r: string) => `trim(coalesce('u' || ${r}.user_id, '') || ' ' || coalesce('v' || ${r}.vm_id, ''))`;

/**
 * PostgreSQL: the indexed words of an event row (`r`: events or NEW), plus its owner lexemes.
 * Everything but letters and digits becomes a space first, as FTS5's tokenizer splits (the query
 * splits a word the same way).
 */
const searchVectorPg = (r: string) =>
  `to_tsvector('simple'::regconfig, regexp_replace(${r}.message || ' ' || ${r}.action || ' ' || coalesce(${r}.username, '') || ' ' || coalesce(${r}.source_ip, '') || ' ' || ${r}.details, '[^[:alnum:]]+', ' ', 'g'))` +
  ` || array_to_tsvector(array_remove(ARRAY['~u' || ${r}.user_id, '~v' || ${r}.vm_id], NULL))`;
