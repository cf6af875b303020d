/**
 * Progress notifications for the current MCP request (a no-op when the client sent no progress token).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/** Reports progress of the current request. */
export class Progress extends Context.Tag("@homelab-mcp/core/Progress")<Progress, Progress.Service>() {}

export declare namespace Progress {
  /** The reporter. */
  export interface Service {
    /** Sends one progress notification; never fails. */
    readonly report: (progress: number, total: number | undefined, message: string) => Effect.Effect<void>
  }
}

/** A reporter that drops everything. */
export const silent: Progress.Service = { report: () => Effect.void }
