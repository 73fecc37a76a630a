import Foundation
import PortcullisCore

/// Unpacks a container image — an OCI image layout (directory or tar) or a `docker save` archive — into a root
/// directory the sandboxes show read-only, without a container engine. Python's `tarfile` reads the layers; the
/// script applies them in order with their whiteouts (`.wh.NAME` removes what lower layers put there,
/// `.wh..wh..opq` empties a directory), and:
/// - verifies every OCI blob against its digest, and picks the host's platform from a multi-platform index,
/// - never writes outside the root: `..` is refused and symbolic links met on the way are resolved inside the root
///   (an absolute link is taken from the root, not the host), files are created with `O_NOFOLLOW`/`O_EXCL`,
/// - makes files root's and readable by the sandbox users (others get read, and execute where the owner had it),
///   drops set-uid/set-gid bits, device nodes and FIFOs,
/// - bounds the unpacked bytes and the number of entries,
/// - makes the mount points the sandbox needs real directories and files (`/proc`, `/dev`, `/tmp`, `/etc/passwd`,
///   the home, the working directory), so mounts land inside the root,
/// and writes the parts of the image config the sandbox uses to `image.json` (``ImageSummary``).
struct ImageUnpacking {
    let maxBytes: Int
    let maxEntries: Int

    /// Unpacks `source` (a directory or a tar file) into `staging` (which must exist and be empty): `rootfs/` and
    /// `image.json`. `reference` picks one image from a file holding several.
    func unpack(_ source: String, reference: String?, into staging: String) async throws(ArtifactError) {
        let outcome = try await ToolProcess.pythonScript(
            Self.script,
            arguments: [source, staging, String(maxBytes), String(maxEntries), reference ?? "", Self.architecture],
            timeout: .seconds(900),
            tailBytes: 400
        ).runStep()
        guard outcome.exitStatus == 0 else {
            let message = outcome.timedOut ? "it took longer than 15 minutes" : outcome.outputTail.replacingOccurrences(of: source, with: "the image")
            throw ArtifactError("bad image: \(message)")
        }
    }

    /// The OCI name of this machine's architecture.
    static var architecture: String {
        #if arch(x86_64)
            "amd64"
        #elseif arch(arm64)
            "arm64"
        #else
            "unknown"
        #endif
    }

    private static let script = #"""
        import errno, hashlib, io, json, os, stat, sys, tarfile

        source, staging, max_bytes, max_entries, reference, arch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]

        class Refused(Exception):
            pass

        class Directory:
            def __init__(self, path):
                self.path = path
            def exists(self, name):
                return os.path.isfile(os.path.join(self.path, name))
            def open(self, name):
                path = os.path.realpath(os.path.join(self.path, name))
                if not path.startswith(os.path.realpath(self.path) + os.sep):
                    raise Refused("%s points outside the image" % name)
                return open(path, "rb")

        class Archive:
            def __init__(self, path):
                try:
                    self.tar = tarfile.open(path, "r:*")
                except (tarfile.TarError, OSError) as error:
                    raise Refused("not a tar archive or an OCI layout directory (%s)" % error)
                self.members = {}
                for member in self.tar.getmembers():
                    if member.isfile():
                        self.members[os.path.normpath(member.name.lstrip("/")).removeprefix("./")] = member
            def exists(self, name):
                return os.path.normpath(name) in self.members
            def open(self, name):
                member = self.members.get(os.path.normpath(name))
                if member is None:
                    raise Refused("the image has no %s" % name)
                return self.tar.extractfile(member)

        def read_json(store, name, limit=4 << 20):
            with store.open(name) as handle:
                data = handle.read(limit + 1)
            if len(data) > limit:
                raise Refused("%s is larger than %d bytes" % (name, limit))
            try:
                return json.loads(data)
            except ValueError:
                raise Refused("%s is not JSON" % name)

        def matches(candidate, wanted):
            if candidate is None:
                return False
            name, _, tag = candidate.rpartition(":") if ":" in candidate.rsplit("/", 1)[-1] else (candidate, "", "")
            return wanted in (candidate, tag, name, name.rsplit("/", 1)[-1])

        def choose(entries, names, what):
            if reference:
                chosen = [entry for entry, entry_names in zip(entries, names) if any(matches(n, reference) for n in entry_names)]
                if len(chosen) != 1:
                    known = sorted({n for entry_names in names for n in entry_names if n})
                    raise Refused("the %s holds %s image named %r (it has: %s)" % (what, "no" if not chosen else "more than one", reference, ", ".join(known) or "no names"))
                return chosen[0]
            if len(entries) != 1:
                known = sorted({n for entry_names in names for n in entry_names if n})
                raise Refused("the %s holds %d images; name one after a colon (%s)" % (what, len(entries), ", ".join(known) or "they have no names"))
            return entries[0]

        def blob_name(digest):
            algorithm, _, encoded = digest.partition(":")
            if algorithm != "sha256" or len(encoded) != 64 or any(c not in "0123456789abcdef" for c in encoded):
                raise Refused("unsupported digest %r" % digest)
            return "blobs/sha256/" + encoded

        def verified(store, digest):
            name = blob_name(digest)
            hasher = hashlib.sha256()
            with store.open(name) as handle:
                while chunk := handle.read(1 << 20):
                    hasher.update(chunk)
            if "sha256:" + hasher.hexdigest() != digest:
                raise Refused("blob %s does not match its digest" % digest)
            return name

        INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}

        def oci_image(store):
            index = read_json(store, "index.json")
            manifests = index.get("manifests") or []
            annotations = [[(m.get("annotations") or {}).get(k) for k in ("org.opencontainers.image.ref.name", "io.containerd.image.name")] for m in manifests]
            descriptor = choose(manifests, annotations, "OCI layout")
            manifest = read_json(store, verified(store, descriptor["digest"]))
            if descriptor.get("mediaType") in INDEX_TYPES or manifest.get("mediaType") in INDEX_TYPES:
                candidates = [m for m in manifest.get("manifests") or [] if (m.get("platform") or {}).get("os") == "linux" and (m.get("platform") or {}).get("architecture") == arch]
                if not candidates:
                    raise Refused("the image has no linux/%s variant" % arch)
                manifest = read_json(store, verified(store, candidates[0]["digest"]))
            config = read_json(store, verified(store, manifest["config"]["digest"]))
            layers = []
            for layer in manifest.get("layers") or []:
                media = layer.get("mediaType", "")
                if "zstd" in media:
                    raise Refused("zstd-compressed layers are not supported; save the image with gzip layers")
                if "nondistributable" in media or layer.get("urls"):
                    raise Refused("the image has a foreign layer it does not carry")
                layers.append(verified(store, layer["digest"]))
            return config, layers

        def docker_image(store):
            manifest = read_json(store, "manifest.json")
            if not isinstance(manifest, list) or not manifest:
                raise Refused("manifest.json lists no image")
            entry = choose(manifest, [entry.get("RepoTags") or [] for entry in manifest], "docker archive")
            return read_json(store, entry["Config"]), entry.get("Layers") or []

        written = 0
        entries = 0
        os.mkdir(staging + "/rootfs", 0o755)
        root = os.open(staging + "/rootfs", os.O_RDONLY | os.O_DIRECTORY)

        def components(name):
            parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
            if ".." in parts:
                raise Refused("the image has a path with '..': %s" % name[:200])
            return parts

        def remove_at(parent, name):
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                return
            if stat.S_ISDIR(info.st_mode):
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
                try:
                    for entry in os.listdir(child):
                        remove_at(child, entry)
                finally:
                    os.close(child)
                os.rmdir(name, dir_fd=parent)
            else:
                os.unlink(name, dir_fd=parent)

        def open_directory(parts, create=True, hops=0):
            """The directory at parts below the root, resolving symbolic links inside the root (never out of it)."""
            fd = os.dup(root)
            done = []
            queue = list(parts)
            while queue:
                part = queue.pop(0)
                try:
                    info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    os.mkdir(part, 0o755, dir_fd=fd)
                    info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    hops += 1
                    if hops > 40:
                        raise Refused("too many symbolic links below /%s" % "/".join(done))
                    link = os.readlink(part, dir_fd=fd)
                    base = [] if link.startswith("/") else done
                    resolved = []
                    for piece in base + [p for p in link.split("/") if p not in ("", ".")]:
                        if piece == "..":
                            if resolved:
                                resolved.pop()
                        else:
                            resolved.append(piece)
                    os.close(fd)
                    fd = os.dup(root)
                    queue = resolved + queue
                    done = []
                    continue
                if not stat.S_ISDIR(info.st_mode):
                    if not create:
                        os.close(fd)
                        return None
                    os.unlink(part, dir_fd=fd)
                    os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = child
                done.append(part)
            return fd

        def readable(mode, executable_default=False):
            mode &= 0o777
            mode |= 0o644
            if mode & 0o100 or executable_default:
                mode |= 0o111
            return mode & 0o755

        def apply_layer(store, name):
            global written, entries
            try:
                layer = tarfile.open(fileobj=store.open(name), mode="r:*")
                members = layer.getmembers()
            except (tarfile.TarError, OSError, EOFError) as error:
                raise Refused("layer %s is not a readable tar (%s)" % (name, error))
            entries += len(members)
            if entries > max_entries:
                raise Refused("the image has more than %d files" % max_entries)
            # Whiteouts hide what lower layers put there, so they go first; this layer's own entries then stay.
            for member in members:
                parts = components(member.name)
                if not parts or not parts[-1].startswith(".wh."):
                    continue
                parent = open_directory(parts[:-1], create=False)
                if parent is None:
                    continue
                try:
                    if parts[-1] == ".wh..wh..opq":
                        for entry in os.listdir(parent):
                            remove_at(parent, entry)
                    else:
                        remove_at(parent, parts[-1][len(".wh."):])
                finally:
                    os.close(parent)
            for member in members:
                parts = components(member.name)
                if not parts or parts[-1].startswith(".wh."):
                    continue
                parent = open_directory(parts[:-1])
                leaf = parts[-1]
                try:
                    if member.isdir():
                        info = None
                        try:
                            info = os.stat(leaf, dir_fd=parent, follow_symlinks=False)
                        except FileNotFoundError:
                            pass
                        if info is not None and not stat.S_ISDIR(info.st_mode):
                            remove_at(parent, leaf)
                            info = None
                        if info is None:
                            os.mkdir(leaf, 0o755, dir_fd=parent)
                        child = os.open(leaf, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
                        os.fchmod(child, 0o755)
                        os.close(child)
                    elif member.isreg():
                        written += member.size
                        if written > max_bytes:
                            raise Refused("the image unpacks to more than %d bytes; artifacts.maxUnpackedMiB bounds it" % max_bytes)
                        remove_at(parent, leaf)
                        out = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=parent)
                        try:
                            data = layer.extractfile(member)
                            while chunk := data.read(1 << 20):
                                os.write(out, chunk)
                            os.fchmod(out, readable(member.mode))
                        finally:
                            os.close(out)
                    elif member.issym():
                        remove_at(parent, leaf)
                        os.symlink(member.linkname, leaf, dir_fd=parent)
                    elif member.islnk():
                        target_parts = components(member.linkname)
                        if not target_parts:
                            raise Refused("hard link %s names the root" % member.name)
                        source_parent = open_directory(target_parts[:-1], create=False)
                        if source_parent is None:
                            raise Refused("hard link %s names %s, which the image does not have" % (member.name, member.linkname))
                        try:
                            remove_at(parent, leaf)
                            os.link(target_parts[-1], leaf, src_dir_fd=source_parent, dst_dir_fd=parent, follow_symlinks=False)
                        finally:
                            os.close(source_parent)
                    # Device nodes and FIFOs are not carried over: the sandbox has its own /dev.
                finally:
                    os.close(parent)

        def ensure(path, directory):
            """A mount point the sandbox needs, made a real directory or file (never a link) so mounts land inside."""
            parts = components(path)
            parent = open_directory(parts[:-1])
            try:
                try:
                    info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
                    wrong = stat.S_ISDIR(info.st_mode) != directory or stat.S_ISLNK(info.st_mode)
                except FileNotFoundError:
                    info, wrong = None, True
                if wrong:
                    if info is not None:
                        remove_at(parent, parts[-1])
                    if directory:
                        os.mkdir(parts[-1], 0o755, dir_fd=parent)
                    else:
                        os.close(os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=parent))
            finally:
                os.close(parent)

        def resolved_path(path):
            """path inside the root with its links resolved, as the sandbox will see it."""
            fd = open_directory(components(path))
            try:
                real = os.readlink("/proc/self/fd/%d" % fd)
            finally:
                os.close(fd)
            base = os.readlink("/proc/self/fd/%d" % root)
            return "/" + os.path.relpath(real, base).removeprefix(".")

        try:
            store = Directory(source) if os.path.isdir(source) else Archive(source)
            if store.exists("index.json"):
                config, layers = oci_image(store)
            elif store.exists("manifest.json"):
                config, layers = docker_image(store)
            else:
                raise Refused("neither an OCI image layout (index.json) nor a docker save archive (manifest.json)")
            if config.get("os", "linux") != "linux" or config.get("architecture", arch) != arch:
                raise Refused("the image is for %s/%s; this host runs linux/%s" % (config.get("os"), config.get("architecture"), arch))
            for layer in layers:
                apply_layer(store, layer)
            settings = config.get("config") or {}
            working = settings.get("WorkingDir") or "/"
            if not working.startswith("/"):
                raise Refused("the image's WorkingDir %r is not absolute" % working)
            for directory in ("proc", "dev", "tmp", "etc", "home/agent"):
                ensure(directory, True)
            for file in ("etc/passwd", "etc/group", "etc/hosts"):
                ensure(file, False)
            if working != "/":
                ensure(working, True)
            working = resolved_path(working)
            command = (settings.get("Entrypoint") or []) + (settings.get("Cmd") or [])
            if not command:
                raise Refused("the image names no Entrypoint or Cmd to run")
            summary = {
                "command": command,
                "environment": [e for e in settings.get("Env") or [] if isinstance(e, str) and "=" in e],
                "workingDirectory": working,
                "user": settings.get("User") or "",
                "exposedPorts": sorted((settings.get("ExposedPorts") or {}).keys()),
            }
            with open(staging + "/image.json", "x") as out:
                json.dump(summary, out)
        except Refused as error:
            sys.exit(str(error))
        except KeyError as error:
            sys.exit("the image's metadata lacks %s" % error)
        except OSError as error:
            sys.exit("cannot unpack the image: %s" % error.strerror)
        """#
}

/// What the sandbox takes from an unpacked image's config: `Entrypoint` + `Cmd`, `Env`, `WorkingDir` (with its
/// links resolved inside the image). The image's `User` is not used: every session runs as a uid of its own.
struct ImageSummary: Sendable, Equatable, Decodable {
    var command: [String]
    var environment: [String]
    var workingDirectory: String
    var user: String
    var exposedPorts: [String]

    var environmentVariables: [String: String] {
        var variables: [String: String] = [:]
        for entry in environment {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            variables[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return variables
    }

    static func read(from imageDirectory: String) -> ImageSummary? {
        guard let data = FileManager.default.contents(atPath: imageDirectory + "/image.json") else { return nil }
        return try? JSONDecoder().decode(ImageSummary.self, from: data)
    }
}
