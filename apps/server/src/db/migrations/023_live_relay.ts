import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

// GROUNDWORK: owned by the live-relay helper (issue 16); replace this comment and body.
export async function up(_db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {}
