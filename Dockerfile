# syntax=docker/dockerfile:1
# One image for Patchbay and its bundled plugins, running compiled JavaScript: a build stage compiles
# the SDK package and Patchbay (`npm run build`'s two steps), and the image holds only that output and
# the production dependencies. No type stripping at run time: that saves memory and start-up time.
#   docker build -t ghcr.io/patchbay/patchbay:0.1.0 .
#   patchbay:       node src/cli/main.js operator   (the default)
#   a plugin pod:   node plugins/<name>/main.js     (the resource sets command: ["node"] and the args)
ARG NODE_IMAGE=node:24-bookworm-slim
# Build-stage ARGs used in FROM lines must be declared before the first FROM.
ARG KUBECTL_IMAGE=registry.k8s.io/kubectl:v1.32.4

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY packages/sdk/package.json packages/sdk/tsconfig.json ./packages/sdk/
# Every dependency (TypeScript included), no install scripts: the `node` package is replaced by the
# base image's Node 24, and the SDK's `prepare` build needs its sources, copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages/sdk/src ./packages/sdk/src
COPY src ./src
COPY plugins ./plugins
# tsc run by the base image's node (npm scripts would put the uninstalled `node` package first on PATH).
RUN node node_modules/typescript/bin/tsc --build packages/sdk \
 && node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# The workspace's manifest, so that node_modules/@patchbay/sdk links to packages/sdk.
COPY packages/sdk/package.json ./packages/sdk/
# Production dependencies only, and no install scripts: package.json's allowScripts names only
# development tools (the `node` package, which the base image's Node 24 replaces, and buf).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# kubectl for the kubectl executor plugin, from the Kubernetes project's own image: no download step
# (Debian's kubernetes-client is 1.20, too old for today's clusters).
FROM ${KUBECTL_IMAGE} AS kubectl

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=kubectl /bin/kubectl /usr/local/bin/kubectl
# package.json: "type": "module" for the compiled files, and the version `patchbay version` prints.
COPY package.json ./
COPY packages/sdk/package.json ./packages/sdk/
COPY --from=build /app/packages/sdk/dist ./packages/sdk/dist
# The compiled tree keeps the source layout, so src/cli/main.js and plugins/<name>/main.js sit where
# their .ts sources sit in the repository.
COPY --from=build /app/dist/src ./src
COPY --from=build /app/dist/plugins ./plugins
# js-echo is plain JavaScript that loads the .proto files at run time.
COPY plugins/js-echo/main.mjs ./plugins/js-echo/
COPY proto ./proto
# The files stay owned by root and read-only to the process: nothing writes to the root filesystem
# (the Deployment mounts an emptyDir on /tmp). Numeric user so runAsNonRoot can verify it: the base
# image's "node" user is 1000:1000.
USER 1000:1000
# 8080 CloudEvents ingress and commands, 8081 /healthz /readyz /metrics, 50051 a plugin's gRPC port.
EXPOSE 8080 8081 50051
ENTRYPOINT ["node", "src/cli/main.js"]
CMD ["operator"]
