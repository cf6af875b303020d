/**
 * Proxmox-shaped fixtures (sandbox.md §4.7: `0|1` booleans, `loadavg` strings, QEMU `memory` strings,
 * `pve-manager/…` versions) and a fake PVE API that fails loudly on any request it was not given.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { ApiForbidden, ApiServerError, type ApiError } from "@homelab-mcp/core/Errors"
import { eachVia, PveApi } from "@homelab-mcp/core/capabilities/PveApi"

export const nodeStatus = {
  uptime: 1_208_520,
  idle: 0,
  cpu: 0.031,
  wait: 0.0004,
  loadavg: ["0.31", "0.27", "0.22"],
  kversion: "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z) x86_64",
  "current-kernel": { sysname: "Linux", release: "6.17.2-1-pve", version: "#1 SMP PREEMPT_DYNAMIC", machine: "x86_64" },
  "boot-info": { mode: "efi", secureboot: 0 },
  cpuinfo: { model: "AMD Ryzen 7 5700G", sockets: 1, cores: 8, cpus: 16, mhz: "3800.000", flags: "fpu vme", hvm: "1", user_hz: 100 },
  memory: { total: 68_719_476_736, used: 21_474_836_480, free: 47_244_640_256, available: 47_244_640_256 },
  swap: { total: 8_589_934_592, used: 0, free: 8_589_934_592 },
  ksm: { shared: 0 },
  rootfs: { total: 100_000_000_000, used: 20_000_000_000, free: 80_000_000_000, avail: 75_000_000_000 },
  pveversion: "pve-manager/9.1.1/f4d3f125ffae50e9"
}

export const zfs = [{ name: "tank", size: 4_000_000_000_000, alloc: 1_000_000_000_000, free: 3_000_000_000_000, frag: 3, dedup: 1, health: "ONLINE" }]

export const storage = [
  { storage: "local", type: "dir", content: "iso,vztmpl,import", active: 1, enabled: 1, shared: 0, total: 100_000_000_000, used: 20_000_000_000, avail: 80_000_000_000, used_fraction: 0.2 },
  { storage: "local-lvm", type: "lvmthin", content: "rootdir,images", active: 1, enabled: 1, shared: 0, total: 400_000_000_000, used: 100_000_000_000, avail: 300_000_000_000, used_fraction: 0.25 },
  { storage: "tank", type: "zfspool", content: "rootdir,images", active: 1, enabled: 1, shared: 0, total: 4_000_000_000_000, used: 1_000_000_000_000, avail: 3_000_000_000_000, used_fraction: 0.25 },
  { storage: "backups", type: "dir", content: "backup", active: 1, enabled: 1, shared: 0, total: 1_000_000_000_000, used: 100_000_000_000, avail: 900_000_000_000, used_fraction: 0.1 }
]

export const network = [
  { iface: "vmbr0", type: "bridge", families: ["inet"], method: "static", method6: "manual", active: 1, autostart: 1, cidr: "192.168.1.10/24", address: "192.168.1.10", netmask: "24", gateway: "192.168.1.1", bridge_ports: "eno1", bridge_vlan_aware: 1, bridge_vids: "2-4094", priority: 4 },
  { iface: "eno1", type: "eth", families: ["inet"], method: "manual", active: 1, exists: 1, priority: 3 }
]

export const lxcList = [
  { vmid: 101, name: "docker", status: "running", type: "lxc", cpus: 4, cpu: 0.05, mem: 1_000_000_000, maxmem: 8_589_934_592, swap: 0, maxswap: 536_870_912, disk: 5_000_000_000, maxdisk: 34_359_738_368, diskread: 0, diskwrite: 0, netin: 0, netout: 0, uptime: 86_400, pid: 4242 },
  { vmid: 100, name: "dns", status: "running", type: "lxc", cpus: 1, cpu: 0.01, mem: 100_000_000, maxmem: 536_870_912, swap: 0, maxswap: 536_870_912, disk: 1_000_000_000, maxdisk: 8_589_934_592, diskread: 0, diskwrite: 0, netin: 0, netout: 0, uptime: 86_400, pid: 4141, tags: "infra;dns" },
  { vmid: 102, name: "lab-alpine", status: "stopped", type: "lxc", cpus: 1, cpu: 0, mem: 0, maxmem: 268_435_456, swap: 0, maxswap: 0, disk: 0, maxdisk: 2_147_483_648, diskread: 0, diskwrite: 0, netin: 0, netout: 0, uptime: 0 }
]

export const qemuList = [
  { vmid: 200, name: "debian-vm", status: "running", cpus: 2, cpu: 0.02, mem: 1_000_000_000, memhost: 1_000_000_000, maxmem: 4_294_967_296, disk: 0, maxdisk: 34_359_738_368, diskread: 0, diskwrite: 0, netin: 0, netout: 0, uptime: 3600, pid: 5151, tags: "web" }
]

export const configs: Record<string, Record<string, unknown>> = {
  "lxc/100": { arch: "amd64", cores: 1, memory: 512, hostname: "dns", ostype: "debian", rootfs: "local-lvm:vm-100-disk-0,size=8G", net0: "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp", onboot: 1, unprivileged: 1, description: "adguard admin password: hunter2", digest: "0123456789abcdef0123456789abcdef01234567", parent: "post-upgrade" },
  "lxc/101": {
    arch: "amd64", cores: 4, memory: 8192, hostname: "docker", ostype: "debian", rootfs: "local-lvm:vm-101-disk-0,size=32G",
    dev0: "/dev/dri/renderD128,gid=104", mp0: "/tank/media,mp=/media", features: "nesting=1", onboot: 1,
    lxc: [["lxc.cgroup2.devices.allow", "c 226:128 rwm"]], digest: "1123456789abcdef0123456789abcdef01234567"
  },
  "lxc/102": { arch: "amd64", cores: 1, memory: 256, hostname: "lab-alpine", ostype: "alpine", rootfs: "local:102/vm-102-disk-0.raw,size=2G", onboot: 1, digest: "2123456789abcdef0123456789abcdef01234567" },
  "qemu/200": { name: "debian-vm", memory: "4096", cores: 2, sockets: 1, cpu: "x86-64-v2-AES", ostype: "l26", boot: "order=scsi0;ide2;net0", ide2: "none,media=cdrom", scsi0: "local-lvm:vm-200-disk-0,iothread=1,size=32G", scsihw: "virtio-scsi-single", net0: "virtio=BC:24:11:00:02:00,bridge=vmbr0", agent: "1", digest: "3123456789abcdef0123456789abcdef01234567" }
}

export const services = [
  { service: "pveproxy", name: "pveproxy", desc: "PVE API Proxy Server", state: "running", "active-state": "active", "unit-state": "enabled" },
  { service: "pvedaemon", name: "pvedaemon", desc: "PVE API Daemon", state: "running", "active-state": "active", "unit-state": "enabled" },
  { service: "corosync", name: "corosync", desc: "Corosync Cluster Engine", state: "dead", "active-state": "inactive", "unit-state": "enabled" },
  { service: "systemd-timesyncd", name: "timesyncd", desc: "Network Time Synchronization", state: "dead", "active-state": "inactive", "unit-state": "not-found" }
]

export const nodes = [{ node: "pve", status: "online", cpu: 0.03, maxcpu: 16, mem: 1, maxmem: 2, disk: 1, maxdisk: 2, uptime: 1, level: "", ssl_fingerprint: "AA:BB", id: "node/pve", type: "node" }]

/** The routes of a fake node: `"GET /nodes/pve/status"` → data, or a function of the path. */
export type Routes = Map<string, unknown | ((path: string) => Effect.Effect<unknown, ApiError>)>

/** The default lab as routes. */
export const defaultRoutes = (): Routes => {
  const r: Routes = new Map<string, unknown>([
    ["GET /nodes/pve/status", nodeStatus],
    ["GET /nodes/pve/disks/zfs", zfs],
    ["GET /nodes/pve/storage", storage],
    ["GET /nodes/pve/network", network],
    ["GET /nodes/pve/lxc", lxcList],
    ["GET /nodes/pve/qemu", qemuList],
    ["GET /nodes/pve/services", services],
    ["GET /nodes", nodes],
    ["POST /nodes/pve/qemu/200/agent/ping", { result: {} }]
  ])
  for (const [k, v] of Object.entries(configs)) r.set(`GET /nodes/pve/${k}/config`, v)
  return r
}

/** A 403 as the transport maps it. */
export const forbidden = (path: string, privilege: string) =>
  Effect.fail(new ApiForbidden({ path, privileges: [privilege], reason: `Permission check failed (${path}, ${privilege})` }))

/** A fake API node: routes, the request log, and in-flight accounting. */
export interface FakeApi {
  readonly routes: Routes
  readonly events: Array<string>
  maxInFlight: number
  inFlight: number
  /** Simulated latency per request (ms, on the Effect clock). */
  latencyMs: number
}

export const makeFake = (routes: Routes = defaultRoutes()): FakeApi => ({ routes, events: [], maxInFlight: 0, inFlight: 0, latencyMs: 0 })

const decode = <A, I>(schema: Schema.Schema<A, I>, value: unknown) =>
  Schema.decodeUnknown(schema)(value).pipe(
    Effect.mapError((e) => new ApiServerError({ status: 200, path: "decode", reason: `unexpected response: ${e.message}` }))
  )

/** The fake as a `PveApi` service; unknown requests die loudly. */
export const service = (fake: FakeApi): PveApi.Service => {
  const request = <A, I>(method: string, path: string, schema: Schema.Schema<A, I>) => {
    const key = `${method} ${path}`
    const body = Effect.gen(function* () {
      if (fake.latencyMs > 0) yield* Effect.sleep(fake.latencyMs)
      if (!fake.routes.has(key)) return yield* Effect.die(new Error(`fake PVE API: unexpected request ${key}`))
      const route = fake.routes.get(key)
      const data = typeof route === "function" ? yield* (route as (p: string) => Effect.Effect<unknown, ApiError>)(path) : route
      return yield* decode(schema, data)
    })
    return Effect.sync(() => {
      fake.events.push(key)
      fake.inFlight++
      fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight)
    }).pipe(
      Effect.zipRight(body),
      Effect.ensuring(Effect.sync(() => fake.inFlight--))
    )
  }
  return {
    node: "pve",
    host: "192.168.1.10",
    request: (method, path, schema) => request(method, path, schema),
    get: (path, schema) => request("GET", path, schema),
    post: (path, schema) => request("POST", path, schema),
    getEach: eachVia((path, schema) => request("GET", path, schema)),
    postEach: eachVia((path, schema) => request("POST", path, schema))
  }
}

/** The fake as a layer. */
export const layer = (fake: FakeApi): Layer.Layer<PveApi> => Layer.succeed(PveApi, service(fake))

/** A generated lab of `n` containers (vmids 1000…), running, on local-lvm. */
export const generatedLab = (n: number): Routes => {
  const r = defaultRoutes()
  const list = Array.from({ length: n }, (_, i) => ({
    vmid: 1000 + i,
    name: `gen-${1000 + i}`,
    status: i % 3 === 0 ? "stopped" : "running",
    type: "lxc",
    cpus: 1,
    maxmem: 536_870_912,
    uptime: i % 3 === 0 ? 0 : 100
  }))
  r.set("GET /nodes/pve/lxc", list)
  r.set("GET /nodes/pve/qemu", [])
  for (const g of list) {
    r.set(`GET /nodes/pve/lxc/${g.vmid}/config`, { hostname: g.name, rootfs: `local-lvm:vm-${g.vmid}-disk-0,size=8G`, onboot: 0, digest: "x" })
  }
  return r
}

// ---------------------------------------------------------------------------------------------------
// A fake NodeShell (companion): exact argv → result; anything else dies loudly.
// ---------------------------------------------------------------------------------------------------

import { NodeShell, type ExecResult } from "@homelab-mcp/core/capabilities/NodeShell"
import { CommandFailed } from "@homelab-mcp/core/Errors"

export interface FakeShell {
  readonly commands: Map<string, { exitCode: number | null; stdout: string; stderr?: string }>
  readonly events: Array<string>
}

const result = (r: { exitCode: number | null; stdout: string; stderr?: string }): ExecResult => ({
  exitCode: r.exitCode,
  signal: null,
  timedOut: false,
  stdout: r.stdout,
  stderr: r.stderr ?? "",
  stdoutBytes: r.stdout.length,
  stderrBytes: (r.stderr ?? "").length,
  stdoutTruncated: false,
  stderrTruncated: false,
  durationMs: 1
})

/** A fake node shell keyed by `argv.join(" ")`. */
export const shellLayer = (fake: FakeShell): Layer.Layer<NodeShell> => {
  const exec = (argv: ReadonlyArray<string>) =>
    Effect.suspend(() => {
      const key = argv.join(" ")
      fake.events.push(key)
      const r = fake.commands.get(key)
      return r === undefined ? Effect.die(new Error(`fake NodeShell: unexpected command ${key}`)) : Effect.succeed(result(r))
    })
  const unsupported = Effect.die(new Error("fake NodeShell: not supported"))
  return Layer.succeed(NodeShell, {
    exec,
    execScript: () => unsupported,
    outputBytes: () => unsupported,
    output: (argv) =>
      Effect.flatMap(exec(argv), (r) =>
        r.exitCode === 0 ? Effect.succeed(r.stdout) : Effect.fail(new CommandFailed({ command: argv.join(" "), exitCode: r.exitCode, stderr: r.stderr }))
      ),
    tempFile: unsupported,
    uploadTemp: () => unsupported,
    writeFile: () => unsupported,
    readFile: () => unsupported,
    fileSize: () => unsupported
  } as NodeShell.Service)
}

export const tailscaleJson = JSON.stringify({
  Self: { DNSName: "docker-ts.tail1234.ts.net.", HostName: "docker-ts", Online: true, TailscaleIPs: ["100.64.0.5", "fd7a:115c:a1e0::5"] },
  Peer: { a: {}, b: {}, c: {} },
  TailscaleIPs: ["100.64.0.5", "fd7a:115c:a1e0::5"]
})
