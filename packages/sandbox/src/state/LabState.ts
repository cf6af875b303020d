/**
 * LabState: the ONE mutable state of a sandbox (sandbox.md §3), shared by the HTTPS API (H1) and the
 * SSH side (H2: pct, qm, pvesh, pveum, journalctl, …). Both views call the same operations, so a CT
 * started with `POST …/status/start` reads `running` in `pct list`, and `pct snapshot` shows up as a
 * `root@pam` task in `GET …/tasks`.
 *
 * API for H2 (everything synchronous unless it returns an Effect):
 *
 * Clock and randomness
 * - `lab.now()` virtual epoch seconds (float); `lab.nowInt()`; `lab.advance(seconds)` (manual clock
 *   and real clock both honour it); `lab.realMs(virtualSeconds)` converts a virtual duration to real
 *   milliseconds under `timeScale`; `lab.sleep(virtualSeconds)` is an Effect sleeping that long.
 * - `lab.rng(subsystem, key)` a seeded stream keyed by `(seed, subsystem, key)` (see Rng.ts).
 *
 * Guests (`lab.guests: ReadonlyMap<number, Guest>`; mutate only through operations)
 * - `getGuest(vmid)`, `listGuests(type?)`, `guestMetrics(g)`, `renderConfig(g)` (the `.conf` text),
 *   `configDigest(g)`, `writeConfigText(vmid, text)` (parse a `.conf` write back; Either).
 * - Lifecycle (each returns `Either<LabError, Task>`; up-front checks fail at once with PVE's text,
 *   the state change applies when the task ends): `startGuest(vmid, by)`, `stopGuest(vmid, by)`,
 *   `shutdownGuest(vmid, by, {timeout?, forceStop?})`, `rebootGuest(vmid, by)`,
 *   `createSnapshot(vmid, name, by, {description?, vmstate?})`, `deleteSnapshot(vmid, name, by,
 *   {force?})`, `rollbackSnapshot(vmid, name, by, {start?})`, `backupGuest(vmid, storage, by, opts)`.
 *   `by` is a `Principal` (`ROOT` for the CLI). `ident` option names the journal identifier.
 * - `listSnapshots(vmid)` → PVE order incl. the trailing `current` entry (data, not API-typed).
 *
 * Tasks
 * - `createTask(spec)` for any other task (e.g. `aptupdate`, `push_file`), `getTask(upid)`,
 *   `listTasks()`, `awaitTask(upid)` (Effect: completes when the task stopped, virtual time), and
 *   `settle()` which finalises every task whose virtual end passed (all readers call it).
 *   Killing the waiting CLI does NOT cancel a task.
 *
 * Storage: `stores`, `storeUsage(id)`, `isStoreFull(id)`, `addVolume(storeId, volume)`.
 * Access: `users`, `tokens`, `roles`, `acl`, `pools`; `addUser`, `deleteUser`, `addToken` (returns
 *   the secret), `removeToken`, `addRole`, `modifyRole`, `deleteRole`, `modifyAcl`, `deleteAcl`,
 *   `permissions(authid, path)`, `renderUserCfg()`, `renderTokenCfg()`; `provision(tier)` as setup.
 * Node: `node`, `nodeStatus()`, `hostUnits`, `journals` (`appendJournal(machine, entry)`),
 *   `aptUpdates`, `packages`, `zfsPools`, `network`, `renderStorageCfg()`.
 * TLS/SSH identity: `lab.apiCertificate` {pem, sha256Colon} (set by the HTTPS listener), `lab.sshHostKey`
 *   {publicKey, fingerprint} (H2 sets it when the SSH listener starts).
 * Machines: `lab.machines` (a `MachineRegistry` H2 installs with `setMachines`); task effects call
 *   its `onSnapshot`/`onRollback`/`onDeleteSnapshot` hooks.
 * Faults: `lab.faults` (FaultStore: `match({kind:"ssh", argv})` etc.).
 * Events: `record(event)`, `events()`, `subscribe(listener)`.
 * Flags: `lab.flags` (authFailureText, authFailureDelay, errorBody, agentPrivileges, …), `setFlags`.
 * `exportState()` is byte-identical for the same seed and operations.
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import { FaultStore } from "../faults/Faults.js"
import { builtinRoles, normalizePath, resolvePermissions, type PrivMap } from "./Access.js"
import type { MachineRegistry } from "./MachineRegistry.js"
import { makeRng, type Rng } from "./Rng.js"
import type {
  AclEntry,
  AptUpdate,
  Guest,
  GuestType,
  JournalEntry,
  MachineId,
  NetIface,
  NodeInfo,
  PackageVersion,
  Pool,
  Principal,
  Role,
  SandboxEvent,
  Snapshot,
  Store,
  Task,
  TaskOutcome,
  Token,
  Unit,
  User,
  Volume,
  ZfsPool
} from "./types.js"
import { ROOT } from "./types.js"

/** A refused operation with Proxmox's message (API: 500 unless `status` says otherwise; CLI: stderr, 255). */
export class LabError extends Data.TaggedError("LabError")<{
  readonly message: string
  readonly status: number
}> {}

const fail = (message: string, status = 500): Either.Either<never, LabError> => Either.left(new LabError({ message, status }))

/** Behaviour switches of the profile (sandbox.md §1). */
export interface LabFlags {
  authFailureText: "detailed" | "generic"
  /** Real milliseconds before a 401 is sent. */
  authFailureDelay: number
  errorBody: "pve9" | "legacy"
  agentPrivileges: "9.x" | "8.x"
  pvesmHeader: "kib" | "plain"
  pctPullMissing: "exit0-empty" | "exit0" | "exit255"
  sftp: "offered" | "off"
  sftpExtensions: "openssh" | "none"
  /** Validate every 200 response against the schema extract; a violation becomes a loud 500 (fidelity guard). */
  validateResponses: boolean
}

/** Default `pve-9.1` flags. */
export const defaultFlags = (): LabFlags => ({
  authFailureText: "detailed",
  authFailureDelay: 3000,
  errorBody: "pve9",
  agentPrivileges: "9.x",
  pvesmHeader: "kib",
  pctPullMissing: "exit0-empty",
  sftp: "offered",
  sftpExtensions: "openssh",
  validateResponses: true
})

/** Options of a LabState. */
export interface LabStateOptions {
  readonly seed: number
  readonly nodeName?: string
  /** Virtual epoch seconds at start (default 2026-03-02 09:00:00 UTC). */
  readonly epochBase?: number
  /** Real seconds per virtual second (0.01 ⇒ 100× faster). Default 1. */
  readonly timeScale?: number
  /** `manual`: time moves only through `advance`. */
  readonly clock?: "real" | "manual"
  readonly flags?: Partial<LabFlags>
  /** Release profile: `pve-9.1` (default) or `pve-8.4` (8.x roles, VM.Monitor for the agent, no pressure fields). */
  readonly profile?: LabProfile
}

/** Release profiles (sandbox.md §1). */
export type LabProfile = "pve-9.1" | "pve-8.4"

/** Identity of each profile as `/version` and `pveversion` report it. */
export const PROFILE_VERSION: Readonly<Record<LabProfile, { readonly version: string; readonly release: string; readonly repoid: string }>> = {
  "pve-9.1": { version: "9.1.1", release: "9.1", repoid: "f4d3f125ffae50e9" },
  "pve-8.4": { version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" }
}

/** Virtual durations in seconds (§3.3). */
export const DURATIONS = {
  lxc: { start: 2, stop: 1, shutdown: 4, reboot: 5, snapshot: 2, delsnapshot: 1, rollback: 3 },
  qemu: { start: 3, stop: 1, shutdown: 8, reboot: 10, snapshot: 2, delsnapshot: 1, rollback: 3 },
  vmstateExtra: 10,
  vzdumpBase: 12,
  vzdumpPerGiB: 1,
  restore: 15,
  aptupdate: 6,
  file: 1
} as const

/** Input of `createTask`. */
export interface TaskSpec {
  readonly type: string
  readonly id: string
  readonly by: Principal
  /** Virtual seconds. */
  readonly duration: number
  /** Log lines written at start. */
  readonly log?: ReadonlyArray<string>
  /** Runs when the task ends; returns the outcome (default ok) and may append log lines. */
  readonly run?: (task: Task) => TaskOutcome | void
  /** Runs right after creation (locks, snapstate). */
  readonly begin?: (task: Task) => void
  /** Journal identifier (default `pvedaemon`). */
  readonly ident?: string
}

const GiB = 1024 ** 3

interface TaskInternal {
  task: Task
  endsAt: number
  spec: TaskSpec
  forced?: TaskOutcome
}

/** Entry of `listSnapshots`: the snapshots, then `current`. */
export type SnapshotListEntry =
  | { readonly kind: "snapshot"; readonly snapshot: Snapshot }
  | { readonly kind: "current"; readonly parent?: string; readonly running: 0 | 1; readonly digest: string }

// '%', ':' and control characters (built without a regex literal to keep the control range readable)
const DESCRIPTION_ESCAPE = new RegExp(`[${String.fromCharCode(0)}-${String.fromCharCode(0x1f)}${String.fromCharCode(0x7f)}%:]`, "g")

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex")

const END = Symbol("end")

/** Every value `renderConfig` reads, in order, with an end mark after each record and list. */
const digestInputs = (g: Guest): Array<unknown> => {
  const out: Array<unknown> = [g.type]
  const record = (r: Readonly<Record<string, string>>) => {
    for (const k in r) out.push(k, r[k])
    out.push(END)
  }
  const list = (l: ReadonlyArray<readonly [string, string]>) => {
    for (const [k, v] of l) out.push(k, v)
    out.push(END)
  }
  record(g.config)
  list(g.rawLxc)
  for (const [name, s] of g.snapshots) {
    out.push(name, s.description, s.snaptime, s.parent, s.vmstate, s.snapstate)
    record(s.config)
    list(s.rawLxc)
  }
  out.push(END)
  return out
}

const sameInputs = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The single mutable state of one sandbox. */
export class LabState {
  readonly seed: number
  readonly nodeName: string
  readonly epochBase: number
  timeScale: number
  readonly clockMode: "real" | "manual"
  flags: LabFlags
  readonly faults: FaultStore

  readonly guests = new Map<number, Guest>()
  readonly stores = new Map<string, Store>()
  readonly users = new Map<string, User>()
  readonly tokens = new Map<string, Token>()
  readonly roles: Map<string, Role>
  readonly profile: LabProfile
  readonly groups = new Map<string, { groupid: string; comment: string }>()
  acl: Array<AclEntry> = []
  readonly pools = new Map<string, Pool>()
  readonly hostUnits = new Map<string, Unit>()
  readonly journals = new Map<MachineId, Array<JournalEntry>>()
  aptUpdates: Array<AptUpdate> = []
  packages: Array<PackageVersion> = []
  aptListsUpdated = 0
  zfsPools: Array<ZfsPool> = []
  network: Array<NetIface> = []
  node!: NodeInfo
  machines: MachineRegistry | undefined = undefined
  /** The certificate the API serves (set by the HTTPS listener; `/etc/pve/local/pve-ssl.pem`). */
  apiCertificate: { readonly pem: string; readonly sha256Colon: string } | undefined = undefined
  /** The SSH host key (set by H2's SSH listener; `/etc/ssh/ssh_host_ed25519_key.pub`). */
  sshHostKey: { readonly publicKey: string; readonly fingerprint: string } | undefined = undefined
  /** Guest-agent exec results keyed by `vmid:pid`. */
  readonly agentExecs = new Map<string, { exited: boolean; exitcode?: number; stdout?: string; stderr?: string }>()

  private readonly realStart = Date.now()
  private manualOffset = 0
  private readonly taskTable = new Map<string, TaskInternal>()
  private readonly taskOrder: Array<string> = []
  private pidCounter: number
  private eventSeq = 0
  private readonly eventLog: Array<SandboxEvent> = []
  private readonly listeners = new Set<(e: SandboxEvent) => void>()
  private readonly pidRng: Rng
  private lastUpidStart = 0

  constructor(options: LabStateOptions) {
    this.seed = options.seed
    this.nodeName = options.nodeName ?? "pve"
    this.epochBase = options.epochBase ?? 1772442000
    this.timeScale = options.timeScale ?? 1
    this.clockMode = options.clock ?? "real"
    this.profile = options.profile ?? "pve-9.1"
    this.roles = builtinRoles(this.profile === "pve-8.4" ? "8.x" : "9.x")
    this.flags = { ...defaultFlags(), ...(this.profile === "pve-8.4" ? { agentPrivileges: "8.x" as const, pvesmHeader: "plain" as const } : {}), ...options.flags }
    this.faults = new FaultStore(this.seed, () => this.now() - this.epochBase)
    this.pidRng = makeRng(this.seed, "pid")
    this.pidCounter = 200000 + this.pidRng.int(0, 50000)
    this.users.set("root@pam", {
      userid: "root@pam",
      enable: 1,
      expire: 0,
      firstname: "",
      lastname: "",
      email: "root@localhost",
      comment: "",
      groups: []
    })
  }

  // ---------------------------------------------------------------------------------------------
  // Clock, randomness, events
  // ---------------------------------------------------------------------------------------------

  /** Virtual epoch seconds (float). */
  now(): number {
    const real = this.clockMode === "manual" ? 0 : (Date.now() - this.realStart) / 1000 / this.timeScale
    return this.epochBase + real + this.manualOffset
  }

  /** Virtual epoch seconds, floored. */
  nowInt(): number {
    return Math.floor(this.now())
  }

  /** Moves virtual time forward and finalises tasks that ended. */
  advance(seconds: number): void {
    this.manualOffset += Math.max(0, seconds)
    this.settle()
  }

  /** Real milliseconds a virtual duration takes. */
  realMs(virtualSeconds: number): number {
    return Math.max(0, virtualSeconds * 1000 * this.timeScale)
  }

  /** Sleeps a virtual duration (real clock: scaled; manual clock: until `advance` moved time that far). */
  sleep(virtualSeconds: number): Effect.Effect<void> {
    const until = this.now() + virtualSeconds
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      const left = until - this.now()
      if (left <= 0) return Effect.void
      const ms = this.clockMode === "manual" ? 5 : Math.max(1, Math.ceil(this.realMs(left)))
      return Effect.sleep(Duration.millis(ms)).pipe(Effect.zipRight(loop))
    })
    return loop
  }

  /** A seeded stream keyed by `(seed, subsystem, key)`. */
  rng(subsystem: string, key: string | number = ""): Rng {
    return makeRng(this.seed, subsystem, key)
  }

  /** Appends an event (seq and time are filled in) and notifies subscribers. */
  record(event: Omit<SandboxEvent, "seq" | "at">): SandboxEvent {
    const e: SandboxEvent = { ...event, seq: ++this.eventSeq, at: this.now() }
    this.eventLog.push(e)
    if (this.eventLog.length > 100000) this.eventLog.splice(0, 10000)
    for (const l of this.listeners) l(e)
    return e
  }

  /** A copy of the recorded events. */
  events(): ReadonlyArray<SandboxEvent> {
    return this.eventLog.slice()
  }

  /** Subscribes to new events; returns the unsubscribe function. */
  subscribe(listener: (e: SandboxEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Changes profile flags. */
  setFlags(flags: Partial<LabFlags>): void {
    this.flags = { ...this.flags, ...flags }
  }

  /** Installs H2's machine registry. */
  setMachines(registry: MachineRegistry): void {
    this.machines = registry
  }

  /** Next process id (monotonic, seeded start). */
  nextPid(): number {
    this.pidCounter += 1 + this.pidRng.int(0, 40)
    return this.pidCounter
  }

  // ---------------------------------------------------------------------------------------------
  // Guests
  // ---------------------------------------------------------------------------------------------

  /** Adds a guest (lab builders). */
  addGuest(guest: Guest): void {
    this.guests.set(guest.vmid, guest)
  }

  /** The guest or undefined. */
  getGuest(vmid: number): Guest | undefined {
    this.settle()
    return this.guests.get(vmid)
  }

  /** Guests sorted by vmid, optionally one type. */
  listGuests(type?: GuestType): Array<Guest> {
    this.settle()
    const out = [...this.guests.values()].filter((g) => type === undefined || g.type === type)
    return out.sort((a, b) => a.vmid - b.vmid)
  }

  /** `CT 100` / `VM 100`. */
  label(g: Guest): string {
    return `${g.type === "lxc" ? "CT" : "VM"} ${g.vmid}`
  }

  /** PVE's "does not exist" message for a missing guest config. */
  missingConfigMessage(vmid: number | string, type: GuestType): string {
    return `Configuration file 'nodes/${this.nodeName}/${type === "lxc" ? "lxc" : "qemu-server"}/${vmid}.conf' does not exist`
  }

  /** Name shown in lists. */
  guestName(g: Guest): string {
    const n = g.type === "lxc" ? g.config["hostname"] : g.config["name"]
    return n ?? (g.type === "lxc" ? `CT${g.vmid}` : `VM ${g.vmid}`)
  }

  /** Bytes of RAM configured. */
  maxmem(g: Guest): number {
    return Number(g.config["memory"] ?? "512") * 1024 * 1024
  }

  /** Root disk size in bytes (rootfs for LXC, first boot disk for QEMU). */
  maxdisk(g: Guest): number {
    const disk = g.type === "lxc" ? g.config["rootfs"] : (g.config["scsi0"] ?? g.config["virtio0"] ?? g.config["sata0"])
    const m = /size=(\d+(?:\.\d+)?)([KMGT]?)/.exec(disk ?? "")
    if (!m) return 0
    const unit = { "": 1, K: 1024, M: 1024 ** 2, G: GiB, T: 1024 ** 4 }[m[2] as "" | "K" | "M" | "G" | "T"]
    return Math.round(Number(m[1]) * unit)
  }

  /** Live metrics at the current virtual time (smooth seeded series). */
  guestMetrics(g: Guest): {
    cpu: number
    cpus: number
    mem: number
    maxmem: number
    swap: number
    maxswap: number
    disk: number
    maxdisk: number
    diskread: number
    diskwrite: number
    netin: number
    netout: number
    uptime: number
  } {
    const t = this.now()
    const running = g.status === "running"
    const uptime = running && g.startedAt !== undefined ? Math.max(0, Math.floor(t - g.startedAt)) : 0
    const wave = Math.sin(t / 600 + g.metrics.phase)
    const cpus = Number(g.config["cores"] ?? "1") * (g.type === "qemu" ? Number(g.config["sockets"] ?? "1") : 1)
    const maxmem = this.maxmem(g)
    const maxdisk = this.maxdisk(g)
    return {
      cpu: running ? Math.max(0, Number((g.metrics.cpuBase * (1 + 0.3 * wave)).toFixed(6))) : 0,
      cpus,
      mem: running ? Math.floor(maxmem * Math.min(0.95, g.metrics.memShare * (1 + 0.05 * wave))) : 0,
      maxmem,
      swap: 0,
      maxswap: g.type === "lxc" ? Number(g.config["swap"] ?? "512") * 1024 * 1024 : 0,
      disk: g.type === "lxc" ? Math.min(maxdisk, g.metrics.diskUsed) : 0,
      maxdisk,
      diskread: running ? Math.floor(uptime * g.metrics.ioRate * 3) : 0,
      diskwrite: running ? Math.floor(uptime * g.metrics.ioRate) : 0,
      netin: running ? Math.floor(uptime * g.metrics.netRate) : 0,
      netout: running ? Math.floor(uptime * g.metrics.netRate * 0.4) : 0,
      uptime
    }
  }

  /** Whether the guest can snapshot, and why not (§3.2 simplified rule). */
  snapshotCapability(g: Guest): { capable: boolean; reason?: string } {
    if (g.config["template"] === "1") return { capable: false, reason: "you can't take a snapshot if it's a template" }
    if (g.type === "lxc") {
      for (const [k, v] of Object.entries(g.config)) {
        if (/^dev\d+$/.test(k)) return { capable: false, reason: "snapshot feature is not available" }
        if (/^mp\d+$/.test(k)) {
          const vol = v.split(",")[0] ?? ""
          if (vol.startsWith("/")) return { capable: false, reason: "snapshot feature is not available" }
        }
      }
      if (g.rawLxc.some(([k]) => k.startsWith("lxc.mount") || k.startsWith("lxc.cgroup2.devices"))) {
        return { capable: false, reason: "snapshot feature is not available" }
      }
      const rootStore = (g.config["rootfs"] ?? "").split(":")[0]!
      if (this.stores.get(rootStore)?.type === "dir") return { capable: false, reason: "snapshot feature is not available" }
    } else {
      for (const [k, v] of Object.entries(g.config)) {
        if (/^hostpci\d+$/.test(k)) return { capable: false, reason: "snapshot feature is not available" }
        if (/^(scsi|virtio|sata|ide)\d+$/.test(k) && !v.includes("media=cdrom")) {
          const vol = v.split(",")[0] ?? ""
          const store = this.stores.get(vol.split(":")[0]!)
          if (vol.startsWith("/") || (store?.type === "dir" && /\.raw$/.test(vol))) {
            return { capable: false, reason: "snapshot feature is not available" }
          }
        }
      }
    }
    return { capable: true }
  }

  /** The `.conf` text as pmxcfs holds it (digest is SHA-1 of this). */
  renderConfig(g: Guest): string {
    return this.renderSection(g.config, g.type === "lxc" ? g.rawLxc : []) + this.renderSnapshots(g)
  }

  private renderSection(config: Record<string, string>, raw: ReadonlyArray<[string, string]>): string {
    let out = ""
    const desc = config["description"]
    if (desc !== undefined && desc.length > 0) {
      // PVE keeps descriptions as comment lines, escaping only '%', ':' and control characters (`https%3A//…`)
      for (const line of desc.split("\n")) out += `#${line.replace(DESCRIPTION_ESCAPE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)}\n`
    }
    for (const k of Object.keys(config).sort()) {
      if (k === "description" || k === "digest") continue
      out += `${k}: ${config[k]}\n`
    }
    for (const [k, v] of raw) out += `${k}: ${v}\n`
    return out
  }

  private renderSnapshots(g: Guest): string {
    let out = ""
    for (const name of [...g.snapshots.keys()].sort()) {
      const s = g.snapshots.get(name)!
      const cfg: Record<string, string> = { ...s.config }
      if (s.parent !== undefined) cfg["parent"] = s.parent
      else delete cfg["parent"]
      cfg["snaptime"] = String(s.snaptime)
      if (s.vmstate !== undefined && g.type === "qemu") cfg["vmstate"] = String(s.vmstate)
      if (s.snapstate !== undefined) cfg["snapstate"] = s.snapstate
      if (s.description.length > 0) cfg["description"] = s.description
      else delete cfg["description"]
      out += `\n[${name}]\n` + this.renderSection(cfg, s.rawLxc)
    }
    return out
  }

  /**
   * SHA-1 hex of the rendered config. Remembered per guest with everything the text is made of, compared
   * value by value on each call (a 500-guest census asks for every digest): any change, in place or not,
   * renders the text again.
   */
  configDigest(g: Guest): string {
    const inputs = digestInputs(g)
    const known = this.digests.get(g)
    if (known !== undefined && sameInputs(known.inputs, inputs)) return known.digest
    const digest = sha1(this.renderConfig(g))
    this.digests.set(g, { inputs, digest })
    return digest
  }
  private readonly digests = new WeakMap<Guest, { readonly inputs: ReadonlyArray<unknown>; readonly digest: string }>()

  /** Parses a written `.conf` (main section only; snapshots are kept) back into the guest. */
  writeConfigText(vmid: number, text: string): Either.Either<Guest, LabError> {
    const g = this.guests.get(vmid)
    if (!g) return fail(this.missingConfigMessage(vmid, "lxc"))
    const config: Record<string, string> = {}
    const raw: Array<[string, string]> = []
    const desc: Array<string> = []
    for (const line of text.split("\n")) {
      if (line.startsWith("[")) break
      if (line.startsWith("#")) {
        desc.push(line.slice(1).replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))))
        continue
      }
      const m = /^([a-z][a-z0-9_.-]*)\s*[:=]\s*(.*)$/i.exec(line)
      if (!m) continue
      if (m[1]!.startsWith("lxc.")) raw.push([m[1]!, m[2]!])
      else config[m[1]!] = m[2]!
    }
    if (desc.length > 0) config["description"] = desc.join("\n")
    g.config = config
    g.rawLxc = raw
    this.record({ kind: "state", detail: `config ${vmid} written` })
    return Either.right(g)
  }

  /** Snapshots in the order `GET …/snapshot` lists them (seeded), then `current`. */
  listSnapshots(vmid: number): Array<SnapshotListEntry> {
    const g = this.getGuest(vmid)
    if (!g) return []
    const names = [...g.snapshots.keys()].sort()
    const order = makeRng(this.seed, "snaporder", `${vmid}:${g.snapshotOrderSeed}`).shuffle(names)
    const out: Array<SnapshotListEntry> = order.map((n) => ({ kind: "snapshot", snapshot: g.snapshots.get(n)! }))
    const parent = g.config["parent"]
    out.push({
      kind: "current",
      ...(parent !== undefined ? { parent } : {}),
      running: g.status === "running" ? 1 : 0,
      digest: this.configDigest(g)
    })
    return out
  }

  private lockCheck(g: Guest): Either.Either<void, LabError> {
    const lock = g.config["lock"]
    if (lock !== undefined) return Either.left(new LabError({ message: `${g.type === "lxc" ? "CT" : "VM"} is locked (${lock})`, status: 500 }))
    return Either.right(undefined)
  }

  private guestOrFail(vmid: number, type?: GuestType): Either.Either<Guest, LabError> {
    const g = this.getGuest(vmid)
    if (!g || (type !== undefined && g.type !== type)) return fail(this.missingConfigMessage(vmid, type ?? "lxc"))
    return Either.right(g)
  }

  private markRunning(g: Guest): void {
    g.status = "running"
    g.qmpstatus = "running"
    g.pid = this.nextPid()
    g.startedAt = this.now()
    if (g.type === "qemu" && (g.config["agent"] ?? "0") !== "0" && g.role !== "no-agent") g.agent.running = true
    if (g.type === "lxc") this.setUnit(`pve-container@${g.vmid}`, "active", "running")
  }

  private markStopped(g: Guest): void {
    g.status = "stopped"
    g.qmpstatus = "stopped"
    delete g.pid
    delete g.startedAt
    g.agent.running = false
    if (g.type === "lxc") this.setUnit(`pve-container@${g.vmid}`, "inactive", "dead")
  }

  private setUnit(name: string, active: Unit["activeState"], sub: string): void {
    const u = this.hostUnits.get(name)
    if (u) {
      u.activeState = active
      u.subState = sub
      u.mainPid = active === "active" ? this.nextPid() : 0
      u.activeEnterTimestamp = this.nowInt()
    } else {
      this.hostUnits.set(name, {
        name,
        description: `PVE LXC Container: ${name.replace(/^.*@/, "")}`,
        activeState: active,
        subState: sub,
        unitFileState: "static",
        mainPid: active === "active" ? this.nextPid() : 0,
        activeEnterTimestamp: this.nowInt()
      })
    }
  }

  private prefix(g: Guest): "vz" | "qm" {
    return g.type === "lxc" ? "vz" : "qm"
  }

  /** Starts a guest (task `vzstart`/`qmstart`). */
  startGuest(vmid: number, by: Principal = ROOT, options: { type?: GuestType; ident?: string } = {}): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      if (g.type === "lxc" && g.status === "running") return fail(`CT ${vmid} already running`)
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked)) return Either.left(locked.left)
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}start`,
          id: String(vmid),
          by,
          duration: DURATIONS[g.type].start,
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          run: (task) => {
            if (g.status === "running") return { _tag: "error", message: `VM ${vmid} already running` }
            if (g.type === "qemu") task.log.push(`swtpm_setup: Not overwriting existing state file.`)
            this.markRunning(g)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Stops a guest hard (task `vzstop`/`qmstop`). */
  stopGuest(vmid: number, by: Principal = ROOT, options: { type?: GuestType; ident?: string } = {}): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      if (g.status !== "running") return fail(`${this.label(g)} not running`)
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked)) return Either.left(locked.left)
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}stop`,
          id: String(vmid),
          by,
          duration: DURATIONS[g.type].stop,
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          run: () => {
            this.markStopped(g)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Clean shutdown (task `vzshutdown`/`qmshutdown`); a guest ignoring it fails after `timeout` unless `forceStop`. */
  shutdownGuest(
    vmid: number,
    by: Principal = ROOT,
    options: { type?: GuestType; timeout?: number; forceStop?: boolean; ident?: string } = {}
  ): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      if (g.status !== "running") return fail(`${this.label(g)} not running`)
      if (g.qmpstatus === "paused") return fail("VM is paused - cannot shutdown")
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked)) return Either.left(locked.left)
      const timeout = options.timeout ?? (g.type === "lxc" ? 60 : 180)
      const ignores = g.ignoresShutdown
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}shutdown`,
          id: String(vmid),
          by,
          duration: ignores ? timeout : DURATIONS[g.type].shutdown,
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          run: (task) => {
            if (ignores && options.forceStop !== true) {
              return { _tag: "error", message: g.type === "qemu" ? "VM quit/powerdown failed" : `shutdown failed: container did not stop within ${timeout} seconds` }
            }
            if (ignores) task.log.push("Stopping container forcefully after timeout")
            this.markStopped(g)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Reboot (task `vzreboot`/`qmreboot`). */
  rebootGuest(vmid: number, by: Principal = ROOT, options: { type?: GuestType; ident?: string } = {}): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      if (g.status !== "running") return fail(`VM ${vmid} not running`)
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked)) return Either.left(locked.left)
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}reboot`,
          id: String(vmid),
          by,
          duration: DURATIONS[g.type].reboot,
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          run: () => {
            this.markRunning(g)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Creates a snapshot (task `vzsnapshot`/`qmsnapshot`); failures (duplicate, capability) happen in the task. */
  createSnapshot(
    vmid: number,
    name: string,
    by: Principal = ROOT,
    options: { type?: GuestType; description?: string; vmstate?: boolean; ident?: string } = {}
  ): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      if (g.type === "lxc" && (name === "current" || name === "vzdump")) return fail(`unable to use snapshot name '${name}' (reserved name)`)
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked)) return Either.left(locked.left)
      const vmstate = g.type === "qemu" && options.vmstate === true && g.status === "running"
      let failure: string | undefined
      if (name === "current" || name === "vzdump") failure = `unable to use snapshot name '${name}' (reserved name)`
      else if (g.snapshots.has(name)) failure = `snapshot name '${name}' already used`
      else {
        const cap = this.snapshotCapability(g)
        if (!cap.capable) failure = cap.reason ?? "snapshot feature is not available"
      }
      const full = this.isStoreFull(this.rootStore(g))
      if (failure === undefined && full) failure = "No space left on device"
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}snapshot`,
          id: String(vmid),
          by,
          duration: failure !== undefined ? 0.2 : DURATIONS[g.type].snapshot + (vmstate ? DURATIONS.vmstateExtra : 0),
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          begin: () => {
            if (failure !== undefined) return
            g.config["lock"] = "snapshot"
            const { lock: _l, parent: _p, ...frozen } = g.config
            g.snapshots.set(name, {
              name,
              description: options.description ?? "",
              snaptime: this.nowInt(),
              ...(g.config["parent"] !== undefined ? { parent: g.config["parent"] } : {}),
              ...(g.type === "qemu" ? { vmstate: vmstate ? 1 : 0 } : {}),
              snapstate: "prepare",
              config: frozen,
              rawLxc: g.rawLxc.map(([k, v]) => [k, v] as [string, string])
            })
          },
          run: (task) => {
            if (failure !== undefined) return { _tag: "error", message: failure }
            const s = g.snapshots.get(name)
            delete g.config["lock"]
            if (!s) return { _tag: "error", message: `snapshot '${name}' vanished` }
            delete s.snapstate
            g.config["parent"] = name
            if (g.type === "lxc") task.log.push(`create storage snapshot '${name}'`)
            else task.log.push(vmstate ? "saving VM state and RAM using storage 'local-lvm'" : `snapshotting 'drive-scsi0' (${g.config["scsi0"]?.split(",")[0] ?? ""})`)
            void this.machines?.onSnapshot?.(vmid, name)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Deletes a snapshot (task `vzdelsnapshot`/`qmdelsnapshot`); unknown names fail in the task. */
  deleteSnapshot(
    vmid: number,
    name: string,
    by: Principal = ROOT,
    options: { type?: GuestType; force?: boolean; ident?: string } = {}
  ): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      const exists = g.snapshots.has(name)
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked) && options.force !== true) return Either.left(locked.left)
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}delsnapshot`,
          id: String(vmid),
          by,
          duration: exists ? DURATIONS[g.type].delsnapshot : 0.2,
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          begin: () => {
            const s = g.snapshots.get(name)
            if (s) s.snapstate = "delete"
          },
          run: () => {
            const s = g.snapshots.get(name)
            if (!s) return { _tag: "error", message: `snapshot '${name}' does not exist` }
            for (const other of g.snapshots.values()) {
              if (other.parent === name) {
                if (s.parent !== undefined) other.parent = s.parent
                else delete other.parent
              }
            }
            if (g.config["parent"] === name) {
              if (s.parent !== undefined) g.config["parent"] = s.parent
              else delete g.config["parent"]
            }
            g.snapshots.delete(name)
            g.snapshotOrderSeed++
            void this.machines?.onDeleteSnapshot?.(vmid, name)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Rolls back to a snapshot (task `vzrollback`/`qmrollback`). */
  rollbackSnapshot(
    vmid: number,
    name: string,
    by: Principal = ROOT,
    options: { type?: GuestType; start?: boolean; ident?: string } = {}
  ): Either.Either<Task, LabError> {
    return Either.flatMap(this.guestOrFail(vmid, options.type), (g) => {
      const locked = this.lockCheck(g)
      if (Either.isLeft(locked)) return Either.left(locked.left)
      const s = g.snapshots.get(name)
      let failure: string | undefined
      if (!s) failure = `snapshot '${name}' does not exist`
      else if (s.snapstate === "prepare") failure = "unable to rollback to incomplete snapshot (snapstate = prepare)"
      return Either.right(
        this.createTask({
          type: `${this.prefix(g)}rollback`,
          id: String(vmid),
          by,
          duration: failure !== undefined ? 0.2 : DURATIONS[g.type].rollback,
          ...(options.ident !== undefined ? { ident: options.ident } : {}),
          begin: () => {
            if (failure === undefined) g.config["lock"] = "rollback"
          },
          run: () => {
            if (failure !== undefined || !s) return { _tag: "error", message: failure ?? "snapshot vanished" }
            const wasRunning = g.status === "running"
            g.config = { ...s.config, parent: name }
            g.rawLxc = s.rawLxc.map(([k, v]) => [k, v] as [string, string])
            void this.machines?.onRollback?.(vmid, name)
            if (g.type === "lxc") {
              if (wasRunning) this.markStopped(g)
            } else if (s.vmstate === 1) {
              this.markRunning(g)
            } else if (wasRunning) this.markStopped(g)
            if (options.start === true && g.status !== "running") this.markRunning(g)
            return { _tag: "ok" }
          }
        })
      )
    })
  }

  /** Root store id of a guest (`local-lvm` from `local-lvm:vm-101-disk-0`). */
  rootStore(g: Guest): string {
    const disk = g.type === "lxc" ? g.config["rootfs"] : (g.config["scsi0"] ?? g.config["virtio0"] ?? "")
    return (disk ?? "").split(":")[0] ?? ""
  }

  /** Backup (task `vzdump`, id = vmid); the archive appears in the store's content. */
  backupGuest(
    vmid: number,
    storage: string,
    by: Principal = ROOT,
    options: { mode?: "snapshot" | "suspend" | "stop"; notes?: string; protected?: boolean; ident?: string } = {}
  ): Either.Either<Task, LabError> {
    return this.backupGuests([vmid], storage, by, options)
  }

  /**
   * One `vzdump` task over several guests (id = the vmid when there is one, else empty), each archive
   * added to the store's content; any guest failing makes the task end with `job errors`.
   */
  backupGuests(
    vmids: ReadonlyArray<number>,
    storage: string,
    by: Principal = ROOT,
    options: { mode?: "snapshot" | "suspend" | "stop"; notes?: string; protected?: boolean; ident?: string } = {}
  ): Either.Either<Task, LabError> {
    const guests: Array<Guest> = []
    for (const vmid of vmids) {
      const g = this.getGuest(vmid)
      if (!g) return fail(`Unable to find configuration file for VM ${vmid} on node '${this.nodeName}'`)
      guests.push(g)
    }
    if (guests.length === 0) return fail("no guests selected for backup")
    const store = this.stores.get(storage)
    if (!store) return fail(`storage '${storage}' does not exist`)
    const mode = options.mode ?? "snapshot"
    const sizeOf = (g: Guest) => Math.max(64 * 1024 * 1024, Math.floor((g.type === "lxc" ? this.guestMetrics(g).disk : this.maxdisk(g) * 0.3) * 0.45))
    const durationOf = (g: Guest) => DURATIONS.vzdumpBase + DURATIONS.vzdumpPerGiB * (sizeOf(g) / GiB)
    const usable = () => store.content.includes("backup") && !this.isStoreFull(storage)
    return Either.right(
      this.createTask({
        type: "vzdump",
        id: guests.length === 1 ? String(guests[0]!.vmid) : "",
        by,
        duration: guests.reduce((acc, g) => acc + durationOf(g), 0),
        ...(options.ident !== undefined ? { ident: options.ident } : {}),
        log: [`INFO: starting new backup job: vzdump ${vmids.join(" ")} --storage ${storage} --mode ${mode} --compress zstd`],
        begin: () => {
          if (usable()) for (const g of guests) if (g.config["lock"] === undefined) g.config["lock"] = "backup"
        },
        run: (task) => {
          for (const g of guests) if (g.config["lock"] === "backup") delete g.config["lock"]
          if (!store.content.includes("backup")) return { _tag: "error", message: `can't use storage '${storage}' for backups - wrong content type` }
          let failed = 0
          let offset = 0
          for (const g of guests) {
            task.log.push(`INFO: Starting Backup of VM ${g.vmid} (${g.type})`)
            if (this.isStoreFull(storage)) {
              task.log.push(`ERROR: Backup of VM ${g.vmid} failed - No space left on device`)
              failed++
              continue
            }
            if (mode === "snapshot" && g.type === "lxc" && !this.snapshotCapability(g).capable) {
              task.log.push("INFO: mode failure - some volumes do not support snapshots", "INFO: trying 'suspend' mode instead")
            }
            const d = new Date(Math.floor(task.starttime + offset) * 1000)
            offset += durationOf(g)
            const p = (n: number) => String(n).padStart(2, "0")
            const stamp = `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`
            const file = `vzdump-${g.type}-${g.vmid}-${stamp}.${g.type === "lxc" ? "tar" : "vma"}.zst`
            this.addVolume(storage, {
              volid: `${storage}:backup/${file}`,
              format: g.type === "lxc" ? "tar.zst" : "vma.zst",
              size: sizeOf(g),
              ctime: Math.floor(task.starttime + offset),
              vmid: g.vmid,
              ...(options.notes !== undefined ? { notes: options.notes.replace(/\{\{guestname\}\}/g, this.guestName(g)).replace(/\{\{vmid\}\}/g, String(g.vmid)) } : {}),
              ...(options.protected === true ? { protected: 1 as const } : {}),
              content: "backup",
              backupOf: { type: g.type, config: { ...g.config } }
            })
            task.log.push(`INFO: creating vzdump archive '${store.props["path"] ?? "/var/lib/vz"}/dump/${file}'`, `INFO: Finished Backup of VM ${g.vmid}`)
          }
          if (failed > 0) {
            if (guests.length === 1) return { _tag: "error", message: "No space left on device" }
            return { _tag: "error", message: "job errors" }
          }
          task.log.push("INFO: Backup job finished successfully")
          return { _tag: "ok" }
        }
      })
    )
  }

  // ---------------------------------------------------------------------------------------------
  // Storage
  // ---------------------------------------------------------------------------------------------

  /** Adds a store (lab builders). */
  addStore(store: Store): void {
    this.stores.set(store.id, store)
  }

  /** True when the store is marked full or a `storageFull` fault targets it. */
  isStoreFull(id: string): boolean {
    const s = this.stores.get(id)
    if (!s) return false
    return s.full || this.faults.hasStatic({ kind: "store", storage: id }, "storageFull")
  }

  /** `{total, used, avail}` in bytes; a full store reports used = total. */
  storeUsage(id: string): { total: number; used: number; avail: number } {
    const s = this.stores.get(id)
    if (!s) return { total: 0, used: 0, avail: 0 }
    if (this.isStoreFull(id)) return { total: s.total, used: s.total, avail: 0 }
    const volumes = s.volumes.reduce((acc, v) => acc + (s.type === "lvmthin" || s.type === "zfspool" ? Math.floor(v.size * 0.35) : v.size), 0)
    const used = Math.min(s.total, s.baseUsed + volumes)
    return { total: s.total, used, avail: s.total - used }
  }

  /** Adds a volume to a store. */
  addVolume(storeId: string, volume: Volume): void {
    const s = this.stores.get(storeId)
    if (s) {
      s.volumes.push(volume)
      this.record({ kind: "state", detail: `volume ${volume.volid} added` })
    }
  }

  /** `/etc/pve/storage.cfg` text. */
  renderStorageCfg(): string {
    let out = ""
    for (const s of this.stores.values()) {
      out += `${s.type}: ${s.id}\n`
      for (const [k, v] of Object.entries(s.props)) out += `\t${k} ${v}\n`
      out += `\tcontent ${s.content.join(",")}\n`
      if (s.shared === 1 && s.type !== "nfs" && s.type !== "pbs") out += `\tshared 1\n`
      if (s.enabled === 0) out += `\tdisable\n`
      out += "\n"
    }
    return out
  }

  // ---------------------------------------------------------------------------------------------
  // Tasks
  // ---------------------------------------------------------------------------------------------

  /** Creates and starts a task; a `taskFail`/`taskStall`/`taskWarnings` fault decides its fate now. */
  createTask(spec: TaskSpec): Task {
    this.settle()
    const now = this.now()
    let starttime = Math.floor(now)
    if (starttime < this.lastUpidStart) starttime = this.lastUpidStart
    this.lastUpidStart = starttime
    const pid = this.nextPid()
    const pstart = Math.min(999999999, Math.floor((now - this.node.bootTime) * 100))
    const user = spec.by.tokenid !== undefined ? `${spec.by.userid}!${spec.by.tokenid}` : spec.by.userid
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0")
    const upid = `UPID:${this.nodeName}:${hex(pid)}:${hex(pstart)}:${hex(starttime)}:${spec.type}:${spec.id}:${user}:`
    const task: Task = {
      upid,
      node: this.nodeName,
      pid,
      pstart,
      starttime,
      type: spec.type,
      id: spec.id,
      user: spec.by.userid,
      ...(spec.by.tokenid !== undefined ? { tokenid: spec.by.tokenid } : {}),
      duration: spec.duration,
      status: "running",
      log: [...(spec.log ?? [])]
    }
    const internal: TaskInternal = { task, endsAt: now + spec.duration, spec }
    for (const hit of this.faults.match({ kind: "task", type: spec.type, id: spec.id })) {
      if (hit.effect._tag === "taskFail") internal.forced = { _tag: "error", message: hit.effect.exitstatus }
      else if (hit.effect._tag === "taskStall") internal.endsAt = Number.POSITIVE_INFINITY
      else if (hit.effect._tag === "taskWarnings") internal.forced = { _tag: "warnings", count: hit.effect.count }
      if (hit.effect._tag === "taskFail" || hit.effect._tag === "taskStall" || hit.effect._tag === "taskWarnings") {
        this.record({ kind: "fault", decision: hit.rule.id, detail: `${hit.effect._tag} ${upid}` })
      }
    }
    this.taskTable.set(upid, internal)
    this.taskOrder.push(upid)
    this.runningUpids.add(upid)
    const ident = spec.ident ?? "pvedaemon"
    const identPid = this.identPid(ident)
    this.appendJournal("host", { time: now, ident, pid: identPid, priority: 6, message: `<${user}> starting task ${upid}` })
    this.record({ kind: "task", principal: user, decision: "started", detail: upid })
    spec.begin?.(task)
    return task
  }

  private identPid(ident: string): number {
    const u = this.hostUnits.get(ident)
    return u && u.mainPid > 0 ? u.mainPid + 3 : 1000 + makeRng(this.seed, "identpid", ident).int(0, 8000)
  }

  /** Finalises every running task whose virtual end time has passed (in end order). */
  settle(): void {
    if (this.taskTable.size === 0) return
    const now = this.now()
    const due: Array<TaskInternal> = []
    for (const upid of this.runningUpids) {
      const t = this.taskTable.get(upid)!
      if (t.endsAt <= now) due.push(t)
    }
    if (due.length === 0) return
    due.sort((a, b) => a.endsAt - b.endsAt)
    for (const t of due) this.finish(t)
  }

  private readonly runningUpids = new Set<string>()

  private finish(t: TaskInternal): void {
    if (t.task.status === "stopped") return
    this.runningUpids.delete(t.task.upid)
    let outcome: TaskOutcome
    if (t.forced?._tag === "error") {
      outcome = t.forced
      this.undoBegin(t.task)
    } else {
      try {
        outcome = t.spec.run?.(t.task) ?? { _tag: "ok" }
      } catch (e) {
        outcome = { _tag: "error", message: e instanceof Error ? e.message : String(e) }
      }
      if (outcome._tag === "ok" && t.forced?._tag === "warnings") outcome = t.forced
    }
    const endtime = Math.max(t.task.starttime, Math.floor(Math.min(t.endsAt, this.now())))
    t.task.status = "stopped"
    t.task.endtime = endtime
    if (outcome._tag === "ok") {
      t.task.exitstatus = "OK"
      t.task.log.push("TASK OK")
    } else if (outcome._tag === "warnings") {
      for (let i = 0; i < outcome.count; i++) t.task.log.push(`WARN: simulated warning ${i + 1}`)
      t.task.exitstatus = `WARNINGS: ${outcome.count}`
      t.task.log.push(`TASK WARNINGS: ${outcome.count}`)
    } else {
      t.task.exitstatus = outcome.message
      t.task.log.push(`TASK ERROR: ${outcome.message}`)
    }
    const user = t.task.tokenid !== undefined ? `${t.task.user}!${t.task.tokenid}` : t.task.user
    const ident = t.spec.ident ?? "pvedaemon"
    this.appendJournal("host", {
      time: endtime,
      ident,
      pid: this.identPid(ident),
      priority: outcome._tag === "error" ? 3 : 6,
      message: `<${user}> end task ${t.task.upid} ${t.task.exitstatus}`
    })
    this.record({ kind: "task", principal: user, decision: t.task.exitstatus, detail: t.task.upid })
  }

  private undoBegin(task: Task): void {
    const vmid = Number(task.id)
    const g = this.guests.get(vmid)
    if (!g) return
    if (/^(vz|qm)snapshot$/.test(task.type)) {
      for (const [name, s] of g.snapshots) if (s.snapstate === "prepare" && s.snaptime >= task.starttime) g.snapshots.delete(name)
    }
    if (/^(vz|qm)delsnapshot$/.test(task.type)) {
      for (const s of g.snapshots.values()) if (s.snapstate === "delete") delete s.snapstate
    }
    if (["snapshot", "rollback", "backup"].includes(g.config["lock"] ?? "")) delete g.config["lock"]
  }

  /** The task (settled) or undefined. */
  getTask(upid: string): Task | undefined {
    this.settle()
    return this.taskTable.get(upid)?.task
  }

  /** All tasks, newest first (as PVE lists them). */
  listTasks(): Array<Task> {
    this.settle()
    const out: Array<Task> = []
    for (let i = this.taskOrder.length - 1; i >= 0; i--) out.push(this.taskTable.get(this.taskOrder[i]!)!.task)
    return out
  }

  /** Waits (virtual time) until the task stopped; returns it. Interrupting the wait does not cancel the task. */
  awaitTask(upid: string): Effect.Effect<Task> {
    const loop: Effect.Effect<Task> = Effect.suspend(() => {
      const t = this.taskTable.get(upid)
      if (!t) return Effect.dieMessage(`unknown task ${upid}`)
      this.settle()
      if (t.task.status === "stopped") return Effect.succeed(t.task)
      const left = t.endsAt - this.now()
      const ms = this.clockMode === "manual" || !Number.isFinite(left) ? 5 : Math.max(1, Math.ceil(this.realMs(left)))
      return Effect.sleep(Duration.millis(ms)).pipe(Effect.zipRight(loop))
    })
    return loop
  }

  /** Stops a running task (`DELETE …/tasks/{upid}`): it ends with `interrupted by signal`. */
  stopTask(upid: string): boolean {
    const t = this.taskTable.get(upid)
    if (!t || t.task.status === "stopped") return false
    t.forced = { _tag: "error", message: "interrupted by signal" }
    t.endsAt = this.now()
    this.finish(t)
    return true
  }

  // ---------------------------------------------------------------------------------------------
  // Access
  // ---------------------------------------------------------------------------------------------

  private accessVersion = 0
  private permCache = new Map<string, PrivMap>()
  private permCacheVersion = -1

  /** Invalidates cached permission decisions; every access mutation method calls it (call it after mutating access maps directly). */
  touchAccess(): void {
    this.accessVersion++
  }

  /** Effective privileges (priv → propagate) of a user or token on a path (memoised until the next access change). */
  permissions(authid: string, path: string): PrivMap {
    if (this.permCacheVersion !== this.accessVersion) {
      this.permCache = new Map()
      this.permCacheVersion = this.accessVersion
    }
    const key = `${authid}\u0000${path}`
    const cached = this.permCache.get(key)
    if (cached) return cached
    const result = resolvePermissions({ users: this.users, tokens: this.tokens, roles: this.roles, acl: this.acl, pools: this.pools }, authid, path)
    if (this.permCache.size > 50000) this.permCache.clear()
    this.permCache.set(key, result)
    return result
  }

  /** Adds a user; fails when it exists. */
  addUser(userid: string, fields: Partial<Omit<User, "userid">> = {}): Either.Either<User, LabError> {
    if (this.users.has(userid)) return fail(`create user failed: user '${userid}' already exists`)
    if (!/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(userid)) return fail(`value '${userid}' does not look like a valid user name`, 400)
    const u: User = { userid, enable: 1, expire: 0, firstname: "", lastname: "", email: "", comment: "", groups: [], ...fields }
    this.users.set(userid, u)
    this.touchAccess()
    this.record({ kind: "state", detail: `user ${userid} added` })
    return Either.right(u)
  }

  /** Deletes a user with its tokens and ACL entries. */
  deleteUser(userid: string): Either.Either<void, LabError> {
    if (!this.users.has(userid)) return fail(`delete user failed: no such user '${userid}'`)
    this.users.delete(userid)
    for (const key of [...this.tokens.keys()]) if (key.startsWith(`${userid}!`)) this.tokens.delete(key)
    this.acl = this.acl.filter((e) => e.ugid !== userid && !e.ugid.startsWith(`${userid}!`))
    this.touchAccess()
    this.record({ kind: "state", detail: `user ${userid} deleted` })
    return Either.right(undefined)
  }

  /** Adds a token; returns it with its fresh UUID secret (seeded). */
  addToken(userid: string, tokenid: string, options: { privsep?: 0 | 1; expire?: number; comment?: string; secret?: string } = {}): Either.Either<Token, LabError> {
    if (!this.users.has(userid)) return fail(`no such user ('${userid}')`)
    if (!/^[A-Za-z][A-Za-z0-9.\-_]+$/.test(tokenid)) return fail(`tokenid: invalid format - invalid token ID '${tokenid}'`, 400)
    const full = `${userid}!${tokenid}`
    if (this.tokens.has(full)) return fail("tokenid: Token already exists.")
    const token: Token = {
      userid,
      tokenid,
      privsep: options.privsep ?? 1,
      expire: options.expire ?? 0,
      comment: options.comment ?? "",
      secret: options.secret ?? this.rng("token-secret", `${full}#${this.tokenGeneration++}`).uuid()
    }
    this.tokens.set(full, token)
    this.touchAccess()
    this.record({ kind: "state", detail: `token ${full} added` })
    return Either.right(token)
  }

  private tokenGeneration = 0

  /** Removes a token and its ACL entries. */
  removeToken(userid: string, tokenid: string): Either.Either<void, LabError> {
    const full = `${userid}!${tokenid}`
    if (!this.tokens.delete(full)) return fail(`no such token '${tokenid}' for user '${userid}'`)
    this.acl = this.acl.filter((e) => e.ugid !== full)
    this.touchAccess()
    this.record({ kind: "state", detail: `token ${full} removed` })
    return Either.right(undefined)
  }

  /** Adds a custom role; privileges must be known. */
  addRole(roleid: string, privs: ReadonlyArray<string>): Either.Either<Role, LabError> {
    if (this.roles.has(roleid)) return fail(`role '${roleid}' already exists`)
    const bad = privs.find((p) => !this.knownPriv(p))
    if (bad !== undefined) return fail(`invalid privilege '${bad}'`, 400)
    const role: Role = { roleid, privs: [...new Set(privs)].sort(), special: 0 }
    this.roles.set(roleid, role)
    this.touchAccess()
    this.record({ kind: "state", detail: `role ${roleid} added` })
    return Either.right(role)
  }

  /** Modifies a custom role (replace, or `append`). */
  modifyRole(roleid: string, privs: ReadonlyArray<string>, append = false): Either.Either<Role, LabError> {
    const role = this.roles.get(roleid)
    if (!role) return fail(`role '${roleid}' does not exist`)
    if (role.special === 1) return fail(`cannot modify role '${roleid}' - builtin role`, 400)
    const bad = privs.find((p) => !this.knownPriv(p))
    if (bad !== undefined) return fail(`invalid privilege '${bad}'`, 400)
    role.privs = [...new Set(append ? [...role.privs, ...privs] : privs)].sort()
    this.touchAccess()
    this.record({ kind: "state", detail: `role ${roleid} modified` })
    return Either.right(role)
  }

  /** Deletes a custom role and its ACL entries. */
  deleteRole(roleid: string): Either.Either<void, LabError> {
    const role = this.roles.get(roleid)
    if (!role) return fail(`role '${roleid}' does not exist`)
    if (role.special === 1) return fail(`cannot delete role '${roleid}' - builtin role`, 400)
    this.roles.delete(roleid)
    this.acl = this.acl.filter((e) => e.roleid !== roleid)
    this.touchAccess()
    return Either.right(undefined)
  }

  private knownPriv(p: string): boolean {
    return builtinRoles(this.profile === "pve-8.4" ? "8.x" : "9.x").get("Administrator")!.privs.includes(p)
  }

  /** Adds ACL entries (`pveum acl modify`): every subject × role on the path. */
  modifyAcl(
    path: string,
    subjects: { users?: ReadonlyArray<string>; groups?: ReadonlyArray<string>; tokens?: ReadonlyArray<string> },
    roles: ReadonlyArray<string>,
    propagate: 0 | 1 = 1
  ): Either.Either<void, LabError> {
    const p = normalizePath(path)
    const bad = roles.find((r) => !this.roles.has(r))
    if (bad !== undefined) return fail(`role '${bad}' does not exist`)
    const add = (type: AclEntry["type"], ugid: string) => {
      for (const roleid of roles) {
        const existing = this.acl.find((e) => e.path === p && e.type === type && e.ugid === ugid && e.roleid === roleid)
        if (existing) existing.propagate = propagate
        else this.acl.push({ path: p, type, ugid, roleid, propagate })
      }
    }
    for (const u of subjects.users ?? []) {
      if (!this.users.has(u)) return fail(`user '${u}' does not exist`)
      add("user", u)
    }
    for (const g of subjects.groups ?? []) {
      if (!this.groups.has(g)) return fail(`group '${g}' does not exist`)
      add("group", g)
    }
    for (const t of subjects.tokens ?? []) {
      if (!this.tokens.has(t)) return fail(`token '${t}' does not exist`)
      add("token", t)
    }
    this.touchAccess()
    this.record({ kind: "state", detail: `acl ${p} modified` })
    return Either.right(undefined)
  }

  /** Removes ACL entries (`pveum acl delete`). */
  deleteAcl(
    path: string,
    subjects: { users?: ReadonlyArray<string>; groups?: ReadonlyArray<string>; tokens?: ReadonlyArray<string> },
    roles: ReadonlyArray<string>
  ): void {
    const p = normalizePath(path)
    const who = new Set([...(subjects.users ?? []), ...(subjects.groups ?? []), ...(subjects.tokens ?? [])])
    this.acl = this.acl.filter((e) => !(e.path === p && who.has(e.ugid) && roles.includes(e.roleid)))
    this.touchAccess()
    this.record({ kind: "state", detail: `acl ${p} deleted` })
  }

  /** `/etc/pve/user.cfg` text. */
  renderUserCfg(): string {
    let out = ""
    for (const u of this.users.values()) {
      out += `user:${u.userid}:${u.enable}:${u.expire}:${u.firstname}:${u.lastname}:${u.email}:${u.comment}::\n`
    }
    for (const t of this.tokens.values()) out += `token:${t.userid}!${t.tokenid}:${t.expire}:${t.privsep}:${t.comment}:\n`
    out += "\n"
    for (const g of this.groups.values()) {
      const members = [...this.users.values()].filter((u) => u.groups.includes(g.groupid)).map((u) => u.userid)
      out += `group:${g.groupid}:${members.join(",")}:${g.comment}:\n`
    }
    for (const r of this.roles.values()) if (r.special === 0) out += `role:${r.roleid}:${r.privs.join(",")}:\n`
    out += "\n"
    const byKey = new Map<string, { propagate: 0 | 1; path: string; who: string; roles: Array<string> }>()
    for (const e of this.acl) {
      const who = e.type === "group" ? `@${e.ugid}` : e.ugid
      const key = `${e.propagate}:${e.path}:${who}`
      const entry = byKey.get(key) ?? { propagate: e.propagate, path: e.path, who, roles: [] }
      entry.roles.push(e.roleid)
      byKey.set(key, entry)
    }
    for (const e of byKey.values()) out += `acl:${e.propagate}:${e.path}:${e.who}:${e.roles.join(",")}:\n`
    return out
  }

  /** `/etc/pve/priv/token.cfg` text. */
  renderTokenCfg(): string {
    return [...this.tokens.values()].map((t) => `${t.userid}!${t.tokenid} ${t.secret}\n`).join("")
  }

  /**
   * Provisions the product identity as setup does (tiers-setup.md §2): user `mcp@pve`, role
   * `MCPOperate`, one privsep token per listed tier, ACLs on `/` for the user and each token.
   * Returns the tokens. The sandbox provisions all three tiers so one lab serves every tier.
   */
  provision(tiers: ReadonlyArray<"observe" | "operate" | "companion">): Array<Token> {
    if (!this.users.has("mcp@pve")) this.addUser("mcp@pve", { comment: "homelab MCP server" })
    if (!this.roles.has("MCPOperate")) this.addRole("MCPOperate", ["Sys.Audit", "VM.Audit", "VM.PowerMgmt", "Datastore.Audit"])
    const highest = tiers.includes("operate") || tiers.includes("companion") ? ["PVEAuditor", "MCPOperate"] : ["PVEAuditor"]
    this.modifyAcl("/", { users: ["mcp@pve"] }, highest, 1)
    const out: Array<Token> = []
    for (const tier of tiers) {
      const id = `mcp-${tier}`
      const existing = this.tokens.get(`mcp@pve!${id}`)
      const token = existing ?? Either.getOrThrow(this.addToken("mcp@pve", id, { privsep: 1 }))
      this.modifyAcl("/", { tokens: [`mcp@pve!${id}`] }, tier === "observe" ? ["PVEAuditor"] : ["PVEAuditor", "MCPOperate"], 1)
      out.push(token)
    }
    return out
  }

  // ---------------------------------------------------------------------------------------------
  // Node
  // ---------------------------------------------------------------------------------------------

  /** Appends a journal entry to a machine's journal. */
  appendJournal(machine: MachineId, entry: JournalEntry): void {
    let j = this.journals.get(machine)
    if (!j) {
      j = []
      this.journals.set(machine, j)
    }
    j.push(entry)
  }

  /** Node load, CPU and memory at the current virtual time (smooth seeded series). */
  nodeStatus(): {
    uptime: number
    cpu: number
    wait: number
    loadavg: [string, string, string]
    memUsed: number
    swapUsed: number
    rootfsUsed: number
  } {
    const t = this.now()
    const running = [...this.guests.values()].filter((g) => g.status === "running")
    const guestMem = running.reduce((acc, g) => acc + this.guestMetrics(g).mem, 0)
    const wave = (p: number) => Math.sin(t / 900 + p)
    const l = this.node.loadBase
    const f = (x: number) => Math.max(0, x).toFixed(2)
    return {
      uptime: Math.floor(t - this.node.bootTime),
      cpu: Number(Math.max(0.001, (l / this.node.threads) * (1 + 0.3 * wave(0))).toFixed(6)),
      wait: Number((0.0005 + 0.0004 * (1 + wave(1))).toFixed(6)),
      loadavg: [f(l * (1 + 0.3 * wave(0))), f(l * (1 + 0.2 * wave(0.5))), f(l * (1 + 0.1 * wave(1)))],
      memUsed: Math.min(this.node.memTotal - 1024 ** 3, this.node.memBase + guestMem),
      swapUsed: 0,
      rootfsUsed: this.node.rootfsUsed
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Export
  // ---------------------------------------------------------------------------------------------

  /** Deterministic JSON text of the whole state (same seed and operations ⇒ same bytes). */
  exportState(): string {
    this.settle()
    const guests = this.listGuests().map((g) => ({
      vmid: g.vmid,
      type: g.type,
      status: g.status,
      qmpstatus: g.qmpstatus,
      pid: g.pid ?? null,
      startedAt: g.startedAt ?? null,
      os: g.os,
      role: g.role,
      ip: g.ip,
      hwaddr: g.hwaddr,
      ignoresShutdown: g.ignoresShutdown,
      agent: g.agent,
      metrics: g.metrics,
      conf: this.renderConfig(g),
      config: g.config,
      rawLxc: g.rawLxc,
      snapshots: [...g.snapshots.values()].sort((a, b) => a.name.localeCompare(b.name)),
      snapshotOrderSeed: g.snapshotOrderSeed,
      docker: g.docker
    }))
    const stores = [...this.stores.values()].map((s) => ({ ...s, volumes: s.volumes.map((v) => ({ ...v })) }))
    return JSON.stringify({
      format: "homelab-mcp-sandbox-state/1",
      seed: this.seed,
      profile: this.profile,
      epochBase: this.epochBase,
      node: this.node,
      guests,
      stores,
      userCfg: this.renderUserCfg(),
      tokenCfg: this.renderTokenCfg(),
      access: {
        users: [...this.users.values()],
        tokens: [...this.tokens.values()],
        roles: [...this.roles.values()].filter((r) => r.special === 0),
        groups: [...this.groups.values()],
        acl: this.acl,
        pools: [...this.pools.values()]
      },
      tasks: this.taskOrder.map((u) => this.taskTable.get(u)!.task),
      units: [...this.hostUnits.values()],
      apt: this.aptUpdates,
      aptListsUpdated: this.aptListsUpdated,
      packages: this.packages,
      zfs: this.zfsPools,
      network: this.network,
      journalHost: this.journals.get("host") ?? []
    })
  }

  /**
   * A LabState from `exportState()` text (same seed, profile and data; virtual time resumes after the
   * latest task or journal entry, since the export carries no wall-clock value so it stays deterministic).
   * Tasks that were still running come back stopped with `interrupted by signal`.
   */
  static importState(text: string, options: Omit<LabStateOptions, "seed" | "epochBase" | "profile"> = {}): Either.Either<LabState, LabError> {
    let data: any
    try {
      data = JSON.parse(text)
    } catch {
      return fail("state file is not JSON; pass a file written by exportState / --state")
    }
    if (data?.format !== "homelab-mcp-sandbox-state/1") return fail("state file has no 'format: homelab-mcp-sandbox-state/1'; pass a file written by exportState / --state")
    const lab = new LabState({ ...options, seed: data.seed, epochBase: data.epochBase, profile: data.profile })
    const latest = Math.max(
      data.epochBase,
      ...(data.tasks as Array<Task>).map((t) => t.endtime ?? t.starttime),
      ...(data.journalHost as Array<JournalEntry>).map((e) => e.time)
    )
    lab.manualOffset = Math.max(0, latest - lab.now())
    lab.node = data.node
    for (const g of data.guests) {
      lab.guests.set(g.vmid, {
        vmid: g.vmid,
        type: g.type,
        config: g.config,
        rawLxc: g.rawLxc,
        status: g.status,
        qmpstatus: g.qmpstatus,
        ...(g.pid !== null ? { pid: g.pid } : {}),
        ...(g.startedAt !== null ? { startedAt: g.startedAt } : {}),
        snapshots: new Map(g.snapshots.map((s: Snapshot) => [s.name, s])),
        snapshotOrderSeed: g.snapshotOrderSeed,
        agent: g.agent,
        ignoresShutdown: g.ignoresShutdown,
        os: g.os,
        role: g.role,
        docker: g.docker,
        metrics: g.metrics,
        ip: g.ip,
        hwaddr: g.hwaddr
      })
    }
    for (const st of data.stores) lab.stores.set(st.id, st)
    lab.users.clear()
    for (const u of data.access.users) lab.users.set(u.userid, u)
    for (const t of data.access.tokens) lab.tokens.set(`${t.userid}!${t.tokenid}`, t)
    for (const r of data.access.roles) lab.roles.set(r.roleid, r)
    for (const g of data.access.groups) lab.groups.set(g.groupid, g)
    for (const p of data.access.pools) lab.pools.set(p.poolid, p)
    lab.acl = data.access.acl
    for (const t of data.tasks as Array<Task>) {
      const task: Task =
        t.status === "running"
          ? { ...t, status: "stopped", endtime: Math.floor(latest), exitstatus: "interrupted by signal", log: [...t.log, "TASK ERROR: interrupted by signal"] }
          : t
      lab.taskTable.set(task.upid, { task, endsAt: task.endtime ?? task.starttime, spec: { type: task.type, id: task.id, by: { userid: task.user }, duration: task.duration } })
      lab.taskOrder.push(task.upid)
      lab.lastUpidStart = Math.max(lab.lastUpidStart, task.starttime)
      lab.pidCounter = Math.max(lab.pidCounter, task.pid)
    }
    for (const u of data.units) lab.hostUnits.set(u.name, u)
    lab.aptUpdates = data.apt
    lab.aptListsUpdated = data.aptListsUpdated
    lab.packages = data.packages
    lab.zfsPools = data.zfs
    lab.network = data.network
    lab.journals.set("host", data.journalHost)
    for (const g of lab.guests.values()) if (g.pid !== undefined) lab.pidCounter = Math.max(lab.pidCounter, g.pid)
    lab.touchAccess()
    return Either.right(lab)
  }
}
