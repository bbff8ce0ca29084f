# kiln's image: `kiln worker` by default, or any other subcommand (`server`, `status`, ...).
#   docker build -t kiln .
#   docker run --env-file .env kiln worker
# The `demo` target adds kiln's dev tools, for `kiln simulate` (compose's demo profile):
#   docker build --target demo -t kiln-demo .
# docker-compose.yml builds and runs it with Redis and MinIO. Not built in CI (no Docker engine
# there); docs/operations.md says what is checked instead.
FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# the dev tools' workspace (packages/dev-tools) is built here with the rest, as kiln's build needs
# its types, but is not copied into the product's image: `kiln demo` and `kiln simulate` say
# they need it. The demo target below copies it in.
COPY packages ./packages
COPY src ./src
COPY bin ./bin
# `npm ci` builds dist/ through `prepare`; then the dev dependencies go. The dev tools' workspace
# stays linked (node_modules/@kiln/dev-tools) with its own dependencies: only the demo target
# copies the package it points at.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20.19-bookworm-slim AS kiln
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

# compose's demo profile: the product plus kiln's dev tools, so `kiln simulate` runs
FROM kiln AS demo
COPY --from=build /app/packages/dev-tools/package.json ./packages/dev-tools/package.json
COPY --from=build /app/packages/dev-tools/dist ./packages/dev-tools/dist

# the default target (`docker build .`, compose's `build: .`): the product, without the dev tools
FROM kiln
