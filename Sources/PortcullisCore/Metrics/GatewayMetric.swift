/// Every metric the gateway exports, with its help text, kind and labels: one catalog, so what the modules record
/// and what `/metrics` shows cannot drift apart, and so every label is named here — none carries a session id, a
/// user or a request id. Label values are agent runtime ids, routes, status codes, vendors and reason classes:
/// sets the operator controls or the code enumerates.
public enum GatewayMetric: String, Sendable, CaseIterable {
    case requests = "portcullis_requests_total"
    case requestDuration = "portcullis_request_duration_seconds"
    case stageDuration = "portcullis_request_stage_duration_seconds"
    case authenticationFailures = "portcullis_authentication_failures_total"
    case policyDecisions = "portcullis_policy_decisions_total"
    case jwksFetches = "portcullis_jwks_fetches_total"
    case signingKeyLookups = "portcullis_jwks_key_lookups_total"
    case sessionsActive = "portcullis_sessions_active"
    case sessionsStarted = "portcullis_sessions_started_total"
    case sessionsEnded = "portcullis_sessions_ended_total"
    case sessionStartDuration = "portcullis_session_start_duration_seconds"
    case sandboxCPUSeconds = "portcullis_sandbox_cpu_seconds_total"
    case sandboxMemoryGBSeconds = "portcullis_sandbox_memory_gb_seconds_total"
    case vaultReads = "portcullis_vault_reads_total"
    case vaultRefreshes = "portcullis_vault_refreshes_total"
    case vaultRevocations = "portcullis_vault_revocations_total"

    public enum Kind: Sendable {
        case counter, gauge
        /// A histogram of seconds, with these upper bounds.
        case histogram([Double])
    }

    public var kind: Kind {
        switch self {
        case .requests, .authenticationFailures, .policyDecisions, .jwksFetches, .signingKeyLookups, .sessionsStarted, .sessionsEnded,
            .sandboxCPUSeconds, .sandboxMemoryGBSeconds, .vaultReads, .vaultRefreshes, .vaultRevocations:
            return .counter
        case .sessionsActive:
            return .gauge
        case .requestDuration, .stageDuration:
            return .histogram([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
        case .sessionStartDuration:
            return .histogram([0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60])
        }
    }

    /// The labels, in the order the recording calls pass their values.
    public var labelNames: [String] {
        switch self {
        case .requests: return ["route", "agent_runtime", "status"]
        case .requestDuration: return ["route"]
        case .stageDuration: return ["stage"]
        case .authenticationFailures: return ["surface", "reason"]
        case .policyDecisions: return ["action", "decision"]
        case .jwksFetches: return ["issuer", "outcome"]
        case .signingKeyLookups: return ["result"]
        case .sessionsActive, .sessionsStarted, .sandboxCPUSeconds, .sandboxMemoryGBSeconds: return ["agent_runtime", "driver"]
        case .sessionsEnded: return ["agent_runtime", "driver", "reason"]
        case .sessionStartDuration: return ["driver", "start"]
        case .vaultReads: return ["operation", "flow", "outcome"]
        case .vaultRefreshes: return ["vendor", "outcome"]
        case .vaultRevocations: return ["vendor", "result"]
        }
    }

    public var help: String {
        switch self {
        case .requests: return "Requests answered, by route (the path pattern), agent runtime id (empty when none was resolved) and HTTP status."
        case .requestDuration: return "Time from a request's arrival to its answer's head, by route (a stream's body goes on after)."
        case .stageDuration: return "Time spent in each stage of an invocation: authentication, authorization, session (acquire or start), forward (to the agent's first answer byte)."
        case .authenticationFailures: return "Refused credentials, by surface (data_plane, control_plane) and failure class."
        case .policyDecisions: return "Cedar decisions, by action and decision (allow, deny)."
        case .jwksFetches: return "JWKS fetches from identity providers, by issuer and outcome (success, failure)."
        case .signingKeyLookups: return "Signing-key lookups for incoming tokens: hit (a cached key), miss (the key set was fetched again), unknown (not even after a fetch)."
        case .sessionsActive: return "Runtime sessions running now."
        case .sessionsStarted: return "Runtime sessions started (cold starts)."
        case .sessionsEnded: return "Runtime sessions ended, by reason (idle, maxLifetime, stopped, exited, runtimeDeleted, shutdown)."
        case .sessionStartDuration: return "Start time of a sandboxed session, from its first call to a sandbox that answers: cold (started for it) or pooled (taken ready from the pool)."
        case .sandboxCPUSeconds: return "CPU seconds used by sessions' sandboxes."
        case .sandboxMemoryGBSeconds: return "Memory used by sessions' sandboxes over time, in GB-seconds (as usage metering counts it)."
        case .vaultReads: return "Token-vault reads, by operation, flow (api_key, M2M, USER_FEDERATION, consent) and outcome (success, consent_required, denied, failure)."
        case .vaultRefreshes: return "Vendor token calls by the vault (code exchanges, refreshes, client-credentials mints), by vendor and outcome: success, or the error class (invalid_grant, invalid_client, transient, invalid_response, refused)."
        case .vaultRevocations: return "Revocations the vault asked of vendors for the grants it deleted, by vendor and result (revoked, alreadyInvalid, unsupported, rejected, unreadable, retrying, abandoned)."
        }
    }
}
