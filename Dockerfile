# syntax=docker/dockerfile:1
# ecs-action-watch on distroless Node.js 24: no shell, no npm, user 65532 (nonroot), production
# dependencies only, and node started directly so that SIGTERM reaches the daemon. README: "Run with Docker".

# 1. Type-check with every dependency installed: no image is built from code that does not compile.
FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run typecheck

# 2. Production dependencies only (no typescript, vitest or smtp-server), and an empty state folder.
FROM node:24-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && mkdir /state

# 3. The runtime. Node runs the TypeScript sources as they are (type stripping): nothing is compiled.
FROM gcr.io/distroless/nodejs24-debian13:nonroot
ENV NODE_ENV=production \
    ECS_WATCH_CONFIG=/etc/ecs-action-watch/watch.yaml
COPY --from=deps /app/node_modules /app/node_modules
COPY --from=build /app/package.json /app/package.json
# From the build stage, so that the type-check runs before any image exists.
COPY --from=build /app/src /app/src
# State lives on a volume. It is also the working directory, so that the default state.path
# (./ecs-action-watch.state.json) lands there: nothing writes to the read-only root filesystem.
COPY --from=deps --chown=65532:65532 /state /var/lib/ecs-action-watch
VOLUME /var/lib/ecs-action-watch
WORKDIR /var/lib/ecs-action-watch
USER 65532:65532
EXPOSE 9464
# No HEALTHCHECK: Kubernetes probes GET /healthz and /readyz on port 9464 (deploy/kubernetes/).
ENTRYPOINT ["/nodejs/bin/node", "/app/src/cli/main.ts"]
CMD ["run"]
