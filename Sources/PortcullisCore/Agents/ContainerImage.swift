import Foundation

/// A container image the gateway unpacks and runs, one sandbox per session, without a container engine: the wire's
/// `containerConfiguration.containerUri` when it names an image file rather than a running agent.
///
/// The URI is `TRANSPORT:LOCATION[:TAG]`, after the transports skopeo and podman name:
/// - `oci:/srv/images/agent` — an OCI image layout directory (`index.json`, `blobs/`),
/// - `oci-archive:/srv/images/agent.tar` — the same as a tar file,
/// - `docker-archive:/srv/images/agent.tar` — what `docker save` writes (`manifest.json`, layer tars).
///
/// `LOCATION` is an absolute path on the gateway's machine or an `http(s)://` URL of an archive. `TAG` picks one
/// image where the file holds several: it matches a name's tag (`latest`), its last path component (`agent` for
/// `myorg/agent:1`) or the whole name. The format is recognised from the contents, so the transport only documents
/// what the file is.
public struct ContainerImage: Sendable, Equatable, Codable {
    public enum Transport: String, Sendable, CaseIterable {
        case oci
        case ociArchive = "oci-archive"
        case dockerArchive = "docker-archive"
    }

    /// The URI as given, which is what the API returns.
    public let uri: String
    public let transport: Transport
    /// Where the image is read from when a version is deployed: `.path` or `.url`.
    public let location: CodeArtifact.Source
    public let reference: String?

    /// Whether a `containerUri` names an image (rather than the URL of a running agent).
    public static func namesImage(_ uri: String) -> Bool {
        Transport.allCases.contains { uri.hasPrefix($0.rawValue + ":") }
    }

    /// - Throws: `ValidationException` naming `field` for a URI that is not `TRANSPORT:LOCATION[:TAG]`.
    public init(uri: String, field: String) throws(AgentCoreError) {
        guard uri.utf8.count <= 2048, !uri.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
            let transport = Transport.allCases.first(where: { uri.hasPrefix($0.rawValue + ":") })
        else {
            throw .invalidField(field, "Member must be oci:PATH, oci-archive:PATH_OR_URL or docker-archive:PATH_OR_URL, optionally followed by :TAG")
        }
        var rest = String(uri.dropFirst(transport.rawValue.count + 1))
        var reference: String?
        // A tag follows the last colon when no slash comes after it (a URL's scheme and port are followed by one).
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let tag = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(tag) else {
                throw .invalidField(field, "The image tag after the last ':' must be 1-128 letters, digits, '.', '_' or '-'")
            }
            reference = tag
            rest = String(rest[..<colon])
        }
        let location: CodeArtifact.Source
        if rest.hasPrefix("/") {
            location = .path(rest)
        } else if let url = URL(string: rest), url.scheme == "https" || url.scheme == "http", url.host != nil, url.user == nil, url.fragment == nil {
            guard transport != .oci else {
                throw .invalidField(field, "An OCI layout is a directory on the gateway's machine; fetch an image over HTTP as oci-archive: or docker-archive:")
            }
            location = .url(rest)
        } else {
            throw .invalidField(field, "The image location must be an absolute path or an http:// or https:// URL without credentials")
        }
        self.uri = uri
        self.transport = transport
        self.location = location
        self.reference = reference
    }

    private static func isValidTag(_ tag: String) -> Bool {
        (1...128).contains(tag.utf8.count) && tag.utf8.first != UInt8(ascii: ".") && tag.utf8.first != UInt8(ascii: "-")
            && tag.utf8.allSatisfy { AgentRuntimeIdentifier.isLetter($0) || AgentRuntimeIdentifier.isDigit($0) || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-")].contains($0) }
    }

    public init(from decoder: any Decoder) throws {
        let uri = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(uri: uri, field: "containerUri")
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(uri)
    }
}
