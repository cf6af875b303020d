/**
 * The health check collector (census-health.md §2): API rows for node (load, memory, zfs), storage
 * (`store:`), guests (`onboot-guests`) and units (`pve-services`); below companion `updates`,
 * `failed-units` and `df` are listed in `unavailable[]` and never requested (lessons E2: no
 * `/apt/update`). Sections are isolated: a failure becomes a section error and `complete:false`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Option from "effect/Option"
import type { ToolError } from "../Errors.js"
import { NodeShell } from "../capabilities/NodeShell.js"
import { PveApi, apiPath } from "../capabilities/PveApi.js"
import { Tier, includes } from "../Tier.js"
import * as Permits from "../Permits.js"
import { ErrorEntry } from "../census/Document.js"
import * as Probe from "../census/Probe.js"
import * as Pve from "../census/Pve.js"
import type { HealthSettings } from "../census/Settings.js"
import * as Ssh from "../census/Ssh.js"
import * as Df from "./Df.js"
import * as Rules from "./Rules.js"
import type { HealthSection } from "./Rules.js"

/** The health document's schema version. */
export const SCHEMA_VERSION = 1 as const

/** A check this tier cannot run. */
export const UnavailableCheck = Schema.Struct({
  section: Rules.HealthSection,
  check: Schema.optional(Schema.String),
  unavailableAtTier: Tier,
  reason: Schema.String
})
export type UnavailableCheck = typeof UnavailableCheck.Type

/** The `health_check` output. */
export const HealthReport = Schema.Struct({
  schemaVersion: Schema.Literal(SCHEMA_VERSION),
  ts: Schema.String,
  tier: Tier,
  status: Rules.Status,
  complete: Schema.Boolean,
  findings: Schema.Array(Rules.Finding),
  hiddenFindings: Schema.optional(Rules.HiddenFindings),
  errors: Schema.Array(ErrorEntry),
  unavailable: Schema.Array(UnavailableCheck)
})
export type HealthReport = typeof HealthReport.Type

/** What one call asks for. */
export interface Request {
  readonly sections: ReadonlyArray<HealthSection>
  readonly includePseudoFs: boolean
  readonly tier: Tier
}

/** What a row contributes. */
interface RowValue {
  readonly rated: ReadonlyArray<Rules.Rated>
  readonly errors: ReadonlyArray<ErrorEntry>
}

const visible = (finding: Rules.Finding): Rules.Rated => ({ finding, pseudo: false })

const fromRule = (section: HealthSection, r: Rules.Finding | Rules.RuleError, errors: Array<ErrorEntry>): Array<Rules.Rated> => {
  if ("_tag" in r) {
    errors.push({ section, probe: r.check, error: r.message })
    return []
  }
  return [visible(r)]
}

/** The checks below companion that need SSH (census-health.md §2.4). */
export const unavailableBelowCompanion = (sections: ReadonlyArray<HealthSection>): Array<UnavailableCheck> => {
  const out: Array<UnavailableCheck> = []
  if (sections.includes("storage"))
    out.push({ section: "storage", check: "fs", unavailableAtTier: "companion", reason: "filesystem usage (df) is read over SSH, which needs the companion tier" })
  if (sections.includes("units"))
    out.push({ section: "units", check: "failed-units", unavailableAtTier: "companion", reason: "failed systemd units are listed over SSH, which needs the companion tier" })
  if (sections.includes("updates"))
    out.push({
      section: "updates",
      check: "updates",
      unavailableAtTier: "companion",
      reason: "pending updates come from apt-get -s over SSH (the API needs Sys.Modify, which no tier has, and is never called)"
    })
  return out
}

/** Runs the requested checks and rolls them up. */
export const check = Effect.fn("Health.check")(function* (request: Request, settings: HealthSettings) {
  const api = yield* PveApi
  const node = api.node
  const started = yield* Clock.currentTimeMillis
  const permits = yield* Permits.make(settings.apiConcurrency)
  const get = <A, I>(path: string, schema: Schema.Schema<A, I>): Effect.Effect<A, ToolError> =>
    permits.withPermit(api.get(path, schema))
  const sections = Rules.healthSections.filter((s) => request.sections.includes(s))
  const rows: Array<Probe.Row<RowValue, never>> = []
  const companion = includes(request.tier, "companion")
  const shell = companion ? Option.getOrNull(yield* Effect.serviceOption(NodeShell)) : null
  const t = settings.probeTimeoutMs
  const noShell = (section: HealthSection, check: string): ErrorEntry => ({
    section,
    probe: check,
    error: "SSH is not configured (no NodeShell): set SSH_KEY_PATH and the host-key pin, or run `homelab-mcp doctor`"
  })
  const sshErrors: Array<ErrorEntry> = []
  const sshRows: Array<Probe.Row<RowValue, never>> = []

  if (sections.includes("node")) {
    rows.push({
      section: "node",
      key: "node-status",
      transport: "api",
      privilege: `Sys.Audit on /nodes/${node}`,
      run: Effect.gen(function* () {
        const [status, pools] = yield* Effect.all(
          [get(apiPath("nodes", node, "status"), Pve.NodeStatus), Effect.either(get(apiPath("nodes", node, "disks", "zfs"), Pve.ZfsPools))],
          { concurrency: "unbounded" }
        )
        const errors: Array<ErrorEntry> = []
        const rated = [...fromRule("node", Rules.load(status, settings), errors), ...fromRule("node", Rules.memory(status, settings), errors)]
        if (pools._tag === "Right") rated.push(visible(Rules.zfs(pools.right)))
        else errors.push({ section: "node", probe: "zfs", error: Probe.errorText(pools.left, "Sys.Audit on /") })
        return { rated, errors }
      })
    })
  }
  if (sections.includes("storage")) {
    rows.push({
      section: "storage",
      key: "storage",
      transport: "api",
      privilege: "Datastore.Audit",
      run: Effect.map(get(apiPath("nodes", node, "storage"), Pve.StorageList), (l) => ({
        rated: Rules.stores(l, settings).map(visible),
        errors: []
      }))
    })
  }
  if (sections.includes("guests")) {
    rows.push({
      section: "guests",
      key: "guest-lists",
      transport: "api",
      privilege: "VM.Audit",
      run: Effect.gen(function* () {
        const [lxc, qemu] = yield* Effect.all(
          [get(apiPath("nodes", node, "lxc"), Pve.GuestList), get(apiPath("nodes", node, "qemu"), Pve.GuestList)],
          { concurrency: "unbounded" }
        )
        const errors: Array<ErrorEntry> = []
        // Only guests that are not running (and not templates) can break the onboot rule: read their configs.
        const candidates = [
          ...lxc.map((e) => ({ e, type: "lxc" as const })),
          ...qemu.map((e) => ({ e, type: "qemu" as const }))
        ].filter(({ e }) => e.status !== "running" && e.template !== true)
        const guests = yield* Effect.forEach(
          candidates,
          ({ e, type }) =>
            get(apiPath("nodes", node, type, e.vmid, "config"), Pve.GuestConfig).pipe(
              Effect.map((config): Array<Rules.OnbootGuest> =>
                Pve.configFlag(config["template"])
                  ? []
                  : [{ vmid: e.vmid, kind: type === "lxc" ? "CT" : "VM", name: e.name ?? String(e.vmid), status: e.status, onboot: Pve.configFlag(config["onboot"]) }]
              ),
              Effect.catchAll((err: ToolError) => {
                errors.push({ section: "guests", probe: `config:${e.vmid}`, error: Probe.errorText(err, `VM.Audit on /vms/${e.vmid}`) })
                return Effect.succeed([])
              })
            ),
          { concurrency: "unbounded" }
        )
        return { rated: [visible(Rules.onbootGuests(guests.flat()))], errors }
      })
    })
  }
  if (sections.includes("units")) {
    rows.push({
      section: "units",
      key: "pve-services",
      transport: "api",
      privilege: `Sys.Audit on /nodes/${node}`,
      run: Effect.gen(function* () {
        const [services, nodes] = yield* Effect.all(
          [get(apiPath("nodes", node, "services"), Pve.ServiceList), get("/nodes", Pve.ClusterNodes)],
          { concurrency: "unbounded" }
        )
        return { rated: [visible(Rules.pveServices(services, nodes.length === 1, settings.failedUnitsCrit))], errors: [] }
      })
    })
  }

  if (companion && sections.includes("storage")) {
    if (shell === null) sshErrors.push(noShell("storage", "df"))
    else
      sshRows.push({
        section: "storage",
        key: "df",
        transport: "ssh",
        run: Effect.map(Ssh.outputLenient(shell, Ssh.dfArgv, t), (out) => {
          const parsed = Df.parse(out)
          return {
            rated: Rules.filesystems(parsed.rows, settings),
            errors: parsed.skipped > 0 ? [{ section: "storage", probe: "df", error: `${parsed.skipped} df line(s) could not be parsed` }] : []
          }
        })
      })
  }
  if (companion && sections.includes("units")) {
    if (shell === null) sshErrors.push(noShell("units", "failed-units"))
    else
      sshRows.push({
        section: "units",
        key: "failed-units",
        transport: "ssh",
        run: Effect.map(Ssh.output(shell, Ssh.failedUnitsArgv, t), (out) => ({
          rated: [visible(Rules.failedUnits(Ssh.parseFailedUnits(out), settings.failedUnitsCrit))],
          errors: []
        }))
      })
  }
  if (companion && sections.includes("updates")) {
    if (shell === null) sshErrors.push(noShell("updates", "updates"))
    else
      sshRows.push({
        section: "updates",
        key: "updates",
        transport: "ssh",
        run: Effect.gen(function* () {
          const [sim, mtime] = yield* Effect.all([Ssh.output(shell, Ssh.aptSimulateArgv, t), Ssh.output(shell, Ssh.aptListsMtimeArgv, t)], {
            concurrency: 2
          })
          const secs = Number(mtime.trim())
          if (!Number.isFinite(secs) || secs <= 0) {
            return { rated: [], errors: [{ section: "updates", probe: "apt-lists-mtime", error: `unexpected mtime ${JSON.stringify(mtime.trim().slice(0, 40))}` }] }
          }
          return { rated: [visible(Rules.updates(Rules.countPendingUpgrades(sim), new Date(secs * 1000).toISOString(), settings))], errors: [] }
        })
      })
  }
  const outcomes = yield* Probe.runRows([...rows, ...sshRows], {
    probeTimeoutMs: settings.probeTimeoutMs,
    deadline: started + settings.budgetMs,
    sshConcurrency: 4
  })
  // Keep findings in section order whatever order the rows finished in.
  const order = (f: Rules.Finding) => Rules.healthSections.indexOf(f.section)
  const rated: Array<Rules.Rated> = []
  const errors: Array<ErrorEntry> = [...sshErrors]
  for (const o of outcomes) {
    if (o._tag === "Done") {
      rated.push(...o.value.rated)
      errors.push(...o.value.errors)
    } else if (o._tag === "Failed") errors.push({ section: o.section, probe: o.key, error: o.text })
    else errors.push({ section: o.section, probe: o.key, error: "skipped: the time budget (MCP_CENSUS_BUDGET_MS) ran out" })
  }
  const unavailable = companion ? [] : unavailableBelowCompanion(sections)
  const roll = Rules.rollup([...rated].sort((a, b) => order(a.finding) - order(b.finding)), request.includePseudoFs)
  const report: HealthReport = {
    schemaVersion: SCHEMA_VERSION,
    ts: new Date(started).toISOString(),
    tier: request.tier,
    status: roll.status,
    complete: errors.length === 0,
    findings: roll.findings,
    ...(roll.hiddenFindings !== null ? { hiddenFindings: roll.hiddenFindings } : {}),
    errors,
    unavailable
  }
  return report
})
