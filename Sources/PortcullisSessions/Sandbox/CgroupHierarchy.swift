import Foundation
import Glibc

/// The cgroup file systems of this host and where the gateway's own cgroups are in them.
///
/// Two layouts are supported. *Hybrid* (cgroup v1 controllers plus a v2 tree without controllers, as on these
/// machines): limits and memory accounting in v1 `memory`, `cpu` and `pids`, kill and CPU accounting through the v2
/// core files. *Unified* (cgroup v2 only): everything in v2, with the controllers enabled down to the gateway's tree.
struct CgroupHierarchy: Sendable, Equatable {
    enum Layout: Sendable, Equatable {
        case hybrid
        case unified
    }

    var layout: Layout
    /// The v2 directory under which session cgroups are made.
    var unifiedParent: String
    /// The v1 directories (per controller) under which session cgroups are made; empty when unified.
    var controllerParents: [String: String]

    static let v1Controllers = ["memory", "cpu", "pids"]

    /// Finds the layout from `/proc/self/cgroup` and the mounts under `root`.
    /// - Parameter instance: names this gateway's tree (`portcullis-<instance>`), so gateways sharing a host keep
    ///   their sessions apart and each removes only its own leftovers.
    static func detect(root: String = "/sys/fs/cgroup", instance: String) throws(SandboxError) -> CgroupHierarchy {
        let files = FileManager.default
        let membership = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        var ownPaths: [String: String] = [:]
        var unifiedPath = "/"
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1].isEmpty {
                unifiedPath = String(parts[2])
            } else {
                for controller in parts[1].split(separator: ",") { ownPaths[String(controller)] = String(parts[2]) }
            }
        }
        let treeName = "portcullis-\(instance)"
        if files.fileExists(atPath: "\(root)/cgroup.controllers") {
            // Unified: the gateway's own cgroup holds processes, so sessions go in a tree beside the root's children.
            return CgroupHierarchy(layout: .unified, unifiedParent: "\(root)/\(treeName)", controllerParents: [:])
        }
        let unifiedMount = "\(root)/unified"
        guard files.fileExists(atPath: "\(unifiedMount)/cgroup.procs") else {
            throw SandboxError(.unavailable, "no cgroup v2 tree at \(unifiedMount) (needed to kill and meter sessions)")
        }
        var parents: [String: String] = [:]
        for controller in v1Controllers {
            let mount = "\(root)/\(controller)"
            guard files.fileExists(atPath: "\(mount)/cgroup.procs"), let own = ownPaths[controller] else {
                throw SandboxError(.unavailable, "the cgroup v1 \(controller) controller is not mounted at \(mount)")
            }
            parents[controller] = Self.join(mount, own, treeName)
        }
        return CgroupHierarchy(layout: .hybrid, unifiedParent: Self.join(unifiedMount, unifiedPath, treeName), controllerParents: parents)
    }

    /// Creates the gateway's trees (and, when unified, enables the controllers on the way down).
    func prepare() throws(SandboxError) {
        do {
            switch layout {
            case .unified:
                let root = (unifiedParent as NSString).deletingLastPathComponent
                try Self.enableControllers(in: root)
                try FileManager.default.createDirectory(atPath: unifiedParent, withIntermediateDirectories: true)
                try Self.enableControllers(in: unifiedParent)
            case .hybrid:
                try FileManager.default.createDirectory(atPath: unifiedParent, withIntermediateDirectories: true)
                for parent in controllerParents.values {
                    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                }
            }
        } catch let error as SandboxError {
            throw error
        } catch {
            throw SandboxError(.unavailable, "cannot create the sandbox cgroups under \(unifiedParent): \(error.localizedDescription)")
        }
    }

    /// Removes the gateway's (empty) trees.
    func removeTree() {
        rmdir(unifiedParent)
        for parent in controllerParents.values { rmdir(parent) }
    }

    /// The session cgroups of `id`.
    func session(_ id: String) -> SessionCgroup {
        SessionCgroup(
            layout: layout,
            unified: "\(unifiedParent)/\(id)",
            controllers: controllerParents.mapValues { "\($0)/\(id)" }
        )
    }

    /// Ids of session cgroups that exist now (left by an earlier run when called at start-up).
    func existingSessions() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: unifiedParent)) ?? []
        var ids = Set(entries.filter { Self.isSessionDirectory("\(unifiedParent)/\($0)") })
        for parent in controllerParents.values {
            let more = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            ids.formUnion(more.filter { Self.isSessionDirectory("\(parent)/\($0)") })
        }
        return ids.sorted()
    }

    private static func isSessionDirectory(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(path)/cgroup.procs")
    }

    private static func enableControllers(in directory: String) throws {
        let wanted = ["memory", "cpu", "pids"]
        let available = ((try? String(contentsOfFile: "\(directory)/cgroup.controllers", encoding: .utf8)) ?? "").split(separator: " ")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        for controller in wanted where !available.contains(controller) {
            throw SandboxError(.unavailable, "the cgroup v2 \(controller) controller is not available in \(directory)")
        }
        try CgroupFile.write(wanted.map { "+\($0)" }.joined(separator: " "), to: "\(directory)/cgroup.subtree_control")
    }

    private static func join(_ mount: String, _ path: String, _ name: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        return mount + trimmed + "/" + name
    }
}
