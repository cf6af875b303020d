/**
 * The default homelab (sandbox.md §8): node `pve`, stores local/local-lvm/tank/backups, CT 100 dns,
 * CT 101 docker (passthrough, cannot snapshot, 12 containers), VM 200 debian-vm with agent, CT 102
 * stopped Alpine, VM 9000 / CT 9001 scratch guests, plus VM 201 whose root disk is a raw file on `dir`
 * storage `local`.
 */
import type { LabState } from "../state/LabState.js"
import type { DockerContainerSpec } from "../state/types.js"
import { makeGuest, seedIdentities, seedNode, seedSnapshot } from "./NodeSeed.js"

const c = (
  lab: LabState,
  spec: Omit<DockerContainerSpec, "startedAt" | "state" | "profile" | "env" | "mounts" | "ports"> &
    Partial<Pick<DockerContainerSpec, "state" | "profile" | "env" | "mounts" | "ports">>
): DockerContainerSpec => ({
  state: "running",
  profile: "full",
  env: {},
  mounts: [],
  ports: [],
  ...spec,
  startedAt: lab.epochBase - 3 * 86400 - lab.rng("docker-start", spec.name).int(0, 7200)
})

/** The 12 containers of CT 101 (projects infra, media, tools). */
export const defaultContainers = (lab: LabState): Array<DockerContainerSpec> => {
  const r = lab.rng("docker-secrets", 101)
  const wgKey = Buffer.from(r.hex(64), "hex").toString("base64")
  return [
    c(lab, { name: "portainer", image: "portainer/portainer-ce:2.21.4", project: "infra", service: "portainer", profile: "distroless", ports: ["0.0.0.0:9443->9443/tcp"], mounts: [{ type: "volume", source: "portainer_data", destination: "/data" }, { type: "bind", source: "/var/run/docker.sock", destination: "/var/run/docker.sock" }] }),
    c(lab, { name: "caddy", image: "caddy:2.8.4-alpine", project: "infra", service: "caddy", profile: "alpine", ports: ["0.0.0.0:80->80/tcp", "0.0.0.0:443->443/tcp"], mounts: [{ type: "bind", source: "/opt/stacks/infra/Caddyfile", destination: "/etc/caddy/Caddyfile" }, { type: "volume", source: "caddy_data", destination: "/data" }] }),
    c(lab, { name: "tailscale", image: "tailscale/tailscale:v1.76.6", project: "infra", service: "tailscale", profile: "alpine", networkMode: "host", env: { TS_AUTHKEY: `tskey-auth-k${r.hex(10)}CNTRL-${r.hex(24)}`, TS_STATE_DIR: "/var/lib/tailscale" }, mounts: [{ type: "bind", source: "/opt/stacks/infra/tailscale", destination: "/var/lib/tailscale" }] }),
    c(lab, { name: "homepage", image: "ghcr.io/gethomepage/homepage:v0.9.13", project: "infra", service: "homepage", health: "healthy", ports: ["0.0.0.0:3000->3000/tcp"], mounts: [{ type: "bind", source: "/opt/stacks/infra/homepage", destination: "/app/config" }] }),
    c(lab, { name: "uptime-kuma", image: "louislam/uptime-kuma:1.23.15", project: "infra", service: "uptime-kuma", health: "healthy", ports: ["0.0.0.0:3001->3001/tcp"], mounts: [{ type: "volume", source: "uptime-kuma", destination: "/app/data" }] }),
    c(lab, { name: "gluetun", image: "qmcgaw/gluetun:v3.39.1", project: "media", service: "gluetun", profile: "alpine", health: "healthy", ports: ["0.0.0.0:8080->8080/tcp", "0.0.0.0:6881->6881/tcp"], env: { VPN_SERVICE_PROVIDER: "mullvad", VPN_TYPE: "wireguard", WIREGUARD_PRIVATE_KEY: wgKey, WIREGUARD_ADDRESSES: "10.64.22.7/32" } }),
    c(lab, { name: "qbittorrent", image: "lscr.io/linuxserver/qbittorrent:4.6.7", project: "media", service: "qbittorrent", networkMode: "service:gluetun", env: { WEBUI_PORT: "8080", PUID: "1000", PGID: "1000" }, mounts: [{ type: "bind", source: "/opt/stacks/media/qbittorrent", destination: "/config" }, { type: "bind", source: "/media/downloads", destination: "/downloads" }] }),
    c(lab, { name: "sonarr", image: "lscr.io/linuxserver/sonarr:4.0.11", project: "media", service: "sonarr", ports: ["0.0.0.0:8989->8989/tcp"], mounts: [{ type: "bind", source: "/opt/stacks/media/sonarr", destination: "/config" }, { type: "bind", source: "/media", destination: "/media" }] }),
    c(lab, { name: "radarr", image: "lscr.io/linuxserver/radarr:5.15.1", project: "media", service: "radarr", ports: ["0.0.0.0:7878->7878/tcp"], mounts: [{ type: "bind", source: "/opt/stacks/media/radarr", destination: "/config" }, { type: "bind", source: "/media", destination: "/media" }] }),
    c(lab, { name: "prowlarr", image: "lscr.io/linuxserver/prowlarr:1.27.0", project: "media", service: "prowlarr", state: "exited", ports: [], mounts: [{ type: "bind", source: "/opt/stacks/media/prowlarr", destination: "/config" }] }),
    c(lab, { name: "jellyfin", image: "jellyfin/jellyfin:10.10.3", project: "media", service: "jellyfin", health: "healthy", ports: ["0.0.0.0:8096->8096/tcp"], mounts: [{ type: "volume", source: "media_nfs", destination: "/media", nfs: true }, { type: "bind", source: "/opt/stacks/media/jellyfin", destination: "/config" }] }),
    c(lab, { name: "dozzle", image: "amir20/dozzle:v8.8.2", project: "tools", service: "dozzle", profile: "distroless", networkMode: "service:gluetun", env: { DOZZLE_ADDR: ":8080" }, mounts: [{ type: "bind", source: "/var/run/docker.sock", destination: "/var/run/docker.sock" }] })
  ]
}

/** Builds the default homelab into an empty LabState. */
export const buildDefaultLab = (lab: LabState, options: { unprovisioned?: boolean } = {}): void => {
  seedNode(lab)
  seedIdentities(lab, options)
  const dns = makeGuest(lab, {
    vmid: 100,
    type: "lxc",
    name: "dns",
    os: "debian-12",
    role: "dns",
    running: true,
    cores: 1,
    memoryMiB: 512,
    diskGiB: 4,
    onboot: true,
    tags: ["dns", "infra"],
    description: "AdGuard Home\nadmin: $2y$10$Qm4nS0bL7uV2pZ1xW9eYfOcJk3hT8rA6dG5sN0mB1vC2xE4yH7iKu"
  })
  seedSnapshot(lab, dns, "pre-upgrade", { description: "before bookworm point release", ageDays: 30 })
  seedSnapshot(lab, dns, "post-upgrade", { description: "after upgrade, verified", ageDays: 29 })
  makeGuest(lab, {
    vmid: 101,
    type: "lxc",
    name: "docker",
    os: "debian-12",
    role: "docker",
    running: true,
    cores: 4,
    memoryMiB: 8192,
    diskGiB: 64,
    onboot: true,
    tags: ["docker"],
    extraConfig: {
      features: "keyctl=1,nesting=1",
      dev0: "/dev/dri/renderD128,gid=104",
      mp0: "/tank/media,mp=/media"
    },
    rawLxc: [["lxc.cgroup2.devices.allow", "c 226:128 rwm"]],
    docker: defaultContainers(lab)
  })
  const vm = makeGuest(lab, {
    vmid: 200,
    type: "qemu",
    name: "debian-vm",
    os: "debian-12",
    role: "web",
    running: true,
    cores: 2,
    memoryMiB: 4096,
    diskGiB: 32,
    agent: true,
    onboot: true,
    tags: ["web"]
  })
  seedSnapshot(lab, vm, "before-kernel", { description: "before kernel 6.1.0-28", ageDays: 12, vmstate: 0 })
  makeGuest(lab, {
    vmid: 102,
    type: "lxc",
    name: "lab-alpine",
    os: "alpine-3.20",
    role: "generic",
    running: false,
    cores: 1,
    memoryMiB: 256,
    diskGiB: 2,
    onboot: true
  })
  makeGuest(lab, {
    vmid: 201,
    type: "qemu",
    name: "legacy-dir",
    os: "debian-12",
    role: "generic",
    running: false,
    cores: 1,
    memoryMiB: 2048,
    diskGiB: 16,
    rootStore: "local",
    description: "root disk is a raw file on dir storage: cannot snapshot"
  })
  makeGuest(lab, { vmid: 9000, type: "qemu", name: "scratch-vm", os: "debian-12", role: "scratch", running: false, cores: 1, memoryMiB: 1024, diskGiB: 8, agent: true, tags: ["scratch"] })
  makeGuest(lab, { vmid: 9001, type: "lxc", name: "scratch-ct", os: "debian-12", role: "scratch", running: false, cores: 1, memoryMiB: 512, diskGiB: 4, tags: ["scratch"] })
}
