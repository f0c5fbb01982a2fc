/// The PostgreSQL store's schema, as numbered migrations (docs/postgres.md, "Schema"). Never edit a
/// shipped migration: add one. Each runs in one transaction, under an advisory lock, so that nodes that
/// start together apply it once.
///
/// Every table that holds an account's data has `account_id` first in its primary key (a sharded
/// PostgreSQL distributing by account could take it); `events` and `postings` are partitioned by day of
/// `event_time`, their partitions made ahead by `PostgresStore.ensurePartitions`.
enum PostgresSchema {
    struct Migration: Sendable {
        var version: Int
        var name: String
        var sql: String
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "core", sql: """
            CREATE TABLE meta (name text PRIMARY KEY, value bytea NOT NULL);

            CREATE TABLE accounts (
                id bigint PRIMARY KEY,
                name text NOT NULL,
                retention_days integer CHECK (retention_days IS NULL OR retention_days > 0),
                created_at bigint NOT NULL,
                next_seq bigint NOT NULL DEFAULT 1,
                merkle_range bytea,
                member_of bigint REFERENCES accounts(id)
            );

            CREATE TABLE access_keys (
                secret_id text PRIMARY KEY,
                account_id bigint NOT NULL REFERENCES accounts(id),
                role text NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'service')),
                sealed_secret bytea NOT NULL,
                status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
                created_at bigint NOT NULL
            );
            CREATE INDEX access_keys_by_account ON access_keys (account_id, created_at);

            -- One row per event, the record exactly as accepted; partitions by day of event_time.
            CREATE TABLE events (
                account_id bigint NOT NULL,
                event_time bigint NOT NULL,
                seq bigint NOT NULL,
                event_id bytea NOT NULL,
                record bytea NOT NULL,
                PRIMARY KEY (account_id, event_time, seq)
            ) PARTITION BY RANGE (event_time);
            CREATE INDEX events_by_seq ON events (account_id, seq);

            -- eventId idempotency across partitions (a unique index of a partitioned table must hold
            -- the partition key): removed with its event. Event ids are kept as their UTF-8 bytes
            -- (bytea): a JSON string may hold U+0000, which a text column refuses.
            CREATE TABLE event_ids (
                account_id bigint NOT NULL,
                event_id bytea NOT NULL,
                seq bigint NOT NULL,
                event_time bigint NOT NULL,
                PRIMARY KEY (account_id, event_id)
            );
            CREATE INDEX event_ids_by_time ON event_ids (account_id, event_time);

            -- For every lookup key and value fingerprint, the events in time order: one B-tree range
            -- per (account, key, value), newest first with a backward scan. Key 0 lists every event.
            CREATE TABLE postings (
                account_id bigint NOT NULL,
                key smallint NOT NULL,
                value_hash bigint NOT NULL,
                event_time bigint NOT NULL,
                seq bigint NOT NULL,
                PRIMARY KEY (account_id, key, value_hash, event_time, seq)
            ) PARTITION BY RANGE (event_time);

            -- Events per hour of each (key, value). `shard` (0-7, chosen per node) spreads the rows
            -- that every append updates, so that nodes do not queue on one row lock; counts sum them.
            CREATE TABLE hourly_counts (
                account_id bigint NOT NULL,
                key smallint NOT NULL,
                value_hash bigint NOT NULL,
                hour bigint NOT NULL,
                shard smallint NOT NULL,
                count bigint NOT NULL,
                PRIMARY KEY (account_id, key, value_hash, hour, shard)
            );
            CREATE INDEX hourly_counts_by_hour ON hourly_counts (account_id, hour);

            CREATE TABLE cursors (
                account_id bigint NOT NULL,
                token bigint NOT NULL,
                payload bytea NOT NULL,
                expires_at bigint NOT NULL,
                PRIMARY KEY (account_id, token)
            );
            CREATE INDEX cursors_expiry ON cursors (expires_at);

            -- Leaf hashes (level 0) and the perfect subtrees of 64 leaves and more; kept after
            -- retention removes the events, so that old checkpoints and proofs stay valid.
            CREATE TABLE merkle_nodes (
                account_id bigint NOT NULL,
                level smallint NOT NULL,
                idx bigint NOT NULL,
                hash bytea NOT NULL,
                PRIMARY KEY (account_id, level, idx)
            );
            CREATE FUNCTION cloudaudit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
            CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes
                FOR EACH ROW EXECUTE FUNCTION cloudaudit_refuse('the Merkle log is append-only');
            CREATE TRIGGER events_append_only BEFORE UPDATE ON events
                FOR EACH ROW EXECUTE FUNCTION cloudaudit_refuse('events are append-only');

            CREATE TABLE checkpoints (
                account_id bigint NOT NULL,
                size bigint NOT NULL,
                root bytea NOT NULL,
                time bigint NOT NULL,
                note text NOT NULL,
                PRIMARY KEY (account_id, size)
            );

            -- Tracking sets: the definition as JSON, with the columns that are looked up.
            CREATE TABLE tracks (
                id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                account_id bigint NOT NULL REFERENCES accounts(id),
                name text NOT NULL,
                definition bytea NOT NULL,
                created_at bigint NOT NULL,
                UNIQUE (account_id, name)
            );

            -- Where each set stands in each account's log it delivers; `lease_token` fences the node
            -- that delivers it (docs/postgres.md, "Work shared between nodes").
            CREATE TABLE delivery_state (
                account_id bigint NOT NULL,
                track_id bigint NOT NULL,
                delivered_seq bigint NOT NULL,
                delivered_at bigint NOT NULL DEFAULT 0,
                pending_first_seq bigint,
                pending_key_time bigint,
                last_error text,
                last_error_at bigint,
                files bigint NOT NULL DEFAULT 0,
                events bigint NOT NULL DEFAULT 0,
                digest bytea,
                PRIMARY KEY (account_id, track_id)
            );
            CREATE INDEX delivery_state_by_track ON delivery_state (track_id);

            -- The outbox of file notifications, written with the cursor that delivered the file.
            CREATE TABLE notifications (
                id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                track_id bigint NOT NULL,
                channel text NOT NULL,
                body bytea NOT NULL,
                message_id text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                due_at bigint NOT NULL DEFAULT 0,
                last_error text
            );
            CREATE INDEX notifications_due ON notifications (due_at);

            CREATE TABLE kms_keys (
                account_id bigint NOT NULL REFERENCES accounts(id),
                key_id text NOT NULL UNIQUE,
                region text NOT NULL,
                alias text NOT NULL,
                status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
                sealed_key bytea NOT NULL,
                created_at bigint NOT NULL,
                PRIMARY KEY (account_id, key_id),
                UNIQUE (account_id, region, alias)
            );
            CREATE TRIGGER kms_keys_no_delete BEFORE DELETE ON kms_keys
                FOR EACH ROW EXECUTE FUNCTION cloudaudit_refuse('KMS keys are never deleted; disable them');

            CREATE TABLE console_passwords (
                account_id bigint NOT NULL REFERENCES accounts(id),
                role text NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'service')),
                hash text NOT NULL,
                updated_at bigint NOT NULL,
                PRIMARY KEY (account_id, role)
            );

            CREATE TABLE console_sessions (
                token_hash bytea PRIMARY KEY,
                account_id bigint NOT NULL REFERENCES accounts(id),
                role text NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'service')),
                secret_id text,
                csrf_token text NOT NULL,
                created_at bigint NOT NULL,
                last_seen_at bigint NOT NULL
            );
            CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
            CREATE INDEX console_sessions_created ON console_sessions (created_at);

            -- Work shared between nodes: who holds it, until when, and a token that grows with every
            -- change of holder (a fencing token).
            CREATE TABLE leases (
                name text PRIMARY KEY,
                holder text NOT NULL,
                token bigint NOT NULL,
                expires_at bigint NOT NULL
            );
            """),
        // Issue 15: notification channels, alert rules with where their evaluation stands (the last
        // sequence evaluated and the evaluator's threshold state), fired alerts and their outbox.
        Migration(version: 2, name: "alerts", sql: """
            CREATE TABLE alert_channels (
                account_id bigint NOT NULL REFERENCES accounts(id),
                id bigint NOT NULL,
                name text NOT NULL,
                type text NOT NULL,
                config bytea NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL,
                PRIMARY KEY (account_id, id),
                UNIQUE (account_id, name)
            );

            CREATE TABLE alert_rules (
                account_id bigint NOT NULL REFERENCES accounts(id),
                id bigint NOT NULL,
                name text NOT NULL,
                spec bytea NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL,
                cursor bigint NOT NULL,
                state bytea NOT NULL,
                PRIMARY KEY (account_id, id),
                UNIQUE (account_id, name)
            );

            CREATE TABLE alerts (
                account_id bigint NOT NULL REFERENCES accounts(id),
                id text NOT NULL,
                rule_id bigint NOT NULL,
                rule_name text NOT NULL,
                severity text NOT NULL,
                fired_at bigint NOT NULL,
                event_ids text NOT NULL,
                grp text,
                count integer NOT NULL,
                alert_event_id text NOT NULL,
                created_at bigint NOT NULL,
                PRIMARY KEY (account_id, id)
            );
            CREATE INDEX alerts_by_time ON alerts (account_id, fired_at);

            CREATE TABLE alert_outbox (
                account_id bigint NOT NULL,
                alert_id text NOT NULL,
                channel_id bigint NOT NULL,
                attempts integer NOT NULL,
                next_attempt_at bigint NOT NULL,
                claimed_until bigint NOT NULL,
                last_error text NOT NULL,
                PRIMARY KEY (account_id, alert_id, channel_id)
            );
            CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at);
            """),
    ]

    /// The key of the advisory lock that migrations take (any constant no other program uses).
    static let migrationLock: Int64 = 0x436C_6F75_6441_7564  // "CloudAud"
}
