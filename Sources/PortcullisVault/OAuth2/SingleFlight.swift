/// At most one run of an operation per key at a time in this process: callers that arrive while one runs wait for
/// its result instead of starting their own (a hundred requests on one expired token make one refresh).
///
/// The shared run is an unstructured task because several callers await it and none of them owns it; it is
/// removed when it ends, whatever the outcome, so a failed run never wedges its key.
actor SingleFlight<Key: Hashable & Sendable, Value: Sendable> {
    private var running: [Key: Task<Value, any Error>] = [:]

    func run(_ key: Key, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let task = running[key] { return try await task.value }
        let task = Task { try await operation() }
        running[key] = task
        defer { running[key] = nil }
        return try await task.value
    }
}
