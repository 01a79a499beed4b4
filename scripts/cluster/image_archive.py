"""Write a one-layer image as a `docker save` archive, which `ctr images import` reads.

Used for the local cluster's pause image, which must exist before any image build tool runs.

    python3 image_archive.py --name sandpod.local/pause:1 --file ./pause:/pause \
        --entrypoint /pause --output pause.tar
"""

import argparse
import hashlib
import io
import json
import tarfile


def layer(files: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for source, target in files:
            info = tar.gettarinfo(source, arcname=target.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with open(source, "rb") as handle:
                tar.addfile(info, handle)
    return buffer.getvalue()


def archive(name: str, files: list[tuple[str, str]], entrypoint: list[str]) -> bytes:
    blob = layer(files)
    diff_id = hashlib.sha256(blob).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": entrypoint, "User": "65535:65535"},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        }
    ).encode()
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    manifest = [{"Config": config_name, "RepoTags": [name], "Layers": [f"{diff_id}/layer.tar"]}]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, data in (
            (config_name, config),
            (f"{diff_id}/layer.tar", blob),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--file", action="append", required=True, help="SOURCE:PATH_IN_IMAGE")
    parser.add_argument("--entrypoint", action="append", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    files = [(source, target) for source, _, target in (s.partition(":") for s in args.file)]
    with open(args.output, "wb") as handle:
        handle.write(archive(args.name, files, args.entrypoint))


if __name__ == "__main__":
    main()
