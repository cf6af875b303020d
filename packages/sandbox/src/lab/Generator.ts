/**
 * Seeded lab generator (sandbox.md §8): 1–500 guests with vmids from 100 and seeded gaps,
 * `<word>-<word>` names, docker hosts with 3–15 containers. Same options ⇒ same `exportState()`.
 * Each guest draws from its own stream `(seed, "gen", index)`, so N+1 guests extend N guests.
 */
import type { LabState } from "../state/LabState.js"
import type { DockerContainerSpec, GuestOs } from "../state/types.js"
import { makeGuest, seedIdentities, seedNode, seedSnapshot } from "./NodeSeed.js"

/** Generator options; shares are probabilities in [0, 1]. */
export interface GenerateOptions {
  readonly guests: number
  readonly lxcShare?: number
  readonly runningShare?: number
  readonly dockerHostShare?: number
  readonly alpineShare?: number
  readonly agentShare?: number
  readonly passthroughShare?: number
  readonly maxSnapshots?: number
  readonly unprovisioned?: boolean
}

const WORDS_A = ["amber", "brisk", "cedar", "dusty", "eager", "fuzzy", "gentle", "hollow", "ivory", "jolly", "keen", "lunar", "mellow", "noble", "olive", "proud", "quiet", "rapid", "silver", "tidy", "urban", "vivid", "witty", "young", "zesty"]
const WORDS_B = ["otter", "falcon", "maple", "harbor", "comet", "badger", "canyon", "delta", "ember", "fjord", "glacier", "heron", "island", "jackal", "kestrel", "lagoon", "meadow", "nebula", "orchid", "pebble", "quartz", "raven", "summit", "tundra", "willow"]
const IMAGES: ReadonlyArray<[string, string, DockerContainerSpec["profile"]]> = [
  ["nginx", "nginx:1.27.3", "full"],
  ["redis", "redis:7.4.1-alpine", "alpine"],
  ["postgres", "postgres:16.6", "full"],
  ["grafana", "grafana/grafana:11.3.1", "full"],
  ["prometheus", "prom/prometheus:v2.55.1", "distroless"],
  ["vaultwarden", "vaultwarden/server:1.32.5", "full"],
  ["gitea", "gitea/gitea:1.22.4", "alpine"],
  ["mosquitto", "eclipse-mosquitto:2.0.20", "alpine"],
  ["node-red", "nodered/node-red:4.0.5", "full"],
  ["paperless", "ghcr.io/paperless-ngx/paperless-ngx:2.13.5", "full"],
  ["immich", "ghcr.io/immich-app/immich-server:v1.122.0", "full"],
  ["syncthing", "syncthing/syncthing:1.28.1", "alpine"],
  ["whoami", "traefik/whoami:v1.10.3", "distroless"],
  ["minio", "minio/minio:RELEASE.2024-11-07T00-52-20Z", "full"],
  ["watchtower", "containrrr/watchtower:1.7.1", "distroless"]
]

/** Builds a generated lab into an empty LabState. */
export const generateLab = (lab: LabState, options: GenerateOptions): void => {
  const n = Math.max(1, Math.min(500, Math.floor(options.guests)))
  const lxcShare = options.lxcShare ?? 0.7
  const runningShare = options.runningShare ?? 0.75
  const dockerShare = options.dockerHostShare ?? 0.15
  const alpineShare = options.alpineShare ?? 0.15
  const agentShare = options.agentShare ?? 0.7
  const passShare = options.passthroughShare ?? 0.03
  const maxSnaps = options.maxSnapshots ?? 3
  seedNode(lab)
  seedIdentities(lab, options.unprovisioned === true ? { unprovisioned: true } : {})
  const gaps = lab.rng("gen", "gaps")
  let vmid = 100
  const used = new Set<string>()
  for (let i = 0; i < n; i++) {
    const r = lab.rng("gen", i)
    const lxc = r.chance(lxcShare)
    let name = `${r.pick(WORDS_A)}-${r.pick(WORDS_B)}`
    if (used.has(name)) name = `${name}-${i}`
    used.add(name)
    const alpine = lxc && r.chance(alpineShare)
    const os: GuestOs = alpine ? "alpine-3.20" : r.chance(0.2) ? "ubuntu-24.04" : "debian-12"
    const docker = lxc && !alpine && r.chance(dockerShare)
    const passthrough = r.chance(passShare)
    const running = r.chance(runningShare)
    const containers: Array<DockerContainerSpec> = []
    if (docker) {
      const count = r.int(3, 15)
      for (const [j, [svc, image, profile]] of r.shuffle(IMAGES).slice(0, count).entries()) {
        containers.push({
          name: svc,
          image,
          project: `stack${j % 3}`,
          service: svc,
          state: r.chance(0.9) ? "running" : "exited",
          ...(r.chance(0.4) ? { health: "healthy" as const } : {}),
          ports: r.chance(0.6) ? [`0.0.0.0:${8000 + j}->${80 + j}/tcp`] : [],
          profile,
          env: { TZ: "Europe/Berlin" },
          mounts: [{ type: "volume", source: `${svc}_data`, destination: "/data" }],
          startedAt: lab.epochBase - r.int(3600, 30 * 86400)
        })
      }
    }
    const extra: Record<string, string> = {}
    const rawLxc: Array<[string, string]> = []
    if (passthrough) {
      if (lxc) {
        extra["dev0"] = "/dev/dri/renderD128,gid=104"
        rawLxc.push(["lxc.cgroup2.devices.allow", "c 226:128 rwm"])
      } else extra["hostpci0"] = "0000:01:00.0,pcie=1"
    }
    const agent = !lxc && r.chance(agentShare)
    const g = makeGuest(lab, {
      vmid,
      type: lxc ? "lxc" : "qemu",
      name,
      os,
      role: docker ? "docker" : lxc ? r.pick(["generic", "web", "dns", "db"]) : r.pick(["generic", "web", "db"]),
      running,
      cores: r.pick([1, 1, 2, 2, 4]),
      memoryMiB: r.pick([256, 512, 1024, 2048, 4096]),
      diskGiB: r.pick([4, 8, 8, 16, 32]),
      rootStore: r.chance(0.2) ? "tank" : "local-lvm",
      onboot: r.chance(0.6),
      tags: r.chance(0.4) ? [r.pick(["prod", "test", "media", "infra"])] : [],
      agent,
      extraConfig: extra,
      rawLxc,
      docker: containers
    })
    const snaps = r.int(0, maxSnaps)
    for (let s = 0; s < snaps; s++) seedSnapshot(lab, g, `snap${s + 1}`, { ageDays: 60 - s * 7 - r.int(0, 5), description: s === 0 ? "initial" : "" })
    vmid += 1 + (gaps.chance(0.2) ? gaps.int(1, 20) : 0)
  }
}
