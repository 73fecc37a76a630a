import Foundation
import Testing
@testable import Cedar

@Suite("Conformance: handwritten Cedar integration tests")
struct HandwrittenConformanceTests {
    @Test("all 22 files and 74 requests match")
    func handwritten() throws {
        let testsFolder = Conformance.dataRoot.appendingPathComponent("tests")
        let files = FileManager.default.enumerator(at: testsFolder, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }
            .filter { $0.pathExtension == "json" }
            .sorted { $0.path < $1.path }
        var tally = Conformance.Tally()
        for file in files {
            let name = String(file.path.dropFirst(testsFolder.path.count + 1))
            tally.add(try Conformance.run(testFile: file, name: name))
        }
        print(tally.summary("handwritten"))
        for mismatch in tally.mismatches { print("  mismatch: \(mismatch)") }
        #expect(tally.files == 22)
        #expect(tally.requests == 74)
        #expect(tally.mismatches.isEmpty)
        #expect(tally.requestsFailingValidation == 0)
    }
}
