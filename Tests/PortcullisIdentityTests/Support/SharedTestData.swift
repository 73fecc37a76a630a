import Foundation
import PortcullisCore

/// The public conformance data in `../shared/testdata` beside the project (Wycheproof, the JOSE cookbook).
enum SharedTestData {
    /// The folder, found from this file's path: the package root holds `Package.swift`, `shared` sits beside it.
    static var directory: URL? {
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while folder.path != "/" {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
                let shared = folder.deletingLastPathComponent().appendingPathComponent("shared/testdata")
                return FileManager.default.fileExists(atPath: shared.path) ? shared : nil
            }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    static var isAvailable: Bool { directory != nil }

    /// A JSON file of the test data.
    static func json(_ relativePath: String) throws -> JSONValue {
        guard let directory else { throw TestDataMissing() }
        let data = try Data(contentsOf: directory.appendingPathComponent(relativePath))
        return try StrictJSON.parse(Array(data), maxDepth: 64)
    }

    struct TestDataMissing: Error {}
}

extension JSONValue {
    var intValue: Int? {
        if case .number(let value) = self { return Int(value) }
        return nil
    }
}

/// Bytes from a hexadecimal string, as Wycheproof writes messages and signatures.
func hexBytes(_ text: String) -> [UInt8] {
    Hex.decode(text) ?? []
}
