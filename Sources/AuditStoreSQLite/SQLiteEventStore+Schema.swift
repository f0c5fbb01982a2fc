import AuditStore
import GRDB

extension SQLiteEventStore {
    /// The schema, as an append-only list of migrations. Never edit a shipped migration: add one.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-core") { db in
            try db.execute(sql: """
                CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;

                CREATE TABLE accounts (
                    id INTEGER PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    retention_days INTEGER CHECK (retention_days IS NULL OR retention_days > 0),
                    created_at INTEGER NOT NULL,
                    next_seq INTEGER NOT NULL DEFAULT 1
                );

                CREATE TABLE access_keys (
                    secret_id TEXT PRIMARY KEY NOT NULL,
                    account_id INTEGER NOT NULL REFERENCES accounts(id),
                    role TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'service')),
                    sealed_secret BLOB NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- One row per event: the record exactly as accepted. `id` is the store-wide position
                -- used in page cursors; `seq` the account's gapless sequence number.
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY NOT NULL,
                    account_id INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    event_id TEXT NOT NULL,
                    event_time INTEGER NOT NULL,
                    record BLOB NOT NULL,
                    posting_keys BLOB NOT NULL,
                    UNIQUE (account_id, seq),
                    UNIQUE (account_id, event_id)
                );

                -- Posting lists: for every lookup key, day and value fingerprint, the events in time
                -- order. Key 0 lists every event of the account. The day comes before the value so that
                -- the inserts of keys with nearly unique values (request ids, event ids, resources)
                -- land in the current day's small region instead of anywhere in the whole index.
                CREATE TABLE postings (
                    account_id INTEGER NOT NULL,
                    key INTEGER NOT NULL,
                    day INTEGER NOT NULL,
                    value_hash INTEGER NOT NULL,
                    event_time INTEGER NOT NULL,
                    pos INTEGER NOT NULL,
                    PRIMARY KEY (account_id, key, day, value_hash, event_time, pos)
                ) WITHOUT ROWID;

                -- Events per hour for each (key, value): counts without scanning.
                CREATE TABLE hourly_counts (
                    account_id INTEGER NOT NULL,
                    key INTEGER NOT NULL,
                    value_hash INTEGER NOT NULL,
                    hour INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (account_id, key, value_hash, hour)
                ) WITHOUT ROWID;

                CREATE TABLE cursors (
                    token INTEGER PRIMARY KEY NOT NULL,
                    account_id INTEGER NOT NULL,
                    payload BLOB NOT NULL,
                    expires_at INTEGER NOT NULL
                );

                -- The log is append-only: a stored event is never rewritten, and only retention,
                -- past the account's retention period, may remove one.
                CREATE TRIGGER events_append_only BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

                CREATE TRIGGER events_retention_only BEFORE DELETE ON events
                WHEN old.event_time >= CAST(strftime('%s', 'now') AS INTEGER) - 86400 * COALESCE(
                    (SELECT retention_days FROM accounts WHERE id = old.account_id),
                    (SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'default_retention_days'),
                    30)
                BEGIN SELECT RAISE(ABORT, 'events inside the retention period cannot be deleted'); END;
                """)
        }
        registerTrackMigration(&m)
        registerIntegrityMigration(&m)
        registerKmsMigration(&m)
        registerConsoleMigration(&m)
        registerAlertMigration(&m)
        return m
    }
}
