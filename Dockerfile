# syntax=docker/dockerfile:1
# One image for Patchbay and its bundled plugins. Node 24 runs the TypeScript sources directly (type
# stripping), so there is no build step: the image holds the sources and production dependencies.
#   docker build -t ghcr.io/patchbay/patchbay:0.1.0 .
#   patchbay:       node src/cli/main.ts operator   (the default)
#   a plugin pod:   node plugins/<name>/main.ts     (the resource sets command: ["node"] and the args)
ARG NODE_IMAGE=node:24-bookworm-slim
# Build-stage ARGs used in FROM lines must be declared before the first FROM.
ARG KUBECTL_IMAGE=registry.k8s.io/kubectl:v1.32.4

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
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
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY src ./src
COPY plugins ./plugins
# The files stay owned by root and read-only to the process: nothing writes to the root filesystem
# (the Deployment mounts an emptyDir on /tmp). Numeric user so runAsNonRoot can verify it: the base
# image's "node" user is 1000:1000.
USER 1000:1000
# 8080 CloudEvents ingress and commands, 8081 /healthz /readyz /metrics, 50051 a plugin's gRPC port.
EXPOSE 8080 8081 50051
ENTRYPOINT ["node", "src/cli/main.ts"]
CMD ["operator"]
