/**
 * The rollback circuit breaker's state (guardrails.md §6) for `revert_file` (and later
 * `snapshot_rollback`): executed attempts per key in a sliding window, rebuilt at startup from the audit
 * log so a restart does not reset it. The rules are the pure `core/guardrails/Breaker`.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type { CircuitBreakerOpen } from "@homelab-mcp/core/Errors"
import * as Breaker from "@homelab-mcp/core/guardrails/Breaker"
import { AuditLog, type QueryResult } from "@homelab-mcp/core/capabilities/AuditLog"
import { Limits } from "./Limits.js"

/** The breaker service. */
export class RollbackBreaker extends Context.Tag("@homelab-mcp/server/RollbackBreaker")<RollbackBreaker, RollbackBreaker.Service>() {}

export declare namespace RollbackBreaker {
  /** Checks and records executed attempts. */
  export interface Service {
    /** Succeeds with whether the check was overridden; `CircuitBreakerOpen` when the key is over its limit. */
    readonly check: (key: string, override: boolean) => Effect.Effect<boolean, CircuitBreakerOpen>
    /** Records one executed attempt of `key` (call it once the attempt runs, failed or not). */
    readonly record: (key: string) => Effect.Effect<void>
  }
}

/** Builds the breaker from its config and the given starting state. */
export const make = (config: Breaker.BreakerConfig, initial: Breaker.BreakerState): Effect.Effect<RollbackBreaker.Service> =>
  Effect.map(Ref.make(initial), (state) => ({
    check: (key, override) =>
      Effect.gen(function* () {
        if (override || !config.enabled) return override
        const now = yield* Clock.currentTimeMillis
        const verdict = Breaker.check(yield* Ref.get(state), key, now, config)
        if (Either.isLeft(verdict)) return yield* Effect.fail(verdict.left)
        return false
      }),
    record: (key) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(state, (s) => Breaker.record(s, key, now, config)))
  }))

/** The breaker configured by `Limits`, its state rebuilt from the audit log's records inside the window. */
export const layer: Layer.Layer<RollbackBreaker, never, Limits | AuditLog> = Layer.effect(
  RollbackBreaker,
  Effect.gen(function* () {
    const limits = yield* Limits
    const log = yield* AuditLog
    const config = { enabled: limits.breakerEnabled, limit: limits.breakerLimit, windowMs: limits.breakerWindowMs }
    const now = yield* Clock.currentTimeMillis
    const since = new Date(now - config.windowMs).toISOString()
    const records: Array<Breaker.AuditLike> = []
    for (const tool of Breaker.BREAKER_TOOLS) {
      let offset: number | null = 0
      while (offset !== null) {
        const page: QueryResult | null = yield* log.query({ tool, since, view: "records", limit: 200, offset }).pipe(
          Effect.catchAll((e) => Effect.logWarning(`circuit breaker state not rebuilt for ${tool}: ${e.message}`).pipe(Effect.as(null)))
        )
        if (page === null) break
        records.push(...(page.items as ReadonlyArray<Breaker.AuditLike>))
        offset = page.nextOffset
      }
    }
    return yield* make(config, Breaker.rebuildFromAudit(records, now, config))
  })
)
