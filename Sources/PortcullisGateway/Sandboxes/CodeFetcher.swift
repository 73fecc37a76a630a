import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import PortcullisCore
import PortcullisIdentity

/// Brings a code version's files into a staging directory from where its `codeConfiguration` says: a local
/// directory or zip, a zip over HTTP(S), or a zip object in S3-compatible storage. Every fetch is bounded in bytes
/// and time, redirects are never followed (a prefix allowlist must not be escapable), and messages never carry a
/// URL's query or a credential.
struct CodeFetcher: Sendable {
    let configuration: ArtifactsConfiguration
    let region: String
    let http: HTTPClient
    /// Read at every fetch, so rotated credentials take effect without a restart.
    let environment: @Sendable () -> [String: String]
    let clock: any WallClock

    init(
        configuration: ArtifactsConfiguration,
        region: String,
        clock: any WallClock,
        environment: @escaping @Sendable () -> [String: String] = { ProcessInfo.processInfo.environment }
    ) {
        self.configuration = configuration
        self.region = region
        self.http = Self.client
        self.environment = environment
        self.clock = clock
    }

    /// Process-wide, like ``IdentityHTTPClient/shared``, so gateways built and dropped never leak a client.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(60)),
            decompression: .disabled
        )
        configuration.connectionPool.idleTimeout = .seconds(30)
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()

    private var maxArchiveBytes: Int { configuration.maxArchiveMiB << 20 }
    private var maxUnpackedBytes: Int { configuration.maxUnpackedMiB << 20 }
    static let maxEntries = 100_000

    /// Refuses sources the control plane may not name: local paths outside `artifacts.localRoots`, URLs outside
    /// `artifacts.urlPrefixes`. The configuration file's agents are not checked: the file is the operator's.
    func admit(_ source: CodeArtifact.Source, field: String) throws(AgentCoreError) {
        switch source {
        case .path(let path):
            let standardized = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
            guard path.hasPrefix("/"), configuration.allowsLocalPath(standardized) else {
                throw AgentCoreError.invalidField(
                    "\(field).path",
                    configuration.localRoots.isEmpty
                        ? "This gateway deploys no local paths through the API; list directories in artifacts.localRoots to allow it"
                        : "Member must be an absolute path under one of artifacts.localRoots: \(configuration.localRoots.joined(separator: ", "))"
                )
            }
        case .url(let url):
            guard configuration.allowsURL(url) else {
                throw AgentCoreError.invalidField(
                    "\(field).url",
                    configuration.urlPrefixes.isEmpty
                        ? "This gateway fetches no code URLs through the API; list allowed prefixes in artifacts.urlPrefixes"
                        : "Member must start with one of artifacts.urlPrefixes"
                )
            }
        case .s3:
            return
        }
    }

    /// Fills `staging` (which must not exist) with the code.
    func fetch(_ source: CodeArtifact.Source, into staging: String) async throws(ArtifactError) {
        switch source {
        case .path(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ArtifactError("the code path \(path) does not exist")
            }
            if isDirectory.boolValue {
                try copyDirectory(path, to: staging)
            } else if path.hasSuffix(".zip") {
                try await ZipExtraction(maxBytes: maxUnpackedBytes, maxEntries: Self.maxEntries).extract(path, to: staging)
            } else {
                throw ArtifactError("the code path \(path) is neither a directory nor a .zip file")
            }
        case .url(let url):
            try await fetchArchive(from: url, headers: [], displayName: source.displayName, into: staging)
        case .s3(let location):
            let signed = try signS3(location)
            try await fetchArchive(from: signed.url, headers: signed.headers, displayName: source.displayName, into: staging)
        }
    }

    /// Unpacks a container image into `staging` (which must not exist): `rootfs/` and `image.json`. An image at a
    /// URL is downloaded beside it first (bounded by `maxArchiveMiB`).
    func fetchImage(_ image: ContainerImage, into staging: String) async throws(ArtifactError) {
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ArtifactError("cannot create \(staging): \(error.localizedDescription)")
        }
        let unpacking = ImageUnpacking(maxBytes: maxUnpackedBytes, maxEntries: Self.maxEntries)
        switch image.location {
        case .path(let path):
            guard FileManager.default.fileExists(atPath: path) else { throw ArtifactError("the image path \(path) does not exist") }
            try await unpacking.unpack(path, reference: image.reference, into: staging)
        case .url(let url):
            let archive = staging + ".download"
            defer { try? FileManager.default.removeItem(atPath: archive) }
            try await download(url, headers: [], displayName: image.location.displayName, to: archive)
            try await unpacking.unpack(archive, reference: image.reference, into: staging)
        case .s3:
            throw ArtifactError("container images are read from a path or a URL")
        }
    }

    private func copyDirectory(_ source: String, to staging: String) throws(ArtifactError) {
        let files = FileManager.default
        var total = 0
        var entries = 0
        if let walker = files.enumerator(atPath: source) {
            let base = URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath().path
            for case let relative as String in walker {
                entries += 1
                let path = "\(source)/\(relative)"
                let attributes = try? files.attributesOfItem(atPath: path)
                if attributes?[.type] as? FileAttributeType == .typeSymbolicLink {
                    // A link out of the tree would let the deployment (which reads and compiles the code as root)
                    // copy a host file into what the sandbox sees.
                    let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                    guard target.hasPrefix(base + "/") else {
                        throw ArtifactError("the code's symbolic link \(relative) points outside the code directory; copy the file instead")
                    }
                }
                total += (attributes?[.size] as? Int) ?? 0
                guard entries <= Self.maxEntries, total <= maxUnpackedBytes else {
                    throw ArtifactError("the code at \(source) is larger than artifacts.maxUnpackedMiB (\(configuration.maxUnpackedMiB) MiB) or has more than \(Self.maxEntries) files")
                }
            }
        }
        do {
            try files.copyItem(atPath: source, toPath: staging)
        } catch {
            throw ArtifactError("cannot copy the code from \(source): \(error.localizedDescription)")
        }
    }

    private func signS3(_ location: S3ObjectLocation) throws(ArtifactError) -> (url: String, headers: [(String, String)]) {
        let s3 = configuration.s3
        let environment = self.environment()
        let region = s3.region ?? self.region
        let endpointText = s3.endpoint ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), endpoint.host != nil else {
            throw ArtifactError("artifacts.s3.endpoint \(endpointText) is not a URL")
        }
        guard let accessKeyId = environment[s3.accessKeyIdEnv], !accessKeyId.isEmpty,
            let secret = environment[s3.secretAccessKeyEnv], !secret.isEmpty
        else {
            throw ArtifactError("code in S3 needs credentials: set \(s3.accessKeyIdEnv) and \(s3.secretAccessKeyEnv) in the gateway's environment")
        }
        let token = environment[s3.sessionTokenEnv].flatMap { $0.isEmpty ? nil : $0 }
        let signer = S3GetRequestSigner(
            credentials: .init(accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: token),
            region: region
        )
        return signer.sign(endpoint: endpoint, bucket: location.bucket, key: location.key, versionId: location.versionId, at: clock.now())
    }

    /// Downloads a zip to a file beside `staging` (bounded by `maxArchiveMiB`), then unpacks it into `staging`.
    private func fetchArchive(from url: String, headers: [(String, String)], displayName: String, into staging: String) async throws(ArtifactError) {
        let archive = staging + ".zip"
        defer { try? FileManager.default.removeItem(atPath: archive) }
        try await download(url, headers: headers, displayName: displayName, to: archive)
        try await ZipExtraction(maxBytes: maxUnpackedBytes, maxEntries: Self.maxEntries).extract(archive, to: staging)
    }

    private func download(_ url: String, headers: [(String, String)], displayName: String, to path: String) async throws(ArtifactError) {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw ArtifactError("cannot create \(path)")
        }
        defer { try? handle.close() }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let limit = maxArchiveBytes
        let deadline = NIODeadline.now() + .seconds(Int64(configuration.downloadTimeoutSeconds))
        do {
            let response = try await http.execute(request, deadline: deadline)
            guard response.status == .ok else {
                let detail = try? await response.body.collect(upTo: 2048)
                throw ArtifactError("fetching \(displayName) failed: HTTP \(response.status.code)\(Self.errorDetail(detail))")
            }
            if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > limit {
                throw ArtifactError("\(displayName) is \(length) bytes; artifacts.maxArchiveMiB allows \(configuration.maxArchiveMiB) MiB")
            }
            var received = 0
            for try await chunk in response.body {
                received += chunk.readableBytes
                guard received <= limit else {
                    throw ArtifactError("\(displayName) is larger than artifacts.maxArchiveMiB (\(configuration.maxArchiveMiB) MiB)")
                }
                try handle.write(contentsOf: Data(buffer: chunk))
            }
        } catch let error as ArtifactError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ArtifactError("fetching \(displayName) took longer than artifacts.downloadTimeoutSeconds (\(configuration.downloadTimeoutSeconds) s)")
        } catch {
            throw ArtifactError("fetching \(displayName) failed: \(Self.describe(error))")
        }
    }

    /// An S3-style `<Code>` from an error body, which is safe to show (it names no credential).
    private static func errorDetail(_ body: ByteBuffer?) -> String {
        guard let body, let text = body.getString(at: body.readerIndex, length: body.readableBytes),
            let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex)
        else { return "" }
        let code = text[start.upperBound..<end.lowerBound].filter { $0.isLetter || $0.isNumber }
        return code.isEmpty ? "" : " (\(code))"
    }

    /// A transport error without the URL it may carry.
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        let text = "\(error)"
        return text.contains("://") ? "connection failed" : text
    }
}

/// Unpacks a zip with Python's `zipfile` — which refuses members that would land outside the target and creates
/// no links — after checking the member count and the total unpacked size against the limits (zip bombs).
struct ZipExtraction {
    let maxBytes: Int
    let maxEntries: Int

    private static let script = """
        import sys, zipfile
        archive, target, max_bytes, max_entries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        try:
            with zipfile.ZipFile(archive) as z:
                members = z.infolist()
                if len(members) > max_entries:
                    sys.exit("the archive has %d members; at most %d" % (len(members), max_entries))
                total = sum(m.file_size for m in members)
                if total > max_bytes:
                    sys.exit("the archive unpacks to %d bytes; artifacts.maxUnpackedMiB allows %d" % (total, max_bytes))
                z.extractall(target)
        except zipfile.BadZipFile as error:
            sys.exit("not a zip file (%s)" % error)
        """

    func extract(_ archive: String, to directory: String) async throws(ArtifactError) {
        let outcome = try await ToolProcess.pythonScript(
            Self.script, arguments: [archive, directory, String(maxBytes), String(maxEntries)], timeout: .seconds(600), tailBytes: 300
        ).runStep()
        guard outcome.exitStatus == 0 else {
            let message = outcome.timedOut ? "it took longer than 10 minutes" : outcome.outputTail.replacingOccurrences(of: archive, with: "the archive")
            throw ArtifactError("cannot unpack the code: \(message)")
        }
        if !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        }
    }
}
