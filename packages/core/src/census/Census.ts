/**
 * The census collector (census-health.md §1): API probe rows for node, storage, network, containers and
 * VMs; services and tailscale are `{unavailableAtTier:"companion"}` below companion. Per-guest config and
 * agent requests fan out under one bounded API semaphore shared by the whole call (ADR 0080), so the wall
 * time stays near the critical path (list → config → ping). Returns the raw (unredacted) document.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import * as Option from "effect/Option"
import type { ToolError } from "../Errors.js"
import { NodeShell } from "../capabilities/NodeShell.js"
import { type Outcome, PveApi, apiPath } from "../capabilities/PveApi.js"
import type { Tier } from "../Tier.js"
import { includes } from "../Tier.js"
import * as Permits from "../Permits.js"
import type { AgentState, CensusDocument, Depth, ErrorEntry, Guest, SectionName, Sections as SectionsT, ServiceItem, Tailscale, Truncation, Unavailable } from "./Document.js"
import { SCHEMA_VERSION, sectionNames } from "./Document.js"
import { capErrorText, capList } from "./Finalize.js"
import * as Probe from "./Probe.js"
import * as Pve from "./Pve.js"
import * as Sections from "./Sections.js"
import type { CensusSettings } from "./Settings.js"
import * as SnapshotCapable from "./SnapshotCapable.js"
import * as Ssh from "./Ssh.js"

/** What one census call asks for. */
export interface Request {
  readonly sections: ReadonlyArray<SectionName>
  readonly depth: Depth
  readonly tier: Tier
  readonly host: string | null
}

/** What a row contributes: the section value plus per-item errors and truncations. */
export interface RowValue {
  readonly value: unknown
  readonly errors: ReadonlyArray<ErrorEntry>
  readonly truncations: ReadonlyArray<Truncation>
}

/** The collected document, and the first probe error (the tool fails with it only if nothing was produced). */
export interface Collected {
  readonly doc: CensusDocument
  readonly producedAny: boolean
  readonly firstError: ToolError | null
}

/** Sections whose data comes over SSH (companion and root). */
export const sshSections: ReadonlySet<SectionName> = new Set(["services", "tailscale"])

/** The `Unavailable` status of an SSH section below companion. */
export const unavailable = (section: SectionName): Unavailable => ({
  unavailableAtTier: "companion",
  reason:
    section === "services"
      ? "failed units and Docker rosters are read over SSH, which needs the companion tier"
      : "tailscale status is read over SSH, which needs the companion tier"
})

type Get = <A, I>(path: string, schema: Schema.Schema<A, I>) => Effect.Effect<A, ToolError>

/** Runs one node command under the call's SSH bound (`null` below companion). */
type Exec = ((argv: ReadonlyArray<string>) => Effect.Effect<NodeShellResult, ToolError>) | null
type NodeShellResult = { readonly exitCode: number | null; readonly stdout: string; readonly stderr: string }

/** A VM's agent state from its config alone, or `null` when only a ping can tell. */
const agentFromConfig = (entry: Pve.GuestEntry, config: Pve.GuestConfig): AgentState | null => {
  const configured = SnapshotCapable.agentConfigured(config)
  if (!configured) return { configured, running: false, reason: "the guest agent is not enabled in the VM config" }
  if (entry.status !== "running") return { configured, running: false, reason: `the VM is ${entry.status}` }
  return null
}

/** A configured, running VM's agent state from its ping; a 403 asks `qm agent ping` over SSH where there is SSH. */
const agentFromPing = (exec: Exec, entry: Pve.GuestEntry, ping: Outcome<unknown>): Effect.Effect<AgentState> => {
  const configured = true
  if (ping._tag === "Right") return Effect.succeed({ configured, running: true })
  const e = ping.left
  if (e._tag !== "ApiForbidden") return Effect.succeed({ configured, running: false, reason: capErrorText(e.message, 200) })
  if (exec === null) return Effect.succeed({ configured, running: null, reason: "agent ping refused (403): the token lacks VM.GuestAgent.Audit" })
  // Companion and root: `qm agent <vmid> ping` over SSH (Proxmox VE 8 wants VM.Monitor, which no tier has).
  return exec(["qm", "agent", String(entry.vmid), "ping"]).pipe(
    Effect.map((r): AgentState =>
      r.exitCode === 0
        ? { configured, running: true }
        : { configured, running: false, reason: capErrorText(`qm agent ping (SSH): ${r.stderr.trim() || `exit ${r.exitCode}`}`, 200) }
    ),
    Effect.catchAll((se) => Effect.succeed<AgentState>({ configured, running: null, reason: capErrorText(`qm agent ping (SSH) failed: ${se.message}`, 200) }))
  )
}

/** The fan-out of one guest section: batches of requests under the call's permits (ADR 0094). */
interface Fan {
  readonly api: PveApi.Service
  readonly permits: Permits.Permits
  readonly exec: Exec
  readonly node: string
}

const guestRow = (
  type: "lxc" | "qemu",
  list: Effect.Effect<ReadonlyArray<Pve.GuestEntry>, ToolError>,
  fan: Fan,
  depth: Depth,
  maxItems: number,
  storageTypes: Effect.Effect<ReadonlyMap<string, string>>,
  turn: FanOutTurn
): Effect.Effect<RowValue, ToolError> =>
  Effect.gen(function* () {
    const section = type === "lxc" ? "containers" : "vms"
    const { kept, truncation } = capList(section, Sections.sortGuests(yield* list), maxItems)
    const truncations = truncation === null ? [] : [truncation]
    if (depth === "summary") {
      return { value: kept.map((entry) => Sections.guest({ type, entry, depth, storageTypes: new Map() })), errors: [], truncations }
    }
    const types = yield* storageTypes
    const errors: Array<ErrorEntry> = []
    const { api, permits, exec, node } = fan
    const configs = (entries: ReadonlyArray<Pve.GuestEntry>) =>
      api.getEach(entries.map((entry) => apiPath("nodes", node, type, entry.vmid, "config")), Pve.GuestConfig, { permits })
    const built = new Map<number, Guest>()
    const build = (entries: ReadonlyArray<Pve.GuestEntry>, outcomes: ReadonlyArray<Outcome<Pve.GuestConfig>>, agents?: ReadonlyMap<number, AgentState>) =>
      entries.forEach((entry, i) => {
        const outcome = outcomes[i]!
        if (outcome._tag === "Right") {
          const config = outcome.right
          const agent = type === "qemu" ? (agents?.get(entry.vmid) ?? agentFromConfig(entry, config) ?? undefined) : undefined
          built.set(entry.vmid, Sections.guest({ type, entry, depth, config, storageTypes: types, agent }))
        } else {
          errors.push({ section, probe: `config:${entry.vmid}`, error: Probe.errorText(outcome.left, `VM.Audit on /vms/${entry.vmid}`) })
          built.set(entry.vmid, Sections.guest({ type, entry, depth, storageTypes: types }))
        }
      })
    // Critical path first: running VMs need list -> config -> agent ping, every other guest one round less,
    // so their configs go out first and their pings before every queued config.
    yield* turn.wait
    if (type === "lxc") {
      yield* turn.done
      build(kept, yield* configs(kept))
    } else {
      const running = kept.filter((g) => g.status === "running")
      const others = kept.filter((g) => g.status !== "running")
      const withAgents = Effect.gen(function* () {
        const outcomes = yield* configs(running)
        const agents = new Map<number, AgentState>()
        const toPing: Array<Pve.GuestEntry> = []
        running.forEach((entry, i) => {
          const outcome = outcomes[i]!
          if (outcome._tag === "Left") return
          const known = agentFromConfig(entry, outcome.right)
          if (known === null) toPing.push(entry)
          else agents.set(entry.vmid, known)
        })
        const pings = yield* api.postEach(toPing.map((entry) => apiPath("nodes", node, "qemu", entry.vmid, "agent", "ping")), Pve.AgentPing, { permits, urgent: true })
        yield* Effect.forEach(toPing, (entry, i) => Effect.map(agentFromPing(exec, entry, pings[i]!), (state) => void agents.set(entry.vmid, state)), {
          concurrency: "unbounded",
          discard: true
        })
        build(running, outcomes, agents)
      })
      // the batches are started in this order, then the containers get their turn
      yield* Effect.all([withAgents, Effect.map(configs(others), (outcomes) => build(others, outcomes)), turn.done], { concurrency: "unbounded", discard: true })
    }
    return { value: kept.map((entry) => built.get(entry.vmid)!), errors, truncations }
  })

/** When a guest section may fan out (`wait`) and how it lets the next one go (`done`). */
interface FanOutTurn {
  readonly wait: Effect.Effect<void>
  readonly done: Effect.Effect<void>
}

/** Services: one SSH call per running container (failed units and Docker roster); cached per census call. */
const servicesProbe = (
  lxcList: Effect.Effect<ReadonlyArray<Pve.GuestEntry>, ToolError>,
  exec: Exec,
  max: number
): Effect.Effect<RowValue, ToolError> =>
  Effect.gen(function* () {
    if (exec === null) return { value: [], errors: [], truncations: [] }
    const running = Sections.sortGuests(yield* lxcList).filter((g) => g.status === "running" && g.template !== true)
    const { kept, truncation } = capList("services", running, max)
    const errors: Array<ErrorEntry> = []
    const items = yield* Effect.forEach(
      kept,
      (g) =>
        exec(Ssh.containerArgv(g.vmid)).pipe(
          Effect.map((r): ServiceItem => {
            if (r.stdout.includes("@@")) return Ssh.parseContainerOutput(g.vmid, r.stdout)
            errors.push({ section: "services", probe: `pct-exec:${g.vmid}`, error: capErrorText(`exit ${r.exitCode}: ${r.stderr.trim()}`) })
            return { vmid: g.vmid, failedUnits: [], docker: [], note: "probe failed (see errors)" }
          }),
          Effect.catchAll((e: ToolError) => {
            errors.push({ section: "services", probe: `pct-exec:${g.vmid}`, error: Probe.errorText(e) })
            return Effect.succeed<ServiceItem>({ vmid: g.vmid, failedUnits: [], docker: [], note: "probe failed (see errors)" })
          })
        ),
      { concurrency: "unbounded" }
    )
    return { value: items, errors, truncations: truncation ? [truncation] : [] }
  })

/** Tailscale: the host first, then the first running container whose Docker roster mentions tailscale; never a bare null. */
const tailscaleProbe = (exec: Exec, rosters: Effect.Effect<RowValue, ToolError>): Effect.Effect<RowValue, ToolError> =>
  Effect.gen(function* () {
    if (exec === null) return { value: { scope: "none", reason: "SSH is not configured" } satisfies Tailscale, errors: [], truncations: [] }
    const host = yield* exec(["tailscale", "status", "--json"])
    const parsedHost = host.exitCode === 0 ? Ssh.parseTailscaleStatus(host.stdout) : null
    if (parsedHost !== null) return { value: { scope: "host", ...parsedHost } satisfies Tailscale, errors: [], truncations: [] }
    const services = (yield* rosters).value as ReadonlyArray<ServiceItem>
    const candidate = services
      .flatMap((s) => s.docker.filter((d) => /tailscale/i.test(d.name) || /tailscale/i.test(d.image)).map((d) => ({ vmid: s.vmid, name: d.name })))
      .at(0)
    if (candidate === undefined) {
      return {
        value: {
          scope: "none",
          reason: `tailscale is not running on the host, and no Docker container in the ${services.length} running container(s) has tailscale in its name or image`
        } satisfies Tailscale,
        errors: [],
        truncations: []
      }
    }
    const inner = yield* exec(["pct", "exec", String(candidate.vmid), "--", "docker", "exec", candidate.name, "tailscale", "status", "--json"])
    const parsed = inner.exitCode === 0 ? Ssh.parseTailscaleStatus(inner.stdout) : null
    if (parsed === null) {
      return {
        value: {
          scope: "none",
          reason: `found Docker container ${candidate.name} in CT ${candidate.vmid}, but its tailscale status could not be read (exit ${inner.exitCode})`
        } satisfies Tailscale,
        errors: [],
        truncations: []
      }
    }
    return { value: { scope: "container", vmid: candidate.vmid, container: candidate.name, ...parsed } satisfies Tailscale, errors: [], truncations: [] }
  })

/** Collects the requested sections over the API (SSH sections are unavailable below companion). */
export const collect = Effect.fn("Census.collect")(function* (request: Request, settings: CensusSettings) {
  const api = yield* PveApi
  const node = api.node
  const started = yield* Clock.currentTimeMillis
  const permits = yield* Permits.make(settings.apiConcurrency)
  const get: Get = (path, schema) => permits.withPermit(api.get(path, schema))
  const storageList = yield* Effect.cached(get(apiPath("nodes", node, "storage"), Pve.StorageList))
  const storageTypes = storageList.pipe(
    Effect.map((l): ReadonlyMap<string, string> => new Map(l.map((s) => [s.storage, s.type]))),
    Effect.orElseSucceed((): ReadonlyMap<string, string> => new Map())
  )
  const requested = sectionNames.filter((s) => request.sections.includes(s))
  const max = settings.maxItems
  const lxcList = yield* Effect.cached(get(apiPath("nodes", node, "lxc"), Pve.GuestList))
  const qemuList = yield* Effect.cached(get(apiPath("nodes", node, "qemu"), Pve.GuestList))
  const ssh = includes(request.tier, "companion") ? Option.getOrNull(yield* Effect.serviceOption(NodeShell)) : null
  const sshPermits = yield* Permits.make(settings.sshConcurrency)
  const exec: Exec =
    ssh === null
      ? null
      : (argv) => sshPermits.withPermit(ssh.exec(argv, { timeoutMs: settings.probeTimeoutMs }) as Effect.Effect<NodeShellResult, ToolError>)
  const rosters = yield* Effect.cached(servicesProbe(lxcList, exec, max))
  const fan: Fan = { api, permits, exec, node }

  // The VMs fan out before the containers (their chain is one round longer); the containers' turn also
  // comes when the VM row ends any other way (failed list, summary depth, timeout).
  const vmsFannedOut = yield* Deferred.make<void>()
  const vmsTurn: FanOutTurn = { wait: Effect.void, done: Deferred.succeed(vmsFannedOut, undefined) }
  const containersTurn: FanOutTurn = { wait: requested.includes("vms") ? Deferred.await(vmsFannedOut) : Effect.void, done: Effect.void }
  const rows: Array<Probe.Row<RowValue, never>> = []
  for (const section of requested) {
    switch (section) {
      case "node":
        rows.push({
          section,
          key: "node-status",
          transport: "api",
          privilege: `Sys.Audit on /nodes/${node}`,
          run: Effect.gen(function* () {
            const [status, zfs] = yield* Effect.all(
              [get(apiPath("nodes", node, "status"), Pve.NodeStatus), Effect.either(get(apiPath("nodes", node, "disks", "zfs"), Pve.ZfsPools))],
              { concurrency: "unbounded" }
            )
            const errors: Array<ErrorEntry> =
              zfs._tag === "Left" ? [{ section, probe: "zfs", error: Probe.errorText(zfs.left, "Sys.Audit on /") }] : []
            const pools = zfs._tag === "Right" ? zfs.right : null
            const value = Sections.node(status, pools)
            const cut = value.zpool === null ? null : capList("node.zpool", value.zpool.pools, max)
            return {
              value: cut === null || cut.truncation === null ? value : { ...value, zpool: { ...value.zpool!, pools: cut.kept } },
              errors,
              truncations: cut?.truncation ? [cut.truncation] : []
            }
          })
        })
        break
      case "storage":
        rows.push({
          section,
          key: "storage",
          transport: "api",
          privilege: "Datastore.Audit",
          run: Effect.map(storageList, (l) => {
            const { kept, truncation } = capList(section, Sections.storage(l), max)
            return { value: kept, errors: [], truncations: truncation ? [truncation] : [] }
          })
        })
        break
      case "network":
        rows.push({
          section,
          key: "network",
          transport: "api",
          run: Effect.map(get(apiPath("nodes", node, "network"), Pve.NetworkList), (l) => {
            const n = Sections.network(l)
            const ifaces = capList("network", n.ifaces, max)
            const bridges = capList("network", n.bridges, max)
            return {
              value: { ifaces: ifaces.kept, bridges: bridges.kept },
              errors: [],
              truncations: [ifaces.truncation, bridges.truncation].filter((t): t is Truncation => t !== null)
            }
          })
        })
        break
      case "containers":
      case "vms":
        rows.push({
          section,
          key: section === "containers" ? "lxc" : "qemu",
          transport: "api",
          privilege: "VM.Audit",
          run: guestRow(
            section === "containers" ? "lxc" : "qemu",
            section === "containers" ? lxcList : qemuList,
            fan,
            request.depth,
            max,
            storageTypes,
            section === "containers" ? containersTurn : vmsTurn
          ).pipe(Effect.ensuring(section === "containers" ? Effect.void : vmsTurn.done))
        })
        break
      case "services":
        if (exec !== null) rows.push({ section, key: "services", transport: "ssh", run: rosters })
        break
      case "tailscale":
        if (exec !== null) rows.push({ section, key: "tailscale", transport: "ssh", run: tailscaleProbe(exec, rosters) })
        break
    }
  }

  const outcomes = yield* Probe.runRows(rows, {
    probeTimeoutMs: settings.probeTimeoutMs,
    deadline: started + settings.budgetMs,
    sshConcurrency: settings.sshConcurrency
  })

  const sections: SectionsT = {}
  const errors: Array<ErrorEntry> = []
  const truncations: Array<Truncation> = []
  const incompleteSections: Array<SectionName> = []
  let firstError: ToolError | null = null
  let producedAny = false
  for (const section of requested) {
    if (sshSections.has(section) && !includes(request.tier, "companion")) {
      ;(sections as Record<string, unknown>)[section] = unavailable(section)
      producedAny = true
    } else if (sshSections.has(section) && exec === null) {
      errors.push({ section, probe: section, error: "SSH is not configured (no NodeShell): set SSH_KEY_PATH and the host-key pin, or run `homelab-mcp doctor`" })
    }
  }
  for (const o of outcomes) {
    const section = o.section as SectionName
    if (o._tag === "Done") {
      ;(sections as Record<string, unknown>)[section] = o.value.value
      errors.push(...o.value.errors)
      truncations.push(...o.value.truncations)
      producedAny = true
    } else if (o._tag === "Failed") {
      errors.push({ section, probe: o.key, error: o.text })
      firstError ??= o.error
    } else {
      incompleteSections.push(section)
    }
  }
  const doc: CensusDocument = {
    schemaVersion: SCHEMA_VERSION,
    ts: new Date(started).toISOString(),
    tier: request.tier,
    host: request.host,
    node,
    depth: request.depth,
    requested,
    sections,
    errors: [...errors].sort((a, b) => (a.section + a.probe < b.section + b.probe ? -1 : a.section + a.probe > b.section + b.probe ? 1 : 0)),
    redactions: 0,
    truncated: truncations.length > 0,
    truncations,
    incompleteSections,
    snapshotId: null
  }
  return { doc, producedAny, firstError } satisfies Collected
})
