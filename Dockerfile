# syntax=docker/dockerfile:1
# imv-import: worker and ops CLI. Build: docker build -t imv-import .
# Run:   docker run --rm imv-import worker   (ENTRYPOINT is the CLI; see docker-compose.yml)

# dist/: built with every package (TypeScript, the workflow bundler)
FROM node:20-bookworm-slim AS build
WORKDIR /app
# dependencies first, so source edits do not reinstall them
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# node_modules/: the runtime's packages only. The dev stack's servers (ftp-srv, PGlite: `imv-import dev`),
# the compiler and the test tools are devDependencies; the worker and the ops commands never load them.
FROM node:20-bookworm-slim AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# The git revision (docker build --build-arg IMV_GIT_REVISION=$(git rev-parse --short HEAD)): with the
# package version it is the worker's build id under Worker Versioning; the image has no .git to read.
ARG IMV_GIT_REVISION=
ENV IMV_GIT_REVISION=${IMV_GIT_REVISION}
WORKDIR /app
COPY --from=runtime-deps --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=runtime-deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/bin ./bin
# `imv-import …` on the PATH for `docker-compose exec worker imv-import imports`; the file store
# directory exists (owned by the runtime user) so a fresh named volume inherits that ownership.
RUN chmod 0755 /app/bin/imv-import.js \
 && ln -s /app/bin/imv-import.js /usr/local/bin/imv-import \
 && mkdir -p /var/lib/imv-import/store \
 && chown -R node:node /var/lib/imv-import
USER node
# A small young generation (4 MB semi-spaces instead of 16-32): the worker makes much short-lived garbage
# per file; this keeps its resident memory ~40 MB lower at the same speed (bench:pipeline prints both).
# The old generation grows by 50% of what a full GC keeps instead of V8's up to 4x: a big transfer's parse
# and apply steps churn garbage, and the heap followed them to ~170 MB with ~80 MB live. With the factor
# the worker peaks ~240 MB instead of ~350 MB on a 20,000-object file, for ~6% more worker CPU (20% was
# tighter still, but cost 46% more CPU: bench:pipeline with BENCH_WORKER_NODE_ARGS; docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "/app/bin/imv-import.js"]
CMD ["--help"]
