# syntax=docker/dockerfile:1
# Stage 1: install everything and type-check, so an image is never built from code that does not compile.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run typecheck

# Stage 2: runtime dependencies only. Node 24 runs the TypeScript sources directly (type stripping).
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ECS_WATCH_CONFIG=/etc/ecs-action-watch/watch.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/src ./src
RUN mkdir -p /var/lib/ecs-action-watch && chown node:node /var/lib/ecs-action-watch
USER node
EXPOSE 9464
# The daemon runs as `node <entry>` (never npm/npx, which do not pass SIGTERM on); it handles SIGTERM itself.
ENTRYPOINT ["node", "src/cli/main.ts"]
CMD ["run"]
