# One image for every process of the service: the API server (default), the harvester CLI and,
# as they land, the consumers and the scheduler. Permission flags are explicit per process.
FROM denoland/deno:2.9.6

WORKDIR /app

# Dependency layer: changes only when deno.json or deno.lock change.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY . .
RUN deno cache --frozen main.ts cli.ts src/demo/mod.ts \
  && mkdir -p /data && chown deno:deno /data

USER deno
ENV HARVEST_DATA_DIR=/data HOST=0.0.0.0 PORT=5000
VOLUME /data
EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '5000') + '/healthz'); Deno.exit(r.ok ? 0 : 1)"]

# The CLI runs with: docker run IMAGE deno run --allow-net --allow-read --allow-write --allow-env --allow-sys cli.ts ...
CMD ["deno", "run", "--frozen", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", "main.ts"]
