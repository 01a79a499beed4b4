"""Every catalogue runtime has an image for the Kubernetes runner: a Dockerfile under runtimes/
and a bake target tagging the catalogue's image name."""

import re
from pathlib import Path

from sandpod.domain.runtimes import CATALOGUE

ROOT = Path(__file__).resolve().parents[3]
BAKE = ROOT / "docker-bake.hcl"
TAG = re.compile(r'"\$\{RUNTIME_TAG_PREFIX\}(sandpod-runtime-[a-z]+):([^"$]+|\$\{version\})"')
MATRIX = re.compile(r"matrix\s*=\s*\{\s*version\s*=\s*\[([^\]]*)\]")
DOCKERFILE = re.compile(r'dockerfile\s*=\s*"\.\./\.\./\.\./\.\./(runtimes/[a-z-]+/Dockerfile)"')


def baked_images() -> dict[str, Path]:
    """Image name -> Dockerfile, from each runtime target of docker-bake.hcl."""
    images: dict[str, Path] = {}
    for block in BAKE.read_text().split('\ntarget "')[1:]:
        dockerfile = DOCKERFILE.search(block)
        if dockerfile is None:
            continue
        matrix = MATRIX.search(block)
        versions = re.findall(r'"([^"]+)"', matrix.group(1)) if matrix else []
        for name, tag in TAG.findall(block):
            for version in versions if tag == "${version}" else [tag]:
                images[f"{name}:{version}"] = ROOT / dockerfile.group(1)
    return images


def test_every_catalogue_image_has_a_bake_target_and_a_dockerfile() -> None:
    images = baked_images()
    missing = [r.image for r in CATALOGUE if r.image not in images]
    assert not missing, f"no bake target tags {missing}: add one to docker-bake.hcl"
    for runtime in CATALOGUE:
        dockerfile = images[runtime.image]
        assert dockerfile.is_file(), dockerfile
        text = dockerfile.read_text()
        # The same framing entrypoint as every runtime image, as PID 1, not as root.
        assert 'ENTRYPOINT ["python3", "-I", "-S", "/opt/sandpod/entrypoint.py"]' in text
        assert "USER 65534:65534" in text


def test_every_runtime_target_is_in_the_runtimes_group() -> None:
    text = BAKE.read_text()
    group = re.search(r'group "runtimes" \{\s*targets = \[([^\]]*)\]', text)
    assert group is not None
    listed = set(re.findall(r'"([^"]+)"', group.group(1)))
    defined = set(re.findall(r'\ntarget "(runtime-[a-z0-9-]+)"', text))
    assert listed == defined
