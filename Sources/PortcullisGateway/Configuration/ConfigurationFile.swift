import Foundation
public import PortcullisCore
import Yams

/// Reads the YAML configuration file.
public enum ConfigurationFile {
    /// Loads and validates `path`. Errors name the key at fault.
    public static func load(path: String) throws -> GatewayConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read configuration file \(path): \(error.localizedDescription)")
        }
        return try parse(text, source: path)
    }

    /// Parses configuration text. An empty document means all defaults.
    public static func parse(_ text: String, source: String = "configuration") throws -> GatewayConfiguration {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return GatewayConfiguration()
        }
        do {
            return try YAMLDecoder().decode(GatewayConfiguration.self, from: text)
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(source): \(error.description)")
        } catch let error as DecodingError {
            if let underlying = innermostConfigurationError(error) {
                throw ConfigurationError("\(source): \(underlying.description)")
            }
            throw ConfigurationError("\(source): \(describe(error))")
        } catch {
            throw ConfigurationError("\(source): \(error)")
        }
    }

    /// Yams wraps errors thrown inside `init(from:)` as "not valid YAML"; the real cause is underneath.
    static func innermostConfigurationError(_ error: any Error) -> ConfigurationError? {
        if let error = error as? ConfigurationError { return error }
        guard let decodingError = error as? DecodingError else { return nil }
        switch decodingError {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            if let underlying = context.underlyingError, let found = innermostConfigurationError(underlying) { return found }
            if let underlying = context.underlyingError as? DecodingError { return ConfigurationError(describe(underlying)) }
            return nil
        @unknown default:
            return nil
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "(top level)" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context)): missing required key '\(key.stringValue)'"
        case .typeMismatch(let type, let context):
            return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context)): expected a value of type \(type)"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
