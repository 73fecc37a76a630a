import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import PortcullisCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A request body read in full, with its SHA-256, before the request may go on: AWS Signature V4 signs the body's
/// hash, so nothing may reach an agent before the whole body has been checked against it.
///
/// Up to `memoryLimit` bytes stay in memory. A larger body goes to a temporary file that is unlinked the moment it
/// is created, so the bytes are never visible on disk by name and nothing is left behind whatever happens to the
/// process; the file goes away when the body is released.
final class SpooledRequestBody: Sendable {
    enum Storage: Sendable {
        case memory(ByteBuffer)
        case file(SpoolFile)
    }

    let storage: Storage
    let length: Int
    /// Lowercase hex.
    let sha256: String

    private init(storage: Storage, length: Int, sha256: String) {
        self.storage = storage
        self.length = length
        self.sha256 = sha256
    }

    /// Reads `body` whole.
    /// - Throws: `PayloadTooLargeException` past `limit`; `InternalServerException` when the spool file fails.
    static func read(_ body: RequestBody, limit: Int, memoryLimit: Int = 1 << 20) async throws -> SpooledRequestBody {
        var hasher = SHA256()
        var memory = ByteBuffer()
        var file: SpoolFile?
        var length = 0
        for try await chunk in body {
            length += chunk.readableBytes
            guard length <= limit else { throw RequestBodyTooLarge(limit: limit).error }
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            if let file {
                try await file.append(chunk)
            } else if memory.readableBytes + chunk.readableBytes > memoryLimit {
                let spool = try SpoolFile.create()
                try await spool.append(memory)
                try await spool.append(chunk)
                memory = ByteBuffer()
                file = spool
            } else {
                memory.writeImmutableBuffer(chunk)
            }
        }
        let digest = Hex.encode(hasher.finalize())
        if let file {
            return SpooledRequestBody(storage: .file(file), length: length, sha256: digest)
        }
        return SpooledRequestBody(storage: .memory(memory), length: length, sha256: digest)
    }

    /// The body for the upstream client: bytes in one write, or the file streamed in chunks.
    var upstreamBody: UpstreamClient.Body {
        switch storage {
        case .memory(let buffer): .bytes(buffer)
        case .file(let file): .spooled(SpoolFile.Chunks(file: file, length: length))
        }
    }
}

/// An anonymous temporary file (created and unlinked at once) read and written at offsets on NIO's thread pool.
final class SpoolFile: Sendable {
    let descriptor: CInt
    private let written = Mutex(0)

    private init(descriptor: CInt) {
        self.descriptor = descriptor
    }

    deinit {
        _ = Glibc.close(descriptor)
    }

    static func create() throws -> SpoolFile {
        var template = Array((NSTemporaryDirectory() + "/portcullis-spool-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw AgentCoreError(.internalServer, "The request body could not be buffered") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return SpoolFile(descriptor: descriptor)
    }

    func append(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        let offset = written.withLock { value -> Int in
            defer { value += buffer.readableBytes }
            return value
        }
        let descriptor = self.descriptor
        try await NIOThreadPool.singleton.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                var done = 0
                while done < bytes.count {
                    let result = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                    guard result > 0 else { throw AgentCoreError(.internalServer, "The request body could not be buffered") }
                    done += result
                }
            }
        }
    }

    func read(at offset: Int, count: Int) async throws -> ByteBuffer {
        let descriptor = self.descriptor
        return try await NIOThreadPool.singleton.runIfActive {
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let result = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
                pread(descriptor, bytes.baseAddress!, count, off_t(offset))
            }
            guard result == count else { throw AgentCoreError(.internalServer, "The buffered request body could not be read") }
            return buffer
        }
    }

    /// The file's bytes in chunks, for streaming to an agent.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        static let chunkSize = 128 * 1024

        let file: SpoolFile
        let length: Int

        struct AsyncIterator: AsyncIteratorProtocol {
            let file: SpoolFile
            let length: Int
            var offset = 0

            mutating func next() async throws -> ByteBuffer? {
                guard offset < length else { return nil }
                let count = Swift.min(Chunks.chunkSize, length - offset)
                let chunk = try await file.read(at: offset, count: count)
                offset += count
                return chunk
            }
        }

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(file: file, length: length)
        }
    }
}
