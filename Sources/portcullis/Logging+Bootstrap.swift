import Logging
import Synchronization

/// Logging goes to standard error, one line per event, at the configured level.
enum LoggingSetup {
    private static let done = Mutex(false)

    static func logger(level: String, label: String = "portcullis") -> Logger {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}
