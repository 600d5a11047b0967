/**
 * The SOC's full-text `q`: plain words, all of which must match. The user's text is never handed
 * to a query language: it is split on white space and each word is quoted (FTS5) or parsed as
 * plain text (PostgreSQL's phraseto_tsquery), so `"`, `*`, `OR`, `NEAR(`, `col:` or `'` are just
 * characters. A word with no letter or digit cannot match a token and is dropped.
 */
export const MAX_SEARCH_WORDS = 16;

export function searchWords(q: string | undefined): string[] {
  if (!q) return [];
  return q
    // Control characters (a NUL is an error in a PostgreSQL string) are never part of a word.
    .replace(/\p{Cc}/gu, ' ')
    .split(/\s+/u)
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, MAX_SEARCH_WORDS);
}

/** The FTS5 columns a search word may match (not `owner`, the visibility tokens). */
const TEXT_COLUMNS = '{message action username source_ip details}';
/** Above this many VMs, visibility is left to the SQL condition alone (a long OR costs more than it saves). */
export const MAX_OWNER_TOKENS = 200;

/**
 * An FTS5 MATCH expression: each word a quoted string ("" escapes a quote inside it), all
 * required, in the text columns. A quoted word the tokenizer splits (203.0.113.7,
 * ssh.login_failed) becomes a phrase: its parts in that order. With `owner` (a user's id and VM
 * ids), only events with one of those owner tokens match: the index does the intersection.
 */
export function ftsMatchExpression(words: string[], owner?: { userId: number; vmIds: number[] }): string {
  const text = `${TEXT_COLUMNS} : (${words.map((w) => `"${w.replaceAll('"', '""')}"`).join(' AND ')})`;
  if (!owner) return text;
  // Only numbers go in here (ids from the database), never user input.
  const tokens = [`u${Math.trunc(owner.userId)}`, ...owner.vmIds.map((id) => `v${Math.trunc(id)}`)];
  return `owner : (${tokens.join(' OR ')}) AND ${text}`;
}
