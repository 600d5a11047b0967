import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migrator.js';

/**
 * Notification channels (a user's e-mail addresses and webhooks) and the delivery log. A delivery
 * row holds everything needed to send it (subject, text, data), so pending deliveries are resumed
 * after a restart. Deleting a channel deletes its deliveries.
 */
export async function up(db: Kysely<unknown>, { pk, timestamp }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('notification_channels')
    .addColumn('id', 'integer', pk)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('name', 'varchar(80)', (c) => c.notNull())
    .addColumn('email', 'varchar(254)')
    .addColumn('url', 'varchar(2000)')
    .addColumn('format', 'varchar(16)')
    // Webhooks: the signing secret, sealed with secrets.json's notificationKey (AES-256-GCM).
    .addColumn('secret_enc', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('updated_at', timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_notification_channels_user').on('notification_channels').columns(['user_id', 'id']).execute();

  await db.schema
    .createTable('notification_deliveries')
    .addColumn('id', 'integer', pk)
    .addColumn('channel_id', 'integer', (c) => c.notNull().references('notification_channels.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('topic', 'varchar(64)', (c) => c.notNull())
    .addColumn('subject', 'varchar(300)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    // JSON object: the notification's data, sent as-is in the webhook body.
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('alert_id', 'integer')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('response_code', 'integer')
    .addColumn('error', 'varchar(500)')
    .addColumn('created_at', timestamp, (c) => c.notNull())
    .addColumn('finished_at', timestamp)
    .execute();
  await db.schema.createIndex('idx_notification_deliveries_user').on('notification_deliveries').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('idx_notification_deliveries_channel').on('notification_deliveries').columns(['channel_id', 'id']).execute();
  // Resuming after a restart reads the pending ones.
  await db.schema.createIndex('idx_notification_deliveries_status').on('notification_deliveries').columns(['status', 'id']).execute();
}
