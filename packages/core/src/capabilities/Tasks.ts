/**
 * Following a Proxmox task (UPID) to its end (transport-trust.md §2.4). Layer: `@homelab-mcp/transport/Tasks`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { ApiError, TaskFailed, TaskTimeout } from "../Errors.js"

/** A task that ended with `OK` or `WARNINGS: n`. */
export interface TaskOutcome {
  readonly upid: string
  readonly exitstatus: string
  readonly warnings: number
  readonly durationMs: number
}

/** Options of one wait. */
export interface WaitOptions {
  /** Overrides `PVE_TASK_TIMEOUT_MS`. */
  readonly timeoutMs?: number
  /** Called after each poll while the task runs, with the elapsed time (drives MCP progress notifications). */
  readonly onPoll?: (elapsedMs: number) => Effect.Effect<void>
}

/** Polls a UPID until it stops; only `OK` and `WARNINGS: n` succeed. */
export class Tasks extends Context.Tag("@homelab-mcp/core/Tasks")<Tasks, Tasks.Service>() {}

export declare namespace Tasks {
  /** The task follower. */
  export interface Service {
    /** Fails with `TaskFailed` (exit status and redacted log tail) or `TaskTimeout` (may still finish). */
    readonly wait: (upid: string, options?: WaitOptions) => Effect.Effect<TaskOutcome, TaskFailed | TaskTimeout | ApiError>
  }
}
