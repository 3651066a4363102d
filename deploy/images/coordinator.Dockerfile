# archfarm-coordinator as a container image. Its store is SQLite through better-sqlite3, a
# native addon, so every platform needs that addon compiled for its own CPU. From the
# repository root:
#
#   archfarm build -f deploy/images/coordinator.Dockerfile -t REGISTRY/archfarm/coordinator:0.1.0 \
#       --platform linux/amd64,linux/arm64 .
#
# APP_SOURCE picks where the application comes from:
#   source    (default) npm ci, tsc and scripts/bundle-coordinator.mjs run in BUILD_IMAGE on the
#             target platform, so npm fetches or compiles the addon for that CPU (natively, or
#             slowly under QEMU). Needs the npm registry.
#   prebuilt  copies coordinator/dist/image/linux-<arch>/ from the context, made beforehand by
#             `node scripts/bundle-coordinator.mjs` on a machine of that CPU (no network needed).
ARG NODE_IMAGE=node:20-bookworm-slim
# The full Debian image: python3, make and g++ for node-gyp when no prebuilt addon fits.
ARG BUILD_IMAGE=node:20-bookworm
ARG APP_SOURCE=source

FROM ${BUILD_IMAGE} AS app-source
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx tsc -b coordinator \
 && node scripts/bundle-coordinator.mjs --quiet --out /opt/archfarm

FROM ${NODE_IMAGE} AS app-prebuilt
ARG TARGETARCH
ARG TARGETVARIANT
COPY coordinator/dist/image/linux-${TARGETARCH}${TARGETVARIANT}/ /opt/archfarm/

# BuildKit builds only the stage this names (and what it needs).
FROM app-${APP_SOURCE} AS app

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="archfarm-coordinator" \
      org.opencontainers.image.description="archfarm coordinator: splits multi-platform builds into jobs for agents and publishes one manifest list" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=app /opt/archfarm /opt/archfarm

# The user is written into /etc/passwd rather than made with useradd/adduser, which differ
# between Debian and busybox bases; uid 10001 is the one deploy/k8s runs as. The last command
# loads the addon on the target CPU: an addon built for another CPU fails the build here.
RUN echo 'archfarm:x:10001:10001:archfarm coordinator:/var/lib/archfarm:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'archfarm:x:10001:' >>/etc/group \
 && ln -s /opt/archfarm/archfarm-coordinator.cjs /usr/local/bin/archfarm-coordinator \
 && mkdir -p /var/lib/archfarm \
 && chown 10001:10001 /var/lib/archfarm \
 && archfarm-coordinator --version \
 && node -e "new (require('/opt/archfarm/node_modules/better-sqlite3'))(':memory:').prepare('select 1').get()"

USER 10001:10001
# SQLite database (WAL), CA and certificates, build contexts and job logs.
VOLUME ["/var/lib/archfarm"]
EXPOSE 7420
ENTRYPOINT ["archfarm-coordinator"]
# Listen beyond the container's loopback; agents and the CLI reach it through the published port.
CMD ["--listen", "0.0.0.0:7420", "--data-dir", "/var/lib/archfarm"]
