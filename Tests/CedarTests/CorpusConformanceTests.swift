import Foundation
import PortcullisCore
import Testing
@testable import Cedar

/// Requests or files whose expected result we knowingly do not reproduce, keyed by
/// `file#description` (`file#shouldValidate` for the validation verdict), with the reason.
private let knownMismatches: [String: String] = [:]

@Suite("Conformance: generated Cedar corpus")
struct CorpusConformanceTests {
    /// Unpacks `corpus-tests.tar.gz` under `.build/cedar-corpus` once; later runs reuse it.
    static func corpusRoot() throws -> URL {
        let root = Conformance.packageRoot.appendingPathComponent(".build/cedar-corpus")
        let marker = root.appendingPathComponent(".unpacked")
        if FileManager.default.fileExists(atPath: marker.path) { return root }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let tar = try ChildProcess(
            executable: "/usr/bin/tar",
            arguments: ["-xzf", Conformance.dataRoot.appendingPathComponent("corpus-tests.tar.gz").path, "-C", root.path],
            environment: ["PATH": "/usr/bin:/bin"],
            descriptors: [0: devNull, 1: devNull, 2: devNull]
        )
        guard tar.waitForExit(timeout: .seconds(300)), let status = tar.poll(), status == 0 else {
            tar.stop(grace: .zero)
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "tar did not unpack the corpus: \(tar.poll().map(ChildProcess.describe) ?? "still running")"])
        }
        try Data().write(to: marker)
        return root
    }

    @Test("all 7,809 files and 62,472 requests match")
    func corpus() async throws {
        let root = try Self.corpusRoot()
        let folder = root.appendingPathComponent("corpus-tests")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".entities.json") }
            .sorted()
        let workers = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let tally = try await withThrowingTaskGroup(of: Conformance.Tally.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var partial = Conformance.Tally()
                    for index in stride(from: worker, to: files.count, by: workers) {
                        let file = files[index]
                        do {
                            partial.add(try Conformance.run(testFile: folder.appendingPathComponent(file), name: file, root: root))
                        } catch {
                            partial.mismatches.append(Conformance.Mismatch(file: file, request: "setup", detail: "\(error)"))
                        }
                    }
                    return partial
                }
            }
            var total = Conformance.Tally()
            for try await partial in group { total.add(partial) }
            return total
        }
        print(tally.summary("corpus"))
        let unexpected = tally.mismatches.filter { knownMismatches[$0.key] == nil }
        for mismatch in unexpected.sorted(by: { $0.key < $1.key }).prefix(60) { print("  mismatch: \(mismatch)") }
        for mismatch in tally.mismatches where knownMismatches[mismatch.key] != nil {
            print("  known mismatch: \(mismatch) — \(knownMismatches[mismatch.key]!)")
        }
        #expect(tally.files == 7_809)
        #expect(tally.requests == 62_472)
        #expect(unexpected.count == 0, "unexpected mismatches; see the printed list")
    }
}
