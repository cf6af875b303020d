/**
 * Following Proxmox tasks (transport-trust.md §2.4): poll `GET /nodes/{node}/tasks/{upid}/status` on a
 * spaced `Schedule` until the task stops, under a deadline; `OK` and `WARNINGS: n` succeed, anything else
 * is `TaskFailed` with the redacted last 20 log lines; a task still running at the deadline is
 * `TaskTimeout` (it may still finish). Polls are GETs, so they follow the GET retry rule of the client.
 */
import { apiPath, PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { Progress } from "@homelab-mcp/core/capabilities/Progress"
import { type TaskOutcome, Tasks, type WaitOptions } from "@homelab-mcp/core/capabilities/Tasks"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import { TaskFailed, TaskTimeout } from "@homelab-mcp/core/Errors"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { redactAuditText } from "./internal/auditRedact.js"

export { Tasks }

/** Default poll interval (`PVE_TASK_POLL_INTERVAL_MS`). */
export const DEFAULT_POLL_INTERVAL_MS = 1_000
/** Default wait limit (`PVE_TASK_TIMEOUT_MS`). */
export const DEFAULT_TIMEOUT_MS = 300_000
/** Log lines kept in `TaskFailed.logTail`. */
export const LOG_TAIL_LINES = 20
/** Log lines fetched to find the tail. */
const LOG_FETCH_LIMIT = 10_000

/** Options of the task follower. */
export interface Options {
  readonly pollIntervalMs?: number | undefined
  readonly timeoutMs?: number | undefined
}

/** The poll schedule: one status read every `intervalMs` while the task runs; outputs the last status. */
export const pollSchedule = <A extends { readonly status: string }>(intervalMs: number): Schedule.Schedule<A, A> =>
  Schedule.spaced(Duration.millis(intervalMs)).pipe(
    Schedule.whileInput((s: A) => s.status !== "stopped"),
    Schedule.passthrough
  )

const TaskStatus = Schema.Struct({
  status: Schema.String,
  exitstatus: Schema.optional(Schema.String)
})

const TaskLog = Schema.Array(Schema.Struct({ n: Schema.Number, t: Schema.String }))

/** The node a UPID was issued on (`UPID:<node>:…`), if it parses. */
export const nodeOfUpid = (upid: string): string | undefined => {
  const m = /^UPID:([^:]+):/.exec(upid)
  return m ? m[1] : undefined
}

/** Interprets an exit status: `OK` → 0 warnings, `WARNINGS: n` → n, anything else → `undefined` (failed). */
export const parseExitStatus = (exitstatus: string): number | undefined => {
  if (exitstatus === "OK") return 0
  const m = /^WARNINGS: (\d+)$/.exec(exitstatus)
  return m ? Number(m[1]) : undefined
}

/** Builds the follower over the PVE API client. */
export const make = (options: Options = {}): Effect.Effect<Tasks.Service, never, PveApi> =>
  Effect.gen(function* () {
    const api = yield* PveApi
    const intervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
    const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS

    const logTail = (node: string, upid: string) =>
      api.get(apiPath("nodes", node, "tasks", upid, "log"), TaskLog, { start: 0, limit: LOG_FETCH_LIMIT }).pipe(
        Effect.map((lines) => lines.slice(-LOG_TAIL_LINES).map((l) => redactAuditText(l.t).text)),
        Effect.orElseSucceed(() => [] as ReadonlyArray<string>)
      )

    const wait = Effect.fn("Tasks.wait")(function* (upid: string, waitOptions?: WaitOptions) {
      const node = nodeOfUpid(upid) ?? api.node
      const timeoutMs = waitOptions?.timeoutMs ?? defaultTimeoutMs
      const started = yield* Clock.currentTimeMillis
      const onPoll = waitOptions?.onPoll
      const poll = api.get(apiPath("nodes", node, "tasks", upid, "status"), TaskStatus).pipe(
        Effect.tap((s) =>
          s.status === "stopped" || onPoll === undefined
            ? Effect.void
            : Effect.flatMap(Clock.currentTimeMillis, (now) => onPoll(now - started))
        )
      )
      const final = yield* poll.pipe(
        Effect.repeat(pollSchedule<typeof TaskStatus.Type>(intervalMs)),
        Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout: () => new TaskTimeout({ upid, waitedMs: timeoutMs }) })
      )
      const finished = yield* Clock.currentTimeMillis
      const exitstatus = final.exitstatus ?? "unknown (no exit status)"
      const warnings = parseExitStatus(exitstatus)
      if (warnings === undefined) {
        return yield* new TaskFailed({ upid, exitstatus: redactAuditText(exitstatus).text, logTail: yield* logTail(node, upid) })
      }
      const outcome: TaskOutcome = { upid, exitstatus, warnings, durationMs: finished - started }
      return outcome
    })

    return { wait }
  })

/**
 * Waits for a task while sending one MCP progress notification per poll ("<what>: task running, 12 s");
 * the total is the wait limit in seconds when known.
 */
export const waitWithProgress = (
  upid: string,
  what: string,
  options: { readonly timeoutMs?: number } = {}
) =>
  Effect.gen(function* () {
    const tasks = yield* Tasks
    const progress = yield* Progress
    const totalSecs = options.timeoutMs !== undefined ? Math.ceil(options.timeoutMs / 1000) : undefined
    return yield* tasks.wait(upid, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      onPoll: (elapsedMs) => {
        const secs = Math.round(elapsedMs / 1000)
        return progress.report(secs, totalSecs, `${what}: task running, ${secs} s`)
      }
    })
  })

/** The follower as a layer over `PveApi`. */
export const layer = (options: Options = {}): Layer.Layer<Tasks, never, PveApi> => Layer.effect(Tasks, make(options))

/** `PVE_TASK_POLL_INTERVAL_MS` (1000) and `PVE_TASK_TIMEOUT_MS` (300000). */
export const config: Config.Config<Required<Options>> = Config.all({
  pollIntervalMs: ConfigVars.integer("PVE_TASK_POLL_INTERVAL_MS", DEFAULT_POLL_INTERVAL_MS, 10, 600_000),
  timeoutMs: ConfigVars.integer("PVE_TASK_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 100, 86_400_000)
})

/** The follower configured from the environment. */
export const layerConfig: Layer.Layer<Tasks, ConfigError.ConfigError, PveApi> = Layer.effect(
  Tasks,
  Effect.flatMap(config, (c) => make(c))
)
