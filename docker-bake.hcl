# Image builds: `make docker-build` runs `docker buildx bake --load` on the default group.
#
#   base            backend/Dockerfile.base: Python, build tools, uv, the locked dependencies
#   backend         backend/Dockerfile: FROM base (as a bake context) plus the application code
#                   and the built web page (make web-build, which make docker-build runs first)
#   cert-generator  cert-generator/Dockerfile: CA, API certificate, the backend's kubeconfig
#
# In GitHub Actions, CACHE_BACKEND=gha and BRANCH=<branch> turn on the Actions cache: each
# target reads its branch's scope, then main's, and writes its branch's scope.

variable "REGISTRY" {
  default = "sandpod"
}

variable "TAG" {
  default = "dev"
}

variable "PYTHON_IMAGE" {
  default = "python:3.12-slim"
}

# Empty: backend builds FROM the base target of the same bake run (a bake context). An image
# name: backend builds FROM that existing image instead (a published base, or an engine whose
# BuildKit predates named contexts, as in `make docker-smoke`).
variable "BASE_IMAGE" {
  default = ""
}

# "gha" in GitHub Actions (the runtime token must be exposed to the step); empty: no cache.
variable "CACHE_BACKEND" {
  default = ""
}

variable "BRANCH" {
  default = "main"
}

# Branch names may hold characters a cache scope does not take.
function "scope" {
  params = [target, branch]
  result = "${target}-${regex_replace(branch, "[^A-Za-z0-9_.-]", "-")}"
}

function "cache_from" {
  params = [target]
  result = CACHE_BACKEND == "gha" ? distinct([
    "type=gha,scope=${scope(target, BRANCH)}",
    "type=gha,scope=${scope(target, "main")}",
  ]) : []
}

function "cache_to" {
  params = [target]
  result = CACHE_BACKEND == "gha" ? ["type=gha,mode=max,scope=${scope(target, BRANCH)}"] : []
}

group "default" {
  targets = ["base", "backend", "cert-generator"]
}

target "base" {
  context    = "backend"
  dockerfile = "Dockerfile.base"
  args = {
    PYTHON_IMAGE = PYTHON_IMAGE
  }
  tags       = ["${REGISTRY}/base:${TAG}"]
  cache-from = cache_from("base")
  cache-to   = cache_to("base")
}

target "backend" {
  context    = "backend"
  dockerfile = "Dockerfile"
  contexts = BASE_IMAGE == "" ? { base = "target:base" } : {}
  args = {
    BASE_IMAGE = BASE_IMAGE == "" ? "base" : BASE_IMAGE
  }
  tags       = ["${REGISTRY}/backend:${TAG}"]
  cache-from = cache_from("backend")
  cache-to   = cache_to("backend")
}

target "cert-generator" {
  context    = "cert-generator"
  dockerfile = "Dockerfile"
  tags       = ["${REGISTRY}/cert-generator:${TAG}"]
  cache-from = cache_from("cert-generator")
  cache-to   = cache_to("cert-generator")
}

# ---------------------------------------------------------------- runtime images (Kubernetes runner)
# One image per runtime of the catalogue (backend/sandpod/domain/catalogue.toml: `image`), from
# runtimes/<language>/Dockerfile; the context is the kubernetes adapter folder (entrypoint.py).
# `docker buildx bake runtimes --load` builds them all; a unit test checks every catalogue image
# has its target here. RUNTIME_TAG_PREFIX empty keeps the catalogue's names (sandpod-runtime-...).

variable "RUNTIME_TAG_PREFIX" {
  default = ""
}

# false where the builder's BuildKit predates named contexts (older than v0.10: the docker
# driver on Debian's docker.io 20.10, scripts/bake.sh): `COPY --from=lock` then reads an image
# named lock, which the caller makes from the runtime folder's lock files.
variable "NAMED_CONTEXTS" {
  default = true
}

group "runtimes" {
  targets = [
    "runtime-python", "runtime-python-data", "runtime-node", "runtime-typescript", "runtime-bash",
    "runtime-ruby", "runtime-c", "runtime-go", "runtime-rust", "runtime-java", "runtime-java-25",
  ]
}

target "_runtime" {
  context = "backend/sandpod/adapters/kubernetes"
}

target "runtime-python" {
  inherits   = ["_runtime"]
  name       = "runtime-python-${replace(version, ".", "-")}"
  matrix     = { version = ["3.11", "3.12", "3.13"] }
  dockerfile = "../../../../runtimes/python/Dockerfile"
  args       = { PYTHON_VERSION = version }
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-python:${version}"]
}

target "runtime-python-data" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/python-data/Dockerfile"
  contexts   = NAMED_CONTEXTS ? { lock = "runtimes/python-data" } : {}
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-python:3.12-data"]
}

target "runtime-node" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/node/Dockerfile"
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-node:20"]
}

target "runtime-typescript" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/typescript/Dockerfile"
  contexts   = NAMED_CONTEXTS ? { lock = "runtimes/typescript" } : {}
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-typescript:5"]
}

target "runtime-bash" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/bash/Dockerfile"
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-bash:5"]
}

target "runtime-ruby" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/ruby/Dockerfile"
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-ruby:3"]
}

target "runtime-c" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/c/Dockerfile"
  tags = [
    "${RUNTIME_TAG_PREFIX}sandpod-runtime-c:gcc-12",
    "${RUNTIME_TAG_PREFIX}sandpod-runtime-cpp:gcc-12",
  ]
}

target "runtime-go" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/go/Dockerfile"
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-go:1.26"]
}

target "runtime-rust" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/rust/Dockerfile"
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-rust:1"]
}

target "runtime-java" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/java/Dockerfile"
  args       = { JAVA_VERSION = "17" }
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-java:17"]
}

target "runtime-java-25" {
  inherits   = ["_runtime"]
  dockerfile = "../../../../runtimes/java/Dockerfile"
  args       = { JAVA_VERSION = "25" }
  tags       = ["${RUNTIME_TAG_PREFIX}sandpod-runtime-java:25"]
}
