# One image for every process of the service: the API server (the default command), the workers, the
# scheduler and the CLI. Each process gets only the permissions it needs (see compose.yaml).
# --- Release binaries, built with `docker build --target release .` ------------------------------------
# `deno task compile` (scripts/compile.ts) makes dist/harvest-server, dist/harvester and dist/harvest-worker
# with each process's permission flags baked in. deno compile downloads its runtime (denort) while it
# builds, so this stage needs network access; the image it makes holds no Deno and no source.
FROM denoland/deno:2.9.6 AS build
WORKDIR /app
COPY deno.json deno.lock ./
# postgres.js 3.4.9 with a fix of ours, which deno.json maps "postgres" to (vendor/postgres/PATCHED.md)
COPY vendor ./vendor
RUN deno install --frozen
COPY . .
RUN deno task compile

FROM debian:bookworm-slim AS release
RUN useradd --system --create-home --home-dir /home/harvest harvest && mkdir -p /data && chown harvest /data
COPY --from=build /app/dist/harvest-server /app/dist/harvester /app/dist/harvest-worker /usr/local/bin/
USER harvest
ENV HARVEST_DATA_DIR=/data HOST=0.0.0.0 PORT=5000
VOLUME /data
EXPOSE 5000
# Workers: harvest-worker [--concurrency N]; the scheduler: harvester scheduler; the CLI: harvester <command>.
CMD ["harvest-server"]

# --- The default image: the same processes run by deno from the source ------------------------------
FROM denoland/deno:2.9.6

WORKDIR /app

# Permission flags: exactly those of the deno.json tasks (`serve`, `harvester`, `healthcheck`), which
# tests/deploy_test.ts checks; the container's user `deno` can write only /data.
# Dependency layer: rebuilt only when deno.json or deno.lock change.
COPY deno.json deno.lock ./
# postgres.js 3.4.9 with a fix of ours, which deno.json maps "postgres" to (vendor/postgres/PATCHED.md)
COPY vendor ./vendor
RUN deno install --frozen

COPY . .
RUN deno cache --frozen main.ts cli.ts src/demo/mod.ts \
  && mkdir -p /data && chown deno:deno /data

USER deno
ENV HARVEST_DATA_DIR=/data HOST=0.0.0.0 PORT=5000
VOLUME /data
EXPOSE 5000

# /readyz answers 200 when the database and the broker answer and the schema is up to date.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "run", "--allow-net=127.0.0.1", "--allow-env=PORT", "scripts/healthcheck.ts", "/readyz"]

# The API server. Workers and the scheduler use the same image with the commands in compose.yaml;
# the CLI: docker run --rm IMAGE deno run --frozen --cached-only --v8-flags=--max-old-space-size=512,--max-semi-space-size=8,--initial-old-space-size=96 --allow-net --allow-import
#   --allow-read --allow-write --allow-env --allow-sys cli.ts <command>
CMD ["deno", "run", "--frozen", "--cached-only", "--v8-flags=--max-old-space-size=512,--max-semi-space-size=8,--initial-old-space-size=96", "--allow-net", "--allow-import", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", "main.ts"]
