/// Something wrong with a policy directory, located as precisely as it can be: `file:line:column: message`.
public struct PolicyProblem: Sendable, Equatable, CustomStringConvertible {
    /// The file, relative to the policy directory.
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return location + ": " + message
    }
}

/// A policy directory that cannot become the active set; the previous set, if any, stays in force.
public struct PolicyLoadFailure: Error, Sendable, CustomStringConvertible {
    public var problems: [PolicyProblem]

    public init(_ problems: [PolicyProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
