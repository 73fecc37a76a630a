import ArgumentParser
import Foundation
import PortcullisCore

/// Which gateway a client command talks to: `--gateway`, else `PORTCULLIS_GATEWAY`, else the `portcullis dev`
/// gateway described by `DIR/dev.json`.
struct GatewayOptions: ParsableArguments {
    @Option(name: .long, help: "The gateway's URL (default: $PORTCULLIS_GATEWAY, else the dev gateway in --data).")
    var gateway: String?

    @Option(name: .long, help: "Data directory of a `portcullis dev` gateway, whose dev.json names it (default .portcullis).")
    var data: String = ".portcullis"

    func url() throws -> String {
        if let gateway { return Self.trimmed(gateway) }
        if let environment = ProcessInfo.processInfo.environment["PORTCULLIS_GATEWAY"], !environment.isEmpty {
            return Self.trimmed(environment)
        }
        if let endpoint = devState()?["endpoint"]?.stringValue { return endpoint }
        throw ValidationError("Name the gateway with --gateway URL (or PORTCULLIS_GATEWAY)")
    }

    /// `dev.json` of the data directory, if there is one.
    func devState() -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: data + "/dev.json") else { return nil }
        return try? StrictJSON.parse(Array(data))
    }

    private static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
