/// A command that ran but could not do its job (the gateway refused, the sign-in failed): printed as
/// `Error: …` with exit status 1, without the usage text argument errors get.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
