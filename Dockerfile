# Not built on the development machines (no Docker engine there): kept simple on purpose.
# Node 24 (an LTS line; Node 20 is past end of life). better-sqlite3 compiles here in the build stage.
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data PORT=3000
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The embedded stores and the key file live in DATA_DIR: the one place the (non-root) process writes.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# The image's `node` user (uid 1000), by number so runAsNonRoot can check it.
USER 1000:1000
EXPOSE 3000
# Liveness, not readiness: a replica behind on its projections is alive, only not ready (see /health).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (main.ts): stop taking requests, finish those in flight, exit 0.
CMD ["node", "dist/src/main.js"]
