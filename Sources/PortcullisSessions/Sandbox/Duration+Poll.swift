extension Duration {
    /// This duration as `poll`'s timeout: whole milliseconds rounded up (so a wait never ends early and spins), at
    /// least 1 and at most a minute (callers loop until their own deadline).
    var pollMilliseconds: Int32 {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 + 1
        return Int32(min(max(milliseconds, 1), 60_000))
    }
}
