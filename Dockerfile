# syntax=docker/dockerfile:1
# imv-import: worker and ops CLI. Build: docker build -t imv-import .
# Run:   docker run --rm imv-import worker   (ENTRYPOINT is the CLI; see docker-compose.yml)

FROM node:20-bookworm-slim AS build
WORKDIR /app
# dependencies first, so source edits do not reinstall them
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
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
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/bin/imv-import.js"]
CMD ["--help"]
