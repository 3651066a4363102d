# archfarm-agent as a container image, one per CPU the agent serves (amd64, arm64, arm/v7, s390x).
# The agent is one file with no native addons (`make bundle`), so the image is Node.js plus
# that file. From the repository root, after `make bundle`:
#
#   archfarm build -f deploy/images/agent.Dockerfile -t REGISTRY/archfarm/agent:0.1.0 \
#       --platform linux/amd64,linux/arm64,linux/arm/v7,linux/s390x .
#
# (`docker buildx build` takes the same flags.) agent.Dockerfile.dockerignore keeps the context
# to the bundle. At run time the agent needs the engine's socket: mount it and grant its group
# (see deploy/compose.yaml and deploy/k8s/agent-daemonset.yaml).

# Any image with Node.js >= 18 as `node` on PATH; archfarm's tests use a stand-in from the
# loopback registry (scripts/node-base.sh), since the test machines cannot reach Docker Hub.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="archfarm-agent" \
      org.opencontainers.image.description="archfarm build agent: dials out to a coordinator and builds images with the local Docker-compatible engine" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# The bundle starts with `#!/usr/bin/env node` and is mode 0755, so it runs by name.
COPY agent/dist/bundle/archfarm-agent.cjs /usr/local/bin/archfarm-agent

# The user is written into /etc/passwd rather than made with useradd/adduser, which differ
# between Debian and busybox bases; uid 10001 is the one deploy/k8s runs as. The last command
# runs the agent on the target CPU (natively or under QEMU): a build for a CPU where it
# cannot start fails here rather than on the build machine.
RUN echo 'archfarm:x:10001:10001:archfarm agent:/var/lib/archfarm-agent:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'archfarm:x:10001:' >>/etc/group \
 && mkdir -p /var/lib/archfarm-agent \
 && chown 10001:10001 /var/lib/archfarm-agent \
 && archfarm-agent --version

USER 10001:10001
# Its key, client certificate and job spool; keep it across restarts (no new join token needed).
VOLUME ["/var/lib/archfarm-agent"]
ENTRYPOINT ["archfarm-agent"]
CMD ["--help"]
