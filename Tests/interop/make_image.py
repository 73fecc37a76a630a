"""Builds a small container image without Docker, from this host's Python, for the container-image tests.

    make_image.py FORMAT OUTPUT [NAME]

FORMAT is `oci` (an OCI image layout directory, gzip layers), `oci-archive` (the same as a tar file) or
`docker-archive` (what `docker save` writes: manifest.json, uncompressed layer tars). NAME (default
`portcullis/agent:latest`) tags the image. Broken images for the failure tests: `oci-tampered` (a layer blob that
no longer matches its digest), `docker-traversal` (a layer entry named ../escaped), `docker-arm64` (an image for
another architecture).

Layer 1 is a base system: the host's python3.11 with its libraries and standard library, Debian's merged-/usr
links (/lib -> usr/lib), a file /app/stale.txt and a directory /opt/old with two files. Layer 2 adds the agent
(/app/agent.py, Tests/interop/image_agent.py), writes a library through the /lib link, deletes /app/stale.txt
with a whiteout and replaces /opt/old's contents with an opaque whiteout and one new file. The config sets
Entrypoint, Cmd, Env and WorkingDir /app, as a Dockerfile would."""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = {"test", "idlelib", "tkinter", "lib2to3", "ensurepip", "pydoc_data", "distutils", "site-packages", "dist-packages", "turtledemo"}


def add_bytes(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar, name, mode=0o755):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def add_link(tar, name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def add_file(tar, name, path):
    with open(path, "rb") as handle:
        add_bytes(tar, name, handle.read(), os.stat(path).st_mode & 0o777)


def shared_libraries():
    import subprocess
    output = subprocess.run(["ldd", "/usr/bin/python3.11"], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in output.splitlines():
        parts = line.split()
        candidate = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if candidate.startswith("/"):
            paths.append(os.path.realpath(candidate))
    return paths


def base_layer():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("usr", "usr/bin", "usr/lib", "usr/lib/x86_64-linux-gnu", "usr/lib64", "app", "opt", "opt/old", "etc"):
            add_dir(tar, directory)
        add_link(tar, "lib", "usr/lib")
        add_link(tar, "lib64", "usr/lib64")
        add_link(tar, "bin", "usr/bin")
        add_file(tar, "usr/bin/python3.11", "/usr/bin/python3.11")
        add_link(tar, "usr/bin/python3", "python3.11")
        for library in shared_libraries():
            if library.endswith("ld-linux-x86-64.so.2"):
                add_file(tar, "usr/lib64/ld-linux-x86-64.so.2", library)
            else:
                add_file(tar, "usr/lib/x86_64-linux-gnu/" + os.path.basename(library), library)
                # The names the loader asks for (libc.so.6) are links to the versioned files on some hosts.
        for soname in ("libc.so.6", "libm.so.6", "libz.so.1", "libexpat.so.1"):
            real = os.path.realpath("/lib/x86_64-linux-gnu/" + soname)
            if os.path.basename(real) != soname:
                add_link(tar, "usr/lib/x86_64-linux-gnu/" + soname, os.path.basename(real))
        stdlib = "/usr/lib/python3.11"
        for current, directories, files in os.walk(stdlib):
            directories[:] = sorted(d for d in directories if d not in SKIP and not d.startswith("config-"))
            relative = os.path.relpath(current, "/")
            add_dir(tar, relative)
            for file in sorted(files):
                path = os.path.join(current, file)
                if os.path.isfile(path) and not os.path.islink(path):
                    add_file(tar, os.path.join(relative, file), path)
        add_bytes(tar, "app/stale.txt", b"removed by the next layer\n")
        add_bytes(tar, "opt/old/one.txt", b"hidden by the opaque whiteout\n")
        add_bytes(tar, "opt/old/two.txt", b"hidden by the opaque whiteout\n")
        add_bytes(tar, "etc/os-release", b"NAME=portcullis-test-image\n")
    return buffer.getvalue()


def agent_layer():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_dir(tar, "app")
        with open(os.path.join(HERE, "image_agent.py"), "rb") as handle:
            add_bytes(tar, "app/agent.py", handle.read())
        add_bytes(tar, "app/.wh.stale.txt", b"")
        add_dir(tar, "opt/old")
        add_bytes(tar, "opt/old/.wh..wh..opq", b"")
        add_bytes(tar, "opt/old/new.txt", b"from the second layer\n")
        # Written through the /lib link of the first layer: must land in /usr/lib.
        add_bytes(tar, "lib/through-link.txt", b"resolved inside the image\n")
    return buffer.getvalue()


def config_blob(diff_ids, architecture="amd64"):
    return json.dumps({
        "architecture": architecture,
        "os": "linux",
        "config": {
            "Entrypoint": ["/usr/bin/python3"],
            "Cmd": ["agent.py"],
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "IMAGE_GREETING=hello from the image", "LANG=C.UTF-8"],
            "WorkingDir": "/app",
            "ExposedPorts": {"8080/tcp": {}},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }, sort_keys=True).encode()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_oci(directory, name, layers):
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs)
    def blob(data):
        digest = sha256(data)
        with open(os.path.join(blobs, digest), "wb") as handle:
            handle.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}
    compressed = [gzip.compress(layer, compresslevel=1, mtime=0) for layer in layers]
    config = blob(config_blob(["sha256:" + sha256(layer) for layer in layers]))
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [dict(blob(layer), mediaType="application/vnd.oci.image.layer.v1.tar+gzip") for layer in compressed],
    }).encode()
    descriptor = dict(blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json")
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1], "io.containerd.image.name": name}
    with open(os.path.join(directory, "index.json"), "w") as handle:
        json.dump({"schemaVersion": 2, "manifests": [descriptor]}, handle)
    with open(os.path.join(directory, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)


def write_docker(path, name, layers, architecture="amd64"):
    with tarfile.open(path, "w") as out:
        names = []
        for index, layer in enumerate(layers):
            layer_name = "%s/layer.tar" % sha256(layer)
            add_bytes(out, layer_name, layer)
            names.append(layer_name)
        config = config_blob(["sha256:" + sha256(layer) for layer in layers], architecture)
        config_name = sha256(config) + ".json"
        add_bytes(out, config_name, config)
        add_bytes(out, "manifest.json", json.dumps([{"Config": config_name, "RepoTags": [name], "Layers": names}]).encode())


def main():
    form, output = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "portcullis/agent:latest"
    if form == "docker-traversal":
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            add_bytes(tar, "../escaped", b"outside the root\n")
        write_docker(output, name, [buffer.getvalue()])
        return
    layers = [base_layer(), agent_layer()]
    if form == "oci-tampered":
        write_oci(output, name, layers)
        with open(os.path.join(output, "index.json")) as handle:
            manifest_digest = json.load(handle)["manifests"][0]["digest"].split(":")[1]
        with open(os.path.join(output, "blobs", "sha256", manifest_digest)) as handle:
            layer_digest = json.load(handle)["layers"][1]["digest"].split(":")[1]
        with open(os.path.join(output, "blobs", "sha256", layer_digest), "r+b") as handle:
            handle.seek(20)
            handle.write(b"tampered")
    elif form == "docker-arm64":
        write_docker(output, name, layers, architecture="arm64")
    elif form == "oci":
        write_oci(output, name, layers)
    elif form == "oci-archive":
        staging = output + ".layout"
        write_oci(staging, name, layers)
        with tarfile.open(output, "w") as out:
            for entry in sorted(os.listdir(staging)):
                out.add(os.path.join(staging, entry), arcname=entry)
        shutil.rmtree(staging)
    elif form == "docker-archive":
        write_docker(output, name, layers)
    else:
        sys.exit("FORMAT must be oci, oci-archive or docker-archive")


if __name__ == "__main__":
    main()
