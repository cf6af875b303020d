/**
 * Shared behaviour of the PVE CLI tools (sandbox.md §5.1 "PVE CLI rules"): they run as `root@pam`;
 * errors go to stderr with exit 255; parameter errors print `400 Parameter verification failed.`,
 * `<param>: <msg>` lines and the usage line; task commands run in the foreground on the same tasks
 * the API creates, print the task log (without `TASK OK`), fail with the bare message (255) and warn
 * with `Task finished with N warning(s)!` (0). Killing the CLI never cancels the task.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { ExecResult } from "just-bash"
import type { LabError, LabState } from "../state/LabState.js"
import type { Task } from "../state/types.js"
import { fail, ok } from "./Result.js"

/** A CLI error: stderr + exit 255. */
export const die = (message: string): ExecResult => fail(255, message.endsWith("\n") ? message : `${message}\n`)

/** A parameter verification error with the usage line. */
export const paramError = (errors: Record<string, string>, usage: string): ExecResult =>
  fail(
    255,
    `400 Parameter verification failed.\n${Object.entries(errors)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join("")}${usage}\n`
  )

/** Parsed `<positional…> [--key value]…` arguments (`-key` accepted like PVE's getopt). */
export interface Parsed {
  readonly positional: ReadonlyArray<string>
  readonly options: Readonly<Record<string, string>>
  /** Words after a literal `--`. */
  readonly rest: ReadonlyArray<string> | undefined
}

/** Parses PVE CLI arguments; `flags` lists options that take no value. */
export const parse = (args: ReadonlyArray<string>, flags: ReadonlyArray<string> = []): Parsed => {
  const positional: Array<string> = []
  const options: Record<string, string> = {}
  let rest: Array<string> | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === "--") {
      rest = args.slice(i + 1) as Array<string>
      break
    }
    const m = /^--?([a-zA-Z][\w-]*)(?:=(.*))?$/.exec(a)
    if (m && !/^-\d/.test(a)) {
      const key = m[1]!
      if (m[2] !== undefined) options[key] = m[2]
      else if (flags.includes(key)) options[key] = "1"
      else options[key] = args[++i] ?? ""
    } else positional.push(a)
  }
  return { positional, options, rest }
}

/** Validates a vmid argument like PVE (`type check ('integer') failed - got 'abc'`). */
export const vmidError = (v: string | undefined): string | undefined => {
  if (v === undefined) return "property is missing and it is not optional"
  if (!/^-?\d+$/.test(v)) return `type check ('integer') failed - got '${v}'`
  if (!/^[1-9][0-9]{2,8}$/.test(v)) return "invalid format - value does not look like a valid VM ID"
  return undefined
}

/** Waits for a task in virtual time; resolves undefined when `signal` aborts first (the task goes on). */
export const waitTask = (lab: LabState, upid: string, signal: AbortSignal | undefined): Promise<Task | undefined> =>
  Effect.runPromise(
    lab.awaitTask(upid).pipe(
      Effect.map((t): Task | undefined => t),
      Effect.catchAllDefect(() => Effect.succeed(undefined))
    ),
    signal ? { signal } : undefined
  ).catch(() => undefined)

/**
 * Runs a state operation that creates a task and prints like the CLI: the task log (minus the final
 * `TASK …` line) on stdout, an error as the bare message (255), warnings as `Task finished with N
 * warning(s)!` (0). `silent` suppresses the log (lifecycle verbs print nothing on success).
 */
export const runTask = async (
  lab: LabState,
  started: Either.Either<Task, LabError>,
  signal: AbortSignal | undefined,
  options: { readonly silent?: boolean } = {}
): Promise<ExecResult> => {
  if (Either.isLeft(started)) return die(started.left.message)
  const task = await waitTask(lab, started.right.upid, signal)
  if (!task) return fail(143, "")
  const log = task.log.filter((l) => !/^TASK (OK|ERROR|WARNINGS)/.test(l))
  const exit = task.exitstatus ?? "OK"
  if (exit === "OK") return ok(options.silent ? "" : log.map((l) => `${l}\n`).join(""))
  const w = /^WARNINGS: (\d+)$/.exec(exit)
  if (w) {
    const body = log.map((l) => `${l}\n`).join("")
    return ok(body, `Task finished with ${w[1]} warning(s)!\n`)
  }
  const body = log.filter((l) => !l.startsWith("WARN")).map((l) => `${l}\n`).join("")
  return { stdout: options.silent ? "" : body, stderr: `${exit}\n`, exitCode: 255 }
}

/** `key: value` lines sorted by key (digest dropped), then raw `lxc.*` lines: `pct/qm config`. */
export const renderConfigLines = (config: Readonly<Record<string, string>>, raw: ReadonlyArray<readonly [string, string]>): string => {
  let out = ""
  for (const k of Object.keys(config).sort()) {
    if (k === "digest") continue
    const v = config[k]!
    if (k === "description") out += `description: ${v.replace(/\n/g, "\n ")}\n`
    else out += `${k}: ${v}\n`
  }
  for (const [k, v] of raw) out += `${k}: ${v}\n`
  return out
}

/** Perl JSON::PP `->pretty->canonical` rendering (3-space indent, `"k" : v`, sorted keys). */
export const perlPretty = (value: unknown, indent = ""): string => {
  const inner = `${indent}   `
  if (value === null || value === undefined) return "null"
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]"
    return `[\n${value.map((v) => inner + perlPretty(v, inner)).join(",\n")}\n${indent}]`
  }
  if (typeof value === "object") {
    const keys = Object.keys(value as object).sort()
    if (keys.length === 0) return "{}"
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)} : ${perlPretty((value as Record<string, unknown>)[k], inner)}`).join(",\n")}\n${indent}}`
  }
  return JSON.stringify(value)
}

/** Compact JSON with sorted keys (pvesh `--output-format json`). */
export const sortedJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v
  )

/** `YYYY-MM-DD HH:MM:SS` in the node's timezone (UTC). */
export const localTime = (epochSec: number): string => {
  const d = new Date(epochSec * 1000)
  const p = (n: number) => String(n).padStart(2, "0")
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
}

/** The snapshot tree as `pct|qm listsnapshot` prints it. */
export const snapshotTree = (lab: LabState, vmid: number): string => {
  const entries = lab.listSnapshots(vmid)
  interface NodeT {
    name: string
    snaptime?: number
    description: string
    parent?: string
  }
  const nodes: Array<NodeT> = entries.map((e) =>
    e.kind === "current"
      ? { name: "current", description: "You are here!", ...(e.parent !== undefined ? { parent: e.parent } : {}) }
      : {
          name: e.snapshot.name,
          snaptime: e.snapshot.snaptime,
          description: e.snapshot.description,
          ...(e.snapshot.parent !== undefined ? { parent: e.snapshot.parent } : {})
        }
  )
  const names = new Set(nodes.map((n) => n.name))
  const children = new Map<string, Array<NodeT>>()
  const roots: Array<NodeT> = []
  for (const n of nodes) {
    if (n.parent !== undefined && names.has(n.parent)) {
      const list = children.get(n.parent) ?? []
      list.push(n)
      children.set(n.parent, list)
    } else roots.push(n)
  }
  const order = (a: NodeT, b: NodeT) => (a.snaptime ?? Number.POSITIVE_INFINITY) - (b.snaptime ?? Number.POSITIVE_INFINITY)
  let out = ""
  const print = (n: NodeT, prefix: string) => {
    let desc = n.name === "current" ? "You are here!" : n.description || "no-description"
    desc = desc.split("\n")[0] ?? ""
    const time = n.snaptime !== undefined ? localTime(n.snaptime) : ""
    const width = Math.max(0, 30 - prefix.length)
    out += `${prefix} ${n.name.padEnd(width)} ${time.padEnd(23)} ${desc}\n`
    for (const c of (children.get(n.name) ?? []).sort(order)) print(c, ` ${prefix}`)
  }
  for (const r of roots.sort(order)) print(r, "`->")
  return out
}
