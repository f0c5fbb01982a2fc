# A container image of CloudAudit, for those who build images elsewhere (this project's CI cannot run
# Docker: it is checked only by reading). Build: docker build -t cloudaudit .
# Run:   docker run -p 9780:9780 -v cloudaudit-data:/var/lib/cloudaudit -e CLOUDAUDIT_MASTER_KEY=... cloudaudit
# The data directory is a volume: keep it (and the master key) as README's "Backup and restore" says.

FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-dev zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole package (its manifest names the test targets too); .dockerignore leaves out build output.
COPY . .
RUN swift build -c release --product cloudaudit --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/cloudaudit" /out/cloudaudit

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libsqlite3-0 zlib1g ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/cloudaudit --shell /usr/sbin/nologin cloudaudit \
 && install -d -m 0700 -o cloudaudit -g cloudaudit /var/lib/cloudaudit
COPY --from=build /out/cloudaudit /usr/local/bin/cloudaudit
USER cloudaudit
WORKDIR /var/lib/cloudaudit
ENV CLOUDAUDIT_DATA_DIR=/var/lib/cloudaudit CLOUDAUDIT_HOST=0.0.0.0 CLOUDAUDIT_LOG_FORMAT=json
VOLUME ["/var/lib/cloudaudit"]
EXPOSE 9780
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fs http://127.0.0.1:9780/healthz || exit 1
# SIGTERM (docker stop) drains in-flight requests and closes the store.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/cloudaudit"]
CMD ["serve"]
