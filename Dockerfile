# promfence container image: a build stage compiles dist/ with the locked dependencies, the
# runtime stage is a slim Node 20 image with production dependencies only, run as the
# unprivileged "node" user.
#
#   docker build -t promfence:0.1.0 .
#   docker run -p 9095:9095 -v $PWD/promfence.yaml:/etc/promfence/promfence.yaml:ro promfence:0.1.0
#
# The configuration is read from /etc/promfence/promfence.yaml (mount it, e.g. from a
# Kubernetes ConfigMap; see examples/kubernetes/). In a container it must listen on every
# interface: server.listen: "0.0.0.0:9095". Secrets: ${env:NAME} or *_file paths to mounted
# files. The health check probes /-/healthy on port 9095 (PROMFENCE_HEALTH_URL to change it).
# test/deploy/dockerfile.test.ts checks this file's structure and runs its build steps as a
# script in a scratch directory (scripts/dockerfile-steps.mjs).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" build needs the sources, copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PROMFENCE_HEALTH_URL=http://127.0.0.1:9095/-/healthy
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY LICENSE ./LICENSE
USER node
EXPOSE 9095
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "-e", "fetch(process.env.PROMFENCE_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve", "--config", "/etc/promfence/promfence.yaml"]
