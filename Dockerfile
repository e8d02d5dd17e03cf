# syntax=docker/dockerfile:1
# source-s3: an Airbyte-protocol source for S3. Two stages: the first compiles TypeScript with every
# dependency, the second holds only production dependencies and the compiled code.
#
# BASE_IMAGE is an argument so that a locally made image can stand in for Docker Hub's where no
# registry is reachable (see scripts/container/make-base-image.sh). It must be Debian with Node 22
# on PATH, as node:22-bookworm-slim is.
ARG BASE_IMAGE=node:22-bookworm-slim

FROM ${BASE_IMAGE} AS build
# Behind a TLS-inspecting proxy, the path (in the base image) of a CA bundle npm must trust. Build
# stage only: the runtime image never trusts it.
ARG NODE_EXTRA_CA_CERTS=""
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json spec.json ./
COPY schemas ./schemas
COPY scripts/generate-types.mjs scripts/generate-validators.mjs ./scripts/
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find dist -name "*.map" -delete

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
# The connector's name and version; Airbyte's acceptance tests check them against metadata.yaml.
LABEL io.airbyte.name="source-s3" \
      io.airbyte.version="${VERSION}" \
      org.opencontainers.image.title="source-s3" \
      org.opencontainers.image.description="Airbyte-protocol source for Amazon S3 and S3-compatible stores" \
      org.opencontainers.image.licenses="MIT"

# A non-root user with a fixed id, so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --gid 10001 airbyte \
 && useradd --uid 10001 --gid airbyte --home-dir /home/airbyte --create-home --shell /usr/sbin/nologin airbyte \
 && mkdir -m 1777 /staging

WORKDIR /airbyte/integration_code
COPY --from=build /build/package.json ./package.json
COPY --from=build /build/spec.json ./spec.json
COPY --from=build /build/schemas ./schemas
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist

# Downloads are staged here. Mode 1777 so any uid (OpenShift, runAsUser) can stage; mount a volume
# (an emptyDir under Kubernetes) here for large files.
ENV NODE_ENV=production \
    SOURCE_S3_STAGING_DIR=/staging \
    AIRBYTE_ENTRYPOINT="node /airbyte/integration_code/dist/main.js"
USER 10001:10001
ENTRYPOINT ["node", "/airbyte/integration_code/dist/main.js"]
