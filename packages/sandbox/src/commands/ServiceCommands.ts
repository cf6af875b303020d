/**
 * `journalctl` and `systemctl` on systemd machines (host and Debian guests; Alpine has neither, 127)
 * with the formats of sandbox.md §5.1: journal `short`/`short-iso`/`json`/`cat`, `-- No entries --`,
 * `--since/--until` parsing (`Failed to parse timestamp: <x>`), `systemctl show -p` in systemd's
 * property order, `list-units --failed --no-legend --plain`, `is-active` (3), `restart` (new MainPID;
 * unknown → exit 5), `status`.
 */
import { defineCommand, type Command, type ExecResult } from "just-bash"
import type { LabState } from "../state/LabState.js"
import type { JournalEntry, MachineId, Unit } from "../state/types.js"
import type { Machine } from "../machines/Machine.js"
import { aborted, fail, ok } from "./Result.js"

/** Where a machine's journal and units live. */
export interface ServiceSource {
  readonly journal: () => ReadonlyArray<JournalEntry>
  readonly append: (entry: JournalEntry) => void
  readonly units: () => ReadonlyMap<string, Unit>
  readonly hostname: () => string
  readonly nowSec: () => number
  readonly nextPid: () => number
}

/** The host's journal and units (LabState). */
export const hostSource = (lab: LabState): ServiceSource => ({
  journal: () => lab.journals.get("host") ?? [],
  append: (e) => lab.appendJournal("host", e),
  units: () => lab.hostUnits,
  hostname: () => lab.nodeName,
  nowSec: () => lab.now(),
  nextPid: () => lab.nextPid()
})

/** A guest's journal (seeded boot lines + LabState entries) and units (kept on the machine). */
export const guestSource = (lab: LabState, machine: Machine, id: MachineId): ServiceSource => {
  const units = (machine.extras.get("units") as Map<string, Unit> | undefined) ?? new Map<string, Unit>()
  const boot = (): Array<JournalEntry> => {
    const out: Array<JournalEntry> = []
    let t = [...units.values()].reduce((min, u) => Math.min(min, u.activeEnterTimestamp || min), Number.POSITIVE_INFINITY)
    if (!Number.isFinite(t)) t = lab.now() - 3600
    out.push({ time: t - 3, ident: "systemd", pid: 1, priority: 6, message: "systemd 252.33-1~deb12u1 running in system mode (+PAM +AUDIT +SELINUX +APPARMOR +IMA +SMACK +SECCOMP +GCRYPT -GNUTLS +OPENSSL +ACL +BLKID +CURL +ELFUTILS +FIDO2 +IDN2 -IDN +IPTC +KMOD +LIBCRYPTSETUP +LIBFDISK +PCRE2 -PWQUALITY +P11KIT +QRENCODE +TPM2 +BZIP2 +LZ4 +XZ +ZLIB +ZSTD -BPF_FRAMEWORK -XKBCOMMON +UTMP +SYSVINIT default-hierarchy=unified)" })
    for (const u of [...units.values()].sort((a, b) => a.activeEnterTimestamp - b.activeEnterTimestamp)) {
      out.push({ time: u.activeEnterTimestamp, ident: "systemd", pid: 1, unit: u.name, priority: 6, message: `Starting ${u.name} - ${u.description}...` })
      out.push({ time: u.activeEnterTimestamp, ident: "systemd", pid: 1, unit: u.name, priority: u.activeState === "failed" ? 3 : 6, message: u.activeState === "failed" ? `${u.name}: Main process exited, code=exited, status=1/FAILURE` : `Started ${u.name} - ${u.description}.` })
    }
    return out
  }
  return {
    journal: () => [...boot(), ...(lab.journals.get(id) ?? [])].sort((a, b) => a.time - b.time),
    append: (e) => lab.appendJournal(id, e),
    units: () => units,
    hostname: () => machine.hostname(),
    nowSec: () => lab.now(),
    nextPid: () => 100 + Math.floor(machine.random() * 30000)
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
const p2 = (n: number) => String(n).padStart(2, "0")

const clock = (d: Date) => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`
const shortTime = (sec: number) => {
  const d = new Date(sec * 1000)
  return `${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${clock(d)}`
}
const isoTime = (sec: number) => {
  const d = new Date(sec * 1000)
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${clock(d)}+00:00`
}
/** `Mon 2026-03-02 09:00:12 UTC` */
export const systemdTime = (sec: number): string => {
  const d = new Date(sec * 1000)
  return `${DAYS[d.getUTCDay()]} ${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${clock(d)} UTC`
}

const unitName = (u: string) => (u.includes(".") ? u : `${u}.service`)
const baseName = (u: string) => u.replace(/\.service$/, "")

const findUnit = (units: ReadonlyMap<string, Unit>, name: string): Unit | undefined => units.get(name) ?? units.get(baseName(name)) ?? units.get(unitName(name))

/** Parses a journalctl timestamp into epoch seconds; undefined when invalid. */
export const parseSince = (v: string, nowSec: number): number | undefined => {
  const today = Math.floor(nowSec / 86400) * 86400
  if (v === "now") return nowSec
  if (v === "today") return today
  if (v === "yesterday") return today - 86400
  if (v === "tomorrow") return today + 86400
  if (/^@\d+(\.\d+)?$/.test(v)) return Number(v.slice(1))
  const rel = /^([+-])(\d+)\s*(s|sec|second|seconds|m|min|minute|minutes|h|hour|hours|d|day|days|w|week|weeks)$/.exec(v)
  const unitSec = (u: string) => (u.startsWith("s") ? 1 : u.startsWith("min") || u === "m" ? 60 : u.startsWith("h") ? 3600 : u.startsWith("d") ? 86400 : 604800)
  if (rel) return nowSec + (rel[1] === "-" ? -1 : 1) * Number(rel[2]) * unitSec(rel[3]!)
  const ago = /^(\d+)\s*(s|sec|second|min|minute|h|hour|d|day|w|week)s?\s+ago$/.exec(v)
  if (ago) return nowSec - Number(ago[1]) * unitSec(ago[2]!)
  const abs = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?(?: UTC)?$/.exec(v)
  if (abs) {
    const t = Date.UTC(Number(abs[1]), Number(abs[2]) - 1, Number(abs[3]), Number(abs[4] ?? 0), Number(abs[5] ?? 0), Number(abs[6] ?? 0))
    return Number.isNaN(t) ? undefined : t / 1000
  }
  return undefined
}

const PRIORITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
const prio = (v: string): number | undefined => {
  if (/^[0-7]$/.test(v)) return Number(v)
  const i = PRIORITIES.indexOf(v)
  return i >= 0 ? i : undefined
}

/** `journalctl` over a service source. */
export const journalctl = (src: ServiceSource, time: Machine["time"]): Command =>
  defineCommand("journalctl", async (args, ctx): Promise<ExecResult> => {
    const units: Array<string> = []
    let lines: number | undefined
    let since: number | undefined
    let until: number | undefined
    let minPrio = 7
    let maxPrio = 0
    let kernel = false
    let reverse = false
    let grep: RegExp | undefined
    let output = "short"
    let follow = false
    let bootOffset: string | undefined
    for (let i = 0; i < args.length; i++) {
      let a = args[i]!
      let inline: string | undefined
      const eq = /^(--[\w-]+)=(.*)$/.exec(a)
      if (eq) {
        a = eq[1]!
        inline = eq[2]!
      }
      const val = () => inline ?? args[++i] ?? ""
      switch (a) {
        case "-u":
        case "--unit":
          units.push(val())
          break
        case "-n":
        case "--lines": {
          const next = inline ?? args[i + 1]
          if (next !== undefined && /^\+?\d+$/.test(next)) {
            lines = Number(next.replace("+", ""))
            if (inline === undefined) i++
          } else lines = 10
          break
        }
        case "-S":
        case "--since":
        case "-U":
        case "--until": {
          const v = val()
          const t = parseSince(v, src.nowSec())
          if (t === undefined) return fail(1, `Failed to parse timestamp: ${v}\n`)
          if (a === "-S" || a === "--since") since = t
          else until = t
          break
        }
        case "-p":
        case "--priority": {
          const v = val()
          const range = v.split("..")
          const lo = prio(range[0]!)
          const hi = range.length > 1 ? prio(range[1]!) : 0
          if (lo === undefined || hi === undefined) return fail(1, `Failed to parse log level: ${v}\n`)
          minPrio = range.length > 1 ? Math.max(lo, hi) : lo
          maxPrio = range.length > 1 ? Math.min(lo, hi) : 0
          break
        }
        case "-b":
        case "--boot": {
          const next = inline ?? args[i + 1]
          if (next !== undefined && /^-?\d+$|^[0-9a-f]{32}$/.test(next)) {
            bootOffset = next
            if (inline === undefined) i++
          } else bootOffset = "0"
          break
        }
        case "-k":
        case "--dmesg":
          kernel = true
          break
        case "-r":
        case "--reverse":
          reverse = true
          break
        case "-g":
        case "--grep": {
          const v = val()
          grep = new RegExp(v, /[A-Z]/.test(v) ? "" : "i")
          break
        }
        case "-o":
        case "--output":
          output = val()
          if (!["short", "short-iso", "json", "cat", "short-precise", "verbose", "json-pretty", "short-unix"].includes(output)) return fail(1, `Unknown output format '${output}'.\n`)
          break
        case "-f":
        case "--follow":
          follow = true
          break
        case "-q":
        case "--quiet":
        case "--no-pager":
        case "--no-hostname":
        case "-a":
        case "--all":
        case "-x":
        case "--utc":
          break
        default:
          if (a.startsWith("-")) return fail(1, `journalctl: unrecognized option '${a}'\n`)
      }
    }
    if (bootOffset !== undefined && bootOffset !== "0" && !/^[0-9a-f]{32}$/.test(bootOffset)) {
      return fail(1, `Data from the specified boot (${bootOffset}) is not available: No such boot ID in journal\n`)
    }
    let entries = src.journal().filter((e) => {
      if (units.length > 0) {
        const match = units.some((u) => {
          const name = unitName(u)
          return e.unit !== undefined ? unitName(e.unit) === name : `${e.ident}.service` === name
        })
        if (!match) return false
      }
      if (kernel && e.ident !== "kernel") return false
      if (since !== undefined && e.time < since) return false
      if (until !== undefined && e.time > until) return false
      if (e.priority > minPrio || e.priority < maxPrio) return false
      if (grep && !grep.test(e.message)) return false
      return true
    })
    if (lines !== undefined) entries = entries.slice(Math.max(0, entries.length - lines))
    if (reverse) entries = entries.reverse()
    const host = src.hostname()
    const render = (e: JournalEntry): string => {
      const who = `${e.ident}${e.pid !== undefined && e.ident !== "kernel" ? `[${e.pid}]` : ""}`
      switch (output) {
        case "cat":
          return `${e.message}\n`
        case "short-iso":
          return `${isoTime(e.time)} ${host} ${who}: ${e.message}\n`
        case "short-unix":
          return `${e.time.toFixed(6)} ${host} ${who}: ${e.message}\n`
        case "json":
        case "json-pretty": {
          const o: Record<string, string> = {
            __REALTIME_TIMESTAMP: String(Math.round(e.time * 1e6)),
            _HOSTNAME: host,
            SYSLOG_IDENTIFIER: e.ident,
            PRIORITY: String(e.priority),
            MESSAGE: e.message
          }
          if (e.pid !== undefined) o["_PID"] = String(e.pid)
          if (e.unit !== undefined || e.ident !== "kernel") o["_SYSTEMD_UNIT"] = unitName(e.unit ?? e.ident)
          return output === "json" ? `${JSON.stringify(o)}\n` : `${JSON.stringify(o, null, "\t")}\n`
        }
        default:
          return `${shortTime(e.time)} ${host} ${who}: ${e.message}\n`
      }
    }
    const out = entries.length === 0 ? (output.startsWith("json") || output === "cat" ? "" : "-- No entries --\n") : entries.map(render).join("")
    if (follow) {
      await Promise.race([aborted(ctx.signal), time.sleep(24 * 3600 * 1000, ctx.signal).catch(() => undefined)])
      return { stdout: out, stderr: "", exitCode: 143 }
    }
    return ok(out)
  })

const SHOW_ORDER = [
  "Type",
  "Restart",
  "MainPID",
  "ExecMainStartTimestamp",
  "ExecMainPID",
  "ExecMainCode",
  "ExecMainStatus",
  "Id",
  "Names",
  "Description",
  "LoadState",
  "ActiveState",
  "SubState",
  "FragmentPath",
  "UnitFileState",
  "UnitFilePreset",
  "StateChangeTimestamp",
  "InactiveExitTimestamp",
  "ActiveEnterTimestamp",
  "ActiveExitTimestamp",
  "InactiveEnterTimestamp",
  "Result"
]

const props = (name: string, u: Unit | undefined): Record<string, string> => {
  const full = unitName(name)
  if (!u || u.unitFileState === "not-found") {
    return { Type: "", Restart: "no", MainPID: "0", Id: full, Names: full, Description: full, LoadState: "not-found", ActiveState: "inactive", SubState: "dead", UnitFileState: "", ActiveEnterTimestamp: "", InactiveEnterTimestamp: "", StateChangeTimestamp: "", Result: "success", ExecMainPID: "0", ExecMainStartTimestamp: "", ExecMainCode: "0", ExecMainStatus: "0", FragmentPath: "", UnitFilePreset: "", InactiveExitTimestamp: "", ActiveExitTimestamp: "" }
  }
  const ts = u.activeEnterTimestamp > 0 ? systemdTime(u.activeEnterTimestamp) : ""
  return {
    Type: "simple",
    Restart: "on-failure",
    MainPID: String(u.activeState === "active" ? u.mainPid : 0),
    ExecMainStartTimestamp: ts,
    ExecMainPID: String(u.mainPid),
    ExecMainCode: u.activeState === "failed" ? "1" : "0",
    ExecMainStatus: u.activeState === "failed" ? "1" : "0",
    Id: full,
    Names: full,
    Description: u.description,
    LoadState: "loaded",
    ActiveState: u.activeState,
    SubState: u.subState,
    FragmentPath: `/usr/lib/systemd/system/${full}`,
    UnitFileState: u.unitFileState,
    UnitFilePreset: "enabled",
    StateChangeTimestamp: ts,
    InactiveExitTimestamp: ts,
    ActiveEnterTimestamp: u.activeState === "active" ? ts : "",
    ActiveExitTimestamp: "",
    InactiveEnterTimestamp: "",
    Result: u.activeState === "failed" ? "exit-code" : "success"
  }
}

/** `systemctl` over a service source. */
export const systemctl = (src: ServiceSource): Command =>
  defineCommand("systemctl", async (args): Promise<ExecResult> => {
    const positional: Array<string> = []
    const wanted: Array<string> = []
    let failed = false
    let legend = true
    let valueOnly = false
    let stateFilter: string | undefined
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "-p" || a === "--property") wanted.push(...(args[++i] ?? "").split(","))
      else if (a.startsWith("--property=")) wanted.push(...a.slice(11).split(","))
      else if (a.startsWith("-p") && a.length > 2) wanted.push(...a.slice(2).split(","))
      else if (a === "--failed") failed = true
      else if (a === "--no-legend" || a === "--legend=false") legend = false
      else if (a === "--value") valueOnly = true
      else if (a.startsWith("--state=")) stateFilter = a.slice(8)
      else if (a === "--plain" || a === "--no-pager" || a === "-q" || a === "--quiet" || a === "--all" || a === "-a" || a.startsWith("--type=") || a === "--full" || a === "-l") continue
      else if (a.startsWith("-")) return fail(1, `systemctl: unrecognized option '${a}'\n`)
      else positional.push(a)
    }
    const verb = positional[0] ?? "list-units"
    const names = positional.slice(1)
    const units = src.units()
    switch (verb) {
      case "show": {
        if (names.length === 0) return fail(1, "Too few arguments.\n")
        const blocks = names.map((n) => {
          const all = props(n, findUnit(units, n))
          const keys = wanted.length > 0 ? SHOW_ORDER.filter((k) => wanted.includes(k)).concat(wanted.filter((k) => !SHOW_ORDER.includes(k))) : SHOW_ORDER
          return keys.map((k) => (valueOnly ? `${all[k] ?? ""}\n` : `${k}=${all[k] ?? ""}\n`)).join("")
        })
        return ok(blocks.join("\n"))
      }
      case "list-units": {
        const rows = [...units.values()]
          .filter((u) => u.unitFileState !== "not-found")
          .filter((u) => (failed || stateFilter === "failed" ? u.activeState === "failed" : u.activeState !== "inactive"))
          .sort((a, b) => (unitName(a.name) < unitName(b.name) ? -1 : 1))
          .map((u) => [unitName(u.name), "loaded", u.activeState, u.subState, u.description] as const)
        if (rows.length === 0) return ok(legend ? "  UNIT LOAD ACTIVE SUB DESCRIPTION\n\n0 loaded units listed.\n" : "")
        const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), legend ? ["UNIT", "LOAD", "ACTIVE", "SUB"][c]!.length : 0))
        const line = (r: ReadonlyArray<string>) => `${r.slice(0, 4).map((v, c) => v.padEnd(w[c]!)).join(" ")} ${r[4]}\n`
        let out = legend ? line(["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]) : ""
        for (const r of rows) out += line(r)
        if (legend) out += `\nLegend: LOAD   → Reflects whether the unit definition was properly loaded.\n        ACTIVE → The high-level unit activation state, i.e. generalization of SUB.\n        SUB    → The low-level unit activation state, values depend on unit type.\n\n${rows.length} loaded units listed.\n`
        return ok(out)
      }
      case "is-active": {
        if (names.length === 0) return fail(1, "Too few arguments.\n")
        let all = true
        let out = ""
        for (const n of names) {
          const u = findUnit(units, n)
          const st = u && u.unitFileState !== "not-found" ? u.activeState : "inactive"
          if (st !== "active") all = false
          out += `${st}\n`
        }
        return { stdout: out, stderr: "", exitCode: all ? 0 : 3 }
      }
      case "is-enabled": {
        let all = true
        let out = ""
        for (const n of names) {
          const u = findUnit(units, n)
          if (!u || u.unitFileState === "not-found") return fail(1, `Failed to get unit file state for ${unitName(n)}: No such file or directory\n`)
          if (u.unitFileState !== "enabled") all = false
          out += `${u.unitFileState}\n`
        }
        return { stdout: out, stderr: "", exitCode: all ? 0 : 1 }
      }
      case "restart":
      case "start":
      case "stop":
      case "reload": {
        if (names.length === 0) return fail(1, "Too few arguments.\n")
        for (const n of names) {
          const u = findUnit(units, n)
          if (!u || u.unitFileState === "not-found") return fail(5, `Failed to ${verb} ${unitName(n)}: Unit ${unitName(n)} not found.\n`)
          const now = src.nowSec()
          if (verb === "stop") {
            u.activeState = "inactive"
            u.subState = "dead"
            u.mainPid = 0
            src.append({ time: now, ident: "systemd", pid: 1, priority: 6, message: `Stopped ${unitName(u.name)} - ${u.description}.`, unit: unitName(u.name) })
            continue
          }
          if (verb === "reload" && u.activeState === "active") continue
          if (verb !== "start" || u.activeState !== "active") {
            src.append({ time: now, ident: "systemd", pid: 1, priority: 6, message: `Starting ${unitName(u.name)} - ${u.description}...`, unit: unitName(u.name) })
            u.activeState = "active"
            u.subState = "running"
            u.mainPid = src.nextPid()
            u.activeEnterTimestamp = Math.floor(now)
            src.append({ time: now, ident: "systemd", pid: 1, priority: 6, message: `Started ${unitName(u.name)} - ${u.description}.`, unit: unitName(u.name) })
          }
        }
        return ok()
      }
      case "status": {
        if (names.length === 0) return ok(`● ${src.hostname()}\n    State: running\n     Jobs: 0 queued\n   Failed: ${[...units.values()].filter((u) => u.activeState === "failed").length} units\n`)
        let out = ""
        let code = 0
        for (const n of names) {
          const u = findUnit(units, n)
          if (!u || u.unitFileState === "not-found") return fail(4, `Unit ${unitName(n)} could not be found.\n`)
          const full = unitName(u.name)
          const since = u.activeEnterTimestamp > 0 ? `since ${systemdTime(u.activeEnterTimestamp)}` : ""
          const dot = u.activeState === "active" ? "●" : u.activeState === "failed" ? "×" : "○"
          out += `${dot} ${full} - ${u.description}\n     Loaded: loaded (/usr/lib/systemd/system/${full}; ${u.unitFileState}; preset: enabled)\n     Active: ${u.activeState} (${u.subState}) ${since}\n`
          if (u.activeState === "active") out += `   Main PID: ${u.mainPid} (${baseName(full).split("@")[0]})\n`
          else code = 3
          const recent = src.journal().filter((e) => (e.unit !== undefined ? unitName(e.unit) === full : `${e.ident}.service` === full)).slice(-10)
          if (recent.length > 0) out += `\n${recent.map((e) => `${shortTime(e.time)} ${src.hostname()} ${e.ident}[${e.pid ?? 1}]: ${e.message}\n`).join("")}`
        }
        return { stdout: out, stderr: "", exitCode: code }
      }
      default:
        return fail(1, `Unknown command verb '${verb}'.\n`)
    }
  })
