import Logging
import PortcullisCore
import PortcullisGateway
import Synchronization

/// Logging goes to standard error, one line per event, at the configured level: JSON lines for `serve` unless the
/// file says `logging.format: text`; text for the commands people read in a terminal.
enum LoggingSetup {
    private static let done = Mutex(false)

    static func logger(level: String, format: LoggingConfiguration.Format = .text, label: String = "portcullis") -> Logger {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in
                switch format {
                case .json:
                    return JSONLogHandler(label: label, metadataProvider: RequestLogScope.metadataProvider)
                case .text:
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: RequestLogScope.metadataProvider)
                    handler.logLevel = .info
                    return handler
                }
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}
