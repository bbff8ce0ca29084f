# kiln's image: `kiln worker` by default, or any other subcommand (`server`, `status`, ...).
#   docker build -t kiln .
#   docker run --env-file .env kiln worker
# docker-compose.yml builds and runs it with Redis and MinIO. Not built in CI (no Docker engine
# there); docs/operations.md says what is checked instead.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# the dev tools' workspace (packages/dev-tools) is built here with the rest, as kiln's build needs
# its types, but is not copied into the image: `kiln demo` and `kiln simulate` say they need it
COPY packages ./packages
COPY src ./src
COPY bin ./bin
# `npm ci` builds dist/ through `prepare`; then the dev dependencies go
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY package.json ./
# the local archive's default (ARCHIVE_DIR=./kiln-archive, used when S3_BUCKET is unset) must
# be writable by the user the image runs as. Mount a named volume there to keep it: Docker
# copies this ownership into an empty volume on first use.
RUN mkdir -p /app/kiln-archive && chown node:node /app/kiln-archive
USER node
# the HTTP API, /readyz and /metrics, when KILN_HTTP_PORT=8080 is set
EXPOSE 8080
ENTRYPOINT ["node", "bin/kiln.js"]
CMD ["worker"]
