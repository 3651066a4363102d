# shellcheck shell=bash
# Debian 13's dockerd 26 for a VM image of the test fleet (sourced by scripts/vm/image.sh).
#
#   add_docker26 ROOTFS UNPACKED   # UNPACKED: what scripts/docker26.sh --fetch-only printed
#
# The engine a user who installs a current Docker has, beside the image's Debian 12 dockerd
# 20.10 and never over it: trixie's docker.io 26.1.5 and containerd 1.7 under /opt/docker26,
# run by two systemd units of their own with the containerd image store, their own sockets,
# data roots, exec root, pid file and bridge (br26), and iptables off (dockerd 20.10 keeps the
# VM's iptables). runc is bookworm's (/usr/sbin/runc 1.1.5): trixie's needs glibc 2.38.
# The settings are scripts/docker26.sh's for the host, as systemd units instead of background
# processes. A third unit, a test convenience, serves the socket on TCP $D26_PORT (boot.sh
# forwards a port of the host to it) through socat: dockerd 26 on TCP without TLS sleeps at
# start-up to show a deprecation notice, and Docker 27 refuses it.
# Needs D26, D26_RUN, D26_PORT and D26_BRIDGE_CIDR (image.sh).

add_docker26() {
  local r=$1 unpacked=$2
  local path="PATH=$D26/usr/sbin:$D26/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  [[ -x $unpacked/usr/sbin/dockerd && -x $unpacked/usr/bin/containerd ]] || die "no dockerd or containerd in $unpacked"
  mkdir -p "$r$D26" "$r/etc/docker26"
  cp -a "$unpacked/." "$r$D26/"
  cat >"$r/etc/docker26/containerd.toml" <<EOF
# archfarm VM image (scripts/vm/docker26-vm.sh): dockerd 26's own containerd.
version = 2
root = "/var/lib/docker26/containerd"
state = "$D26_RUN/containerd"
# CRI is not used by dockerd, and costs start-up time under emulation.
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$D26_RUN/containerd.sock"

[ttrpc]
  address = "$D26_RUN/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "/var/lib/docker26/containerd-opt"
EOF
  cat >"$r/etc/docker26/daemon.json" <<EOF
{
  "hosts": ["unix://$D26_RUN/docker.sock"],
  "group": "docker",
  "data-root": "/var/lib/docker26/docker",
  "exec-root": "$D26_RUN/exec",
  "pidfile": "$D26_RUN/docker.pid",
  "containerd": "$D26_RUN/containerd.sock",
  "iptables": false,
  "bridge": "br26",
  "features": { "containerd-snapshotter": true }
}
EOF
  cat >"$r/etc/systemd/system/docker26-containerd.service" <<EOF
[Unit]
Description=Debian 13's containerd 1.7, for dockerd 26 (beside Debian 12's containerd)
After=local-fs.target

[Service]
Type=notify
Environment=$path
ExecStartPre=/bin/mkdir -p $D26_RUN
ExecStart=$D26/usr/bin/containerd --config /etc/docker26/containerd.toml
Delegate=yes
KillMode=process
Restart=always
RestartSec=5s
LimitNOFILE=infinity
TasksMax=infinity

[Install]
WantedBy=multi-user.target
EOF
  # --bridge needs the bridge to exist; with "bridge": "none" every RUN step fails.
  cat >"$r/etc/systemd/system/docker26.service" <<EOF
[Unit]
Description=Debian 13's dockerd 26 with the containerd image store (beside Debian 12's dockerd 20.10)
Requires=docker26-containerd.service
After=docker26-containerd.service network-online.target
Wants=network-online.target

[Service]
Type=notify
Environment=$path
ExecStartPre=/bin/sh -c 'ip link show br26 >/dev/null 2>&1 || ip link add br26 type bridge; ip -4 -o addr show dev br26 | grep -qF " $D26_BRIDGE_CIDR " || ip addr add $D26_BRIDGE_CIDR dev br26; ip link set br26 up'
ExecStart=$D26/usr/sbin/dockerd --config-file /etc/docker26/daemon.json
ExecReload=/bin/kill -s HUP \$MAINPID
# Under emulation a first start (new data root) can take minutes.
TimeoutStartSec=infinity
Delegate=yes
KillMode=process
Restart=always
RestartSec=5s
LimitNOFILE=infinity
TasksMax=infinity

[Install]
WantedBy=multi-user.target
EOF
  cat >"$r/etc/systemd/system/archfarm-docker26-forward.service" <<EOF
[Unit]
Description=Test convenience: dockerd 26's socket on TCP $D26_PORT (boot.sh forwards a host port here)
After=docker26.service

[Service]
ExecStart=/usr/bin/socat TCP-LISTEN:$D26_PORT,fork,reuseaddr UNIX-CONNECT:$D26_RUN/docker.sock
Restart=always

[Install]
WantedBy=multi-user.target
EOF
  local unit
  for unit in docker26-containerd docker26 archfarm-docker26-forward; do
    ln -sf "/etc/systemd/system/$unit.service" "$r/etc/systemd/system/multi-user.target.wants/$unit.service"
  done
}
