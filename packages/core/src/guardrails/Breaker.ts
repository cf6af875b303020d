/**
 * Rollback circuit breaker (guardrails.md §6, lessons I1) as pure state over explicit timestamps: at
 * most `limit` executed attempts per key inside a sliding window. Refusals never count; overrides skip the
 * check but still count. The state is rebuilt from audit records, so a restart does not reset it.
 */
import * as Either from "effect/Either"
import { CircuitBreakerOpen } from "../Errors.js"

/** `MCP_BREAKER_ENABLED`, `MCP_BREAKER_LIMIT`, `MCP_BREAKER_WINDOW_MS`. */
export interface BreakerConfig {
  readonly enabled: boolean
  readonly limit: number
  readonly windowMs: number
}

/** Defaults of tiers-setup.md §3: on, 3 attempts, 10 minutes. */
export const DEFAULT_CONFIG: BreakerConfig = { enabled: true, limit: 3, windowMs: 600_000 }

/** Executed attempt times (epoch ms, ascending) per key. Immutable; every operation returns a new state. */
export type BreakerState = ReadonlyMap<string, ReadonlyArray<number>>

/** No attempts recorded. */
export const empty: BreakerState = new Map()

/** Key of `snapshot_rollback` attempts. */
export const guestKey = (vmid: number): string => `guest:${vmid}`

/** The tools whose executed attempts count. */
export const BREAKER_TOOLS: ReadonlyArray<string> = ["revert_file", "snapshot_rollback"]

const inWindow = (times: ReadonlyArray<number>, now: number, windowMs: number): ReadonlyArray<number> =>
  times.filter((t) => t <= now && now - t < windowMs)

/** Executed attempts of `key` inside the window ending at `now`. */
export const recentCount = (state: BreakerState, key: string, now: number, config: BreakerConfig = DEFAULT_CONFIG): number =>
  inWindow(state.get(key) ?? [], now, config.windowMs).length

/**
 * Succeeds when another attempt may run; otherwise `CircuitBreakerOpen` with the count, the limit, the
 * window and how long until the oldest counted attempt leaves it. A disabled breaker always succeeds.
 */
export const check = (
  state: BreakerState,
  key: string,
  now: number,
  config: BreakerConfig = DEFAULT_CONFIG
): Either.Either<void, CircuitBreakerOpen> => {
  if (!config.enabled) return Either.void
  const recent = inWindow(state.get(key) ?? [], now, config.windowMs)
  if (recent.length < config.limit) return Either.void
  // the attempt that must expire for the count to drop below the limit
  const pivot = recent[recent.length - config.limit]!
  return Either.left(
    new CircuitBreakerOpen({
      key,
      recentCount: recent.length,
      limit: config.limit,
      windowMs: config.windowMs,
      retryAfterMs: Math.max(1, pivot + config.windowMs - now)
    })
  )
}

/** Records one executed attempt (failed ones too; overridden ones too). Old entries are pruned. */
export const record = (state: BreakerState, key: string, now: number, config: BreakerConfig = DEFAULT_CONFIG): BreakerState => {
  const next = new Map(state)
  const times = [...inWindow(state.get(key) ?? [], now, config.windowMs), now].sort((a, b) => a - b)
  next.set(key, times)
  return next
}

/** An executed attempt: key and time. */
export interface Attempt {
  readonly key: string
  readonly at: number
}

/** State from executed attempts (those outside the window ending at `now` are dropped). */
export const rebuild = (attempts: Iterable<Attempt>, now: number, config: BreakerConfig = DEFAULT_CONFIG): BreakerState => {
  const byKey = new Map<string, Array<number>>()
  for (const a of attempts) {
    if (a.at > now || now - a.at >= config.windowMs) continue
    const list = byKey.get(a.key)
    if (list) list.push(a.at)
    else byKey.set(a.key, [a.at])
  }
  for (const list of byKey.values()) list.sort((a, b) => a - b)
  return byKey
}

/** The audit fields the rebuild reads (backups-audit.md §5). */
export interface AuditLike {
  readonly opId?: string | undefined
  readonly tool?: string | undefined
  readonly target?: string | undefined
  readonly ts: string | number
  readonly phase?: string | undefined
  readonly refusal?: unknown
}

/**
 * Executed attempts from audit records: per operation (`opId`) of `revert_file`/`snapshot_rollback` with
 * a target, one attempt at its first record, unless the operation was refused. An intent without an
 * outcome (a crash) counts: the attempt may have run.
 */
export const attemptsFromAudit = (records: Iterable<AuditLike>): ReadonlyArray<Attempt> => {
  const ops = new Map<string, { key: string; at: number; refused: boolean }>()
  let anon = 0
  for (const r of records) {
    if (r.tool === undefined || !BREAKER_TOOLS.includes(r.tool) || r.target === undefined) continue
    const at = typeof r.ts === "number" ? r.ts : Date.parse(r.ts)
    if (!Number.isFinite(at)) continue
    const id = r.opId ?? `anon-${anon++}`
    const refused = r.refusal !== undefined && r.refusal !== null
    const prev = ops.get(id)
    if (prev === undefined) ops.set(id, { key: r.target, at, refused })
    else ops.set(id, { key: prev.key, at: Math.min(prev.at, at), refused: prev.refused || refused })
  }
  return [...ops.values()].filter((o) => !o.refused).map(({ key, at }) => ({ key, at }))
}

/** `rebuild(attemptsFromAudit(records))`: the startup state. */
export const rebuildFromAudit = (records: Iterable<AuditLike>, now: number, config: BreakerConfig = DEFAULT_CONFIG): BreakerState =>
  rebuild(attemptsFromAudit(records), now, config)
