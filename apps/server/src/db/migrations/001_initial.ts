import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/** The seed's tables (users, vms, events, metrics) plus sessions, tokens, SSH keys and the ledger. */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', pk)
    .addColumn('username', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
    .addColumn('hashed_password', 'varchar(255)', (c) => c.notNull())
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('credits', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_login_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', timestamp)
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('expires_at', timestamp, (c) => c.notNull())
    .addColumn('last_seen_at', timestamp, (c) => c.notNull())
    .addColumn('revoked_at', timestamp)
    .addColumn('source_ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .execute();
  await db.schema.createIndex('idx_sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
    .addColumn('scope', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('expires_at', timestamp)
    .addColumn('last_used_at', timestamp)
    .addColumn('revoked_at', timestamp)
    .execute();
  await db.schema.createIndex('idx_api_tokens_user').on('api_tokens').column('user_id').execute();

  await db.schema
    .createTable('ssh_keys')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'varchar(128)', (c) => c.notNull())
    .addColumn('fingerprint_md5', 'varchar(64)', (c) => c.notNull())
    .addColumn('key_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('bits', 'integer', (c) => c.notNull())
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addUniqueConstraint('uq_ssh_keys_user_fingerprint', ['user_id', 'fingerprint'])
    .execute();

  await db.schema
    .createTable('credit_ledger')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('balance_after', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'varchar(200)', (c) => c.notNull())
    .addColumn('actor_id', 'integer')
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_credit_ledger_user').on('credit_ledger').columns(['user_id', 'id']).execute();

  // Destroyed VMs keep their row (audit, billing); names and ports are unique among live ones.
  await db.schema
    .createTable('vms')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'varchar(63)', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull().defaultTo('pending'))
    .addColumn('os_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('image', 'varchar(64)', (c) => c.notNull())
    .addColumn('size', 'varchar(64)')
    .addColumn('ram', 'integer', (c) => c.notNull())
    .addColumn('cpu', 'integer', (c) => c.notNull())
    .addColumn('disk', 'integer', (c) => c.notNull())
    .addColumn('price_hourly', 'integer', (c) => c.notNull())
    .addColumn('driver', 'varchar(16)', (c) => c.notNull())
    .addColumn('ip_address', 'varchar(45)')
    .addColumn('ssh_port', 'integer', (c) => c.unique())
    .addColumn('ssh_user', 'varchar(32)', (c) => c.notNull())
    .addColumn('ssh_keys', 'text', (c) => c.notNull())
    .addColumn('user_data', 'text')
    .addColumn('locked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('booted_at', timestamp)
    .addColumn('destroyed_at', timestamp)
    .addColumn('billed_until', timestamp)
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uq_vms_user_name_live').on('vms').columns(['user_id', 'name']).unique().where(sql.ref('destroyed_at'), 'is', null).execute();
  await db.schema.createIndex('idx_vms_status').on('vms').column('status').execute();

  await db.schema
    .createTable('actions')
    .addColumn('id', 'integer', pk)
    .addColumn('vm_id', 'integer', (c) => c.notNull().references('vms.id'))
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('started_at', timestamp, (c) => c.notNull())
    .addColumn('completed_at', timestamp)
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('idx_actions_vm').on('actions').columns(['vm_id', 'id']).execute();

  await db.schema
    .createTable('images')
    .addColumn('slug', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(128)', (c) => c.notNull())
    .addColumn('distribution', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'varchar(64)', (c) => c.notNull())
    .addColumn('os_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('min_disk', 'integer', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('sha256', 'varchar(64)')
    .addColumn('checksums_url', 'text')
    .addColumn('format', 'varchar(16)')
    .addColumn('size_bytes', 'bigint')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('progress', 'real')
    .addColumn('error', 'text')
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .execute();

  // Events keep user_id/vm_id without foreign keys: deleting a user or VM keeps its history.
  await db.schema
    .createTable('events')
    .addColumn('id', 'integer', pk)
    .addColumn('type', 'varchar(20)', (c) => c.notNull())
    .addColumn('severity', 'varchar(20)', (c) => c.notNull().defaultTo('info'))
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('timestamp', timestamp, (c) => c.notNull())
    .addColumn('user_id', 'integer')
    .addColumn('username', 'varchar(32)')
    .addColumn('vm_id', 'integer')
    .addColumn('source_ip', 'varchar(64)')
    .addColumn('details', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
  await db.schema.createIndex('idx_events_timestamp').on('events').column('timestamp').execute();
  await db.schema.createIndex('idx_events_type').on('events').columns(['type', 'severity']).execute();
  await db.schema.createIndex('idx_events_user').on('events').column('user_id').execute();

  await db.schema
    .createTable('metrics')
    .addColumn('id', 'integer', pk)
    .addColumn('timestamp', timestamp, (c) => c.notNull())
    .addColumn('metric_type', 'varchar(20)', (c) => c.notNull())
    .addColumn('entity', 'varchar(8)', (c) => c.notNull())
    .addColumn('entity_id', 'integer')
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_metrics_entity').on('metrics').columns(['entity', 'entity_id', 'timestamp']).execute();
}
