/// A position in source text; lines and columns count from 1, columns in Unicode scalars.
public struct SourceLocation: Hashable, Sendable {
    /// The 1-based line.
    public let line: Int
    /// The 1-based column.
    public let column: Int
}
