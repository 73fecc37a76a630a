import Foundation

/// What one session's VM is told at boot, as the files `/session/settings` and `/session/run` the guest's `/init`
/// reads (see `scripts/microvm-guest-init`): the size of its memory-backed writable directories, its host name,
/// the gateway services to forward to its loopback, the control port of a VM to be snapshotted, and the agent's
/// environment, working directory and command.
struct GuestSession: Sendable {
    var hostname: String
    var writableBytes: Int
    var forwardedPorts: [Int]
    /// Where a VM restored from this one's snapshot takes its randomness, name and clock
    /// (`scripts/microvm-guest-reseed`), and the token the gateway's lines carry; `nil` for a VM not snapshotted.
    var control: (port: Int, token: String)?
    var environment: [String: String]
    var workingDirectory: String
    var command: [String]
    /// The agent user's processes at most (`RLIMIT_NPROC`, counted over every process of uid 1000).
    var maxProcesses: Int

    /// The archive to append to the guest's initramfs.
    func archive() -> [UInt8] {
        var archive = InitramfsArchive()
        archive.directory("session", mode: 0o700)
        archive.file("session/settings", contents: Array(settings.utf8))
        archive.file("session/run", contents: Array(runScript.utf8))
        return archive.finished()
    }

    var settings: String {
        var lines = [
            "WRITABLE_BYTES=\(writableBytes)",
            "GUEST_HOSTNAME=\(Self.quoted(hostname))",
            "FORWARD_PORTS=\(Self.quoted(forwardedPorts.map(String.init).joined(separator: " ")))",
        ]
        if let control { lines += ["CONTROL_PORT=\(control.port)", "CONTROL_TOKEN=\(Self.quoted(control.token))"] }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Enters the working directory, limits the processes and becomes the unprivileged `agent` user (uid 1000),
    /// without a way back to root (`no_new_privs`); only then, as the agent, exports the environment and runs the
    /// command. Root's part names its programs by path and runs with init's environment alone, so nothing the
    /// agent's environment says (`PATH`, `LD_PRELOAD`) reaches a process running as root; and the command is inside
    /// `su`'s `-c` script, so none of its words (`python -m app`) can be taken for an option of `su`.
    var runScript: String {
        var agentScript = environment.sorted { $0.key < $1.key }.map { "export \($0.key)=\(Self.quoted($0.value))" }
        agentScript.append("exec " + command.map(Self.quoted).joined(separator: " "))
        return [
            "cd \(Self.quoted(workingDirectory)) || exit 1",
            "ulimit -u \(maxProcesses) || exit 1",
            "exec /bin/setpriv --nnp /bin/su -p -s /bin/sh agent -c \(Self.quoted(agentScript.joined(separator: "\n")))",
        ].joined(separator: "\n") + "\n"
    }

    /// `text` as one single-quoted shell word.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Whether `name` can be exported by a POSIX shell.
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}
