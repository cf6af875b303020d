/**
 * The probe runner (census-health.md §1.3): probes are rows `{section, key, transport, run}` run by one
 * runner. API rows start together (their requests share one bounded semaphore, ADR 0080); SSH rows run
 * at most `sshConcurrency` at a time. Each row is limited by the probe timeout and all by the budget,
 * enforced as a deadline: a row cut by the deadline (or never started) is `Skipped`, so its section is
 * incomplete rather than failed. A failing row never stops the others.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ToolError } from "../Errors.js"
import { ApiTimeout, SshTimeout } from "../Errors.js"
import * as Permits from "../Permits.js"
import { capErrorText } from "./Finalize.js"

/** Where a probe gets its data. */
export type Transport = "api" | "ssh"

/** One probe row. `privilege` names what a 403 means (e.g. `Sys.Audit on /nodes/pve`). */
export interface Row<V, R> {
  readonly section: string
  readonly key: string
  readonly transport: Transport
  readonly privilege?: string
  readonly run: Effect.Effect<V, ToolError, R>
}

/** The outcome of one row. */
export type Outcome<V> =
  | { readonly _tag: "Done"; readonly section: string; readonly key: string; readonly value: V }
  | { readonly _tag: "Failed"; readonly section: string; readonly key: string; readonly error: ToolError; readonly text: string }
  | { readonly _tag: "Skipped"; readonly section: string; readonly key: string }

/** Runner limits. */
export interface Limits {
  readonly probeTimeoutMs: number
  /** Absolute deadline (epoch ms, from `Clock`). */
  readonly deadline: number
  readonly sshConcurrency: number
}

/** The one-line text of a probe error; a 403 names the missing privilege. */
export const errorText = (error: ToolError, privilege?: string): string => {
  if (error._tag === "ApiForbidden") {
    const named = error.privileges.length > 0 ? `${error.privileges.join(" or ")} on ${error.path}` : privilege
    return capErrorText(`403 permission denied: the API token lacks ${named ?? "a privilege"} (${error.reason.trim()})`)
  }
  return capErrorText(`${error._tag}: ${error.message}`)
}

/** A probe timeout as a typed error (the probe's target did not answer in time). */
const timedOut = (row: Row<unknown, unknown>, ms: number): ToolError =>
  row.transport === "api" ? new ApiTimeout({ path: row.key, timeoutMs: ms }) : new SshTimeout({ what: `probe ${row.key}`, timeoutMs: ms })

/** Runs one row under the probe timeout and the deadline. */
const runRow = <V, R>(row: Row<V, R>, limits: Limits): Effect.Effect<Outcome<V>, never, R> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const remaining = limits.deadline - now
    if (remaining <= 0) return { _tag: "Skipped", section: row.section, key: row.key } as const
    const byDeadline = remaining < limits.probeTimeoutMs
    const limit = Math.min(remaining, limits.probeTimeoutMs)
    const result = yield* row.run.pipe(Effect.either, Effect.timeoutOption(limit))
    if (Option.isNone(result)) {
      if (byDeadline) return { _tag: "Skipped", section: row.section, key: row.key } as const
      const error = timedOut(row as Row<unknown, unknown>, limit)
      return {
        _tag: "Failed",
        section: row.section,
        key: row.key,
        error,
        text: capErrorText(`timed out after ${limit} ms (MCP_*_PROBE_TIMEOUT_MS)`)
      } as const
    }
    const either = result.value
    if (either._tag === "Right") return { _tag: "Done", section: row.section, key: row.key, value: either.right } as const
    return { _tag: "Failed", section: row.section, key: row.key, error: either.left, text: errorText(either.left, row.privilege) } as const
  })

/** Runs every row; outcomes come back in row order. */
export const runRows = <V, R>(rows: ReadonlyArray<Row<V, R>>, limits: Limits): Effect.Effect<Array<Outcome<V>>, never, R> =>
  Effect.gen(function* () {
    const ssh = yield* Permits.make(limits.sshConcurrency)
    return yield* Effect.forEach(
      rows,
      (row) => (row.transport === "ssh" ? ssh.withPermit(runRow(row, limits)) : runRow(row, limits)),
      { concurrency: "unbounded" }
    )
  })
