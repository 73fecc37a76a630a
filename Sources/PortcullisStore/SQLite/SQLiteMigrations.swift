import GRDB

/// Schema history. Migrations are append-only: never edit one that has shipped, add the next.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-agent-registry-api-keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE agent_runtime (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        latest_version INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        failure_reason TEXT,
                        created_at REAL NOT NULL,
                        last_updated_at REAL NOT NULL,
                        tags TEXT NOT NULL,
                        owner TEXT NOT NULL
                    );
                    CREATE TABLE agent_runtime_version (
                        runtime_id TEXT NOT NULL REFERENCES agent_runtime(id) ON DELETE CASCADE,
                        version INTEGER NOT NULL,
                        configuration TEXT NOT NULL,
                        status TEXT NOT NULL,
                        failure_reason TEXT,
                        created_at REAL NOT NULL,
                        PRIMARY KEY (runtime_id, version)
                    );
                    CREATE TABLE agent_runtime_endpoint (
                        runtime_id TEXT NOT NULL REFERENCES agent_runtime(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        id TEXT NOT NULL UNIQUE,
                        live_version INTEGER NOT NULL,
                        target_version INTEGER NOT NULL,
                        description TEXT,
                        status TEXT NOT NULL,
                        failure_reason TEXT,
                        created_at REAL NOT NULL,
                        last_updated_at REAL NOT NULL,
                        PRIMARY KEY (runtime_id, name)
                    );
                    CREATE TABLE api_key (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        secret_hash BLOB NOT NULL,
                        agents TEXT NOT NULL,
                        is_admin INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL,
                        revoked_at REAL,
                        last_used_at REAL
                    );
                    CREATE TABLE idempotent_response (
                        operation TEXT NOT NULL,
                        client_token TEXT NOT NULL,
                        fingerprint BLOB NOT NULL,
                        status INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        PRIMARY KEY (operation, client_token)
                    );
                    CREATE INDEX idempotent_response_created_at ON idempotent_response(created_at);
                    """
            )
        }
        migrator.registerMigration("v2-access-keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE access_key (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        sealed_secret TEXT NOT NULL,
                        agents TEXT NOT NULL,
                        is_admin INTEGER NOT NULL,
                        acts_for_users INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL,
                        revoked_at REAL,
                        last_used_at REAL
                    );
                    """
            )
        }
        migrator.registerMigration("v3-browser-sessions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE browser_session (
                        id_hash BLOB PRIMARY KEY NOT NULL,
                        principal BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL
                    );
                    CREATE INDEX browser_session_expires_at ON browser_session(expires_at);
                    """
            )
        }
        migrator.registerMigration("v4-decision-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE authorization_decision (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        request_id TEXT NOT NULL,
                        decided_at REAL NOT NULL,
                        principal TEXT NOT NULL,
                        action TEXT NOT NULL,
                        resource TEXT NOT NULL,
                        allowed INTEGER NOT NULL,
                        policies TEXT NOT NULL,
                        errors TEXT NOT NULL,
                        failed_forbid INTEGER NOT NULL,
                        policy_set TEXT NOT NULL,
                        request TEXT,
                        entities TEXT
                    );
                    CREATE INDEX authorization_decision_request ON authorization_decision(request_id);
                    CREATE INDEX authorization_decision_decided_at ON authorization_decision(decided_at);
                    CREATE INDEX authorization_decision_policy_set ON authorization_decision(policy_set);
                    CREATE TABLE policy_set (
                        digest TEXT PRIMARY KEY NOT NULL,
                        files TEXT NOT NULL,
                        activated_at REAL NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v5-session-usage") { db in
            try db.execute(
                sql: """
                    CREATE TABLE runtime_session (
                        sandbox_id TEXT PRIMARY KEY NOT NULL,
                        runtime_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        owner TEXT NOT NULL,
                        driver TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        ended_at REAL,
                        end_reason TEXT,
                        updated_at REAL NOT NULL,
                        cpu_seconds REAL NOT NULL,
                        memory_gb_seconds REAL NOT NULL,
                        peak_memory_bytes INTEGER NOT NULL,
                        invocations INTEGER NOT NULL,
                        bytes_in INTEGER NOT NULL,
                        bytes_out INTEGER NOT NULL
                    );
                    CREATE INDEX runtime_session_started ON runtime_session(started_at, sandbox_id);
                    CREATE INDEX runtime_session_runtime ON runtime_session(runtime_id, session_id, started_at);
                    CREATE INDEX runtime_session_open ON runtime_session(ended_at) WHERE ended_at IS NULL;
                    """
            )
        }
        migrator.registerMigration("v6-audit-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE audit_record (
                        sequence INTEGER PRIMARY KEY NOT NULL,
                        at REAL NOT NULL,
                        kind TEXT NOT NULL,
                        principal TEXT,
                        agent_runtime_id TEXT,
                        body TEXT NOT NULL,
                        previous_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX audit_record_at ON audit_record(at);
                    CREATE INDEX audit_record_principal ON audit_record(principal, at);
                    CREATE INDEX audit_record_agent ON audit_record(agent_runtime_id, at);
                    CREATE TABLE audit_anchor (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        sequence INTEGER NOT NULL,
                        hash TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v7-workload-identities-credential-providers") { db in
            try db.execute(
                sql: """
                    CREATE TABLE workload_identity (
                        name TEXT PRIMARY KEY NOT NULL,
                        runtime_id TEXT UNIQUE REFERENCES agent_runtime(id) ON DELETE CASCADE,
                        allowed_return_urls TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    INSERT INTO workload_identity (name, runtime_id, allowed_return_urls, tags, created_at, updated_at)
                        SELECT id, id, '[]', '{}', created_at, created_at FROM agent_runtime;
                    CREATE TABLE credential_provider (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        vendor TEXT,
                        configuration TEXT NOT NULL,
                        sealed_secret TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        UNIQUE (kind, name)
                    );
                    """
            )
        }
        migrator.registerMigration("v8-vault-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE vault_token (
                        id TEXT PRIMARY KEY NOT NULL,
                        provider_id TEXT NOT NULL REFERENCES credential_provider(id) ON DELETE CASCADE,
                        flow TEXT NOT NULL,
                        workload TEXT NOT NULL,
                        user_key TEXT NOT NULL,
                        scope_key TEXT NOT NULL,
                        access_sealed TEXT NOT NULL,
                        access_expires_at REAL,
                        refresh_sealed TEXT,
                        refresh_hash TEXT,
                        status TEXT NOT NULL,
                        generation INTEGER NOT NULL,
                        lease_owner TEXT,
                        lease_until REAL,
                        last_error TEXT,
                        updated_at REAL NOT NULL,
                        UNIQUE (provider_id, flow, workload, user_key, scope_key)
                    );
                    CREATE TABLE refresh_journal (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        token_id TEXT NOT NULL,
                        owner TEXT NOT NULL,
                        consumed_refresh_hash TEXT,
                        outcome TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        finished_at REAL
                    );
                    CREATE INDEX refresh_journal_token ON refresh_journal(token_id, outcome);
                    CREATE TABLE consent_session (
                        id TEXT PRIMARY KEY NOT NULL,
                        provider_id TEXT NOT NULL REFERENCES credential_provider(id) ON DELETE CASCADE,
                        workload TEXT NOT NULL,
                        user_key TEXT NOT NULL,
                        request TEXT NOT NULL,
                        status TEXT NOT NULL,
                        state_hash TEXT UNIQUE,
                        browser_nonce_hash TEXT,
                        verifier_sealed TEXT,
                        pending_sealed TEXT,
                        error TEXT,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL
                    );
                    CREATE INDEX consent_session_expiry ON consent_session(expires_at);
                    -- A workload's grants and consents go with it (also when its runtime is deleted, by cascade).
                    CREATE TRIGGER workload_identity_deleted AFTER DELETE ON workload_identity BEGIN
                        DELETE FROM vault_token WHERE workload = OLD.name;
                        DELETE FROM consent_session WHERE workload = OLD.name;
                    END;
                    """
            )
        }
        migrator.registerMigration("v9-vault-refresh-backoff") { db in
            // Transient refresh failures: counted (with their distinct days) for backoff and, only after days, re-consent.
            try db.execute(
                sql: """
                    ALTER TABLE vault_token ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE vault_token ADD COLUMN first_failure_at REAL;
                    ALTER TABLE vault_token ADD COLUMN failure_days INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE vault_token ADD COLUMN last_failure_day INTEGER;
                    ALTER TABLE vault_token ADD COLUMN retry_at REAL;
                    """
            )
        }
        migrator.registerMigration("v10-vault-revocations") { db in
            // Deleted grants owe the vendor a revocation: queued by the deleting transaction itself (due at once:
            // next_attempt_at 0), with a copy of the provider, so neither a crash nor the provider's own deletion
            // loses one. Times written here are the database's clock; the gateways' come from theirs.
            try db.execute(
                sql: """
                    CREATE TABLE vault_revocation_provider (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        vendor TEXT,
                        configuration TEXT NOT NULL,
                        sealed_secret TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE vault_revocation (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        token_id TEXT NOT NULL,
                        provider_id TEXT NOT NULL,
                        flow TEXT NOT NULL,
                        workload TEXT NOT NULL,
                        access_sealed TEXT NOT NULL,
                        refresh_sealed TEXT,
                        reason TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        last_error TEXT,
                        created_at REAL NOT NULL
                    );
                    CREATE INDEX vault_revocation_due ON vault_revocation(next_attempt_at);
                    CREATE TRIGGER credential_provider_deleting BEFORE DELETE ON credential_provider WHEN OLD.kind = 'oauth2' BEGIN
                        INSERT OR REPLACE INTO vault_revocation_provider (id, name, vendor, configuration, sealed_secret, created_at, updated_at)
                            SELECT id, name, vendor, configuration, sealed_secret, created_at, updated_at FROM credential_provider
                            WHERE id = OLD.id AND EXISTS (SELECT 1 FROM vault_token WHERE provider_id = OLD.id);
                        INSERT INTO vault_revocation (token_id, provider_id, flow, workload, access_sealed, refresh_sealed, reason, next_attempt_at, created_at)
                            SELECT id, provider_id, flow, workload, access_sealed, refresh_sealed, 'providerDeleted', 0, \(Self.databaseNow)
                            FROM vault_token WHERE provider_id = OLD.id;
                    END;
                    DROP TRIGGER workload_identity_deleted;
                    CREATE TRIGGER workload_identity_deleted AFTER DELETE ON workload_identity BEGIN
                        INSERT OR REPLACE INTO vault_revocation_provider (id, name, vendor, configuration, sealed_secret, created_at, updated_at)
                            SELECT id, name, vendor, configuration, sealed_secret, created_at, updated_at FROM credential_provider
                            WHERE id IN (SELECT provider_id FROM vault_token WHERE workload = OLD.name);
                        INSERT INTO vault_revocation (token_id, provider_id, flow, workload, access_sealed, refresh_sealed, reason, next_attempt_at, created_at)
                            SELECT id, provider_id, flow, workload, access_sealed, refresh_sealed, 'workloadDeleted', 0, \(Self.databaseNow)
                            FROM vault_token WHERE workload = OLD.name;
                        DELETE FROM vault_token WHERE workload = OLD.name;
                        DELETE FROM consent_session WHERE workload = OLD.name;
                    END;
                    """
            )
        }
        return migrator
    }

    /// Now, in seconds since 1970 (as dates are stored), by the database's clock.
    static let databaseNow = "((julianday('now') - 2440587.5) * 86400.0)"
}
