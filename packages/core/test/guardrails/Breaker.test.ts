import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import * as Breaker from "@homelab-mcp/core/guardrails/Breaker"

const cfg: Breaker.BreakerConfig = { enabled: true, limit: 3, windowMs: 600_000 }
const K = Breaker.guestKey(101)
const T0 = 1_800_000_000_000

/** Runs one attempt the way the tools do: check (unless overridden), then record the executed attempt. */
const attempt = (state: Breaker.BreakerState, key: string, now: number, override = false) => {
  if (!override) {
    const c = Breaker.check(state, key, now, cfg)
    if (Either.isLeft(c)) return { state, refused: c.left }
  }
  return { state: Breaker.record(state, key, now, cfg), refused: undefined }
}

describe("circuit breaker (§6, lessons I1)", () => {
  it("I1.1 refuses the attempt after `limit` executed ones inside the window, with the numbers", () => {
    let s = Breaker.empty
    for (const dt of [0, 1_000, 2_000]) {
      const r = attempt(s, K, T0 + dt)
      expect(r.refused).toBeUndefined()
      s = r.state
    }
    const r = attempt(s, K, T0 + 3_000)
    expect(r.refused).toMatchObject({ _tag: "CircuitBreakerOpen", key: K, recentCount: 3, limit: 3, windowMs: 600_000, retryAfterMs: 597_000 })
    expect(r.refused?.hint).toContain("hand back to the human")
    // a refused attempt does not count: the state is unchanged
    expect(r.state).toBe(s)
    expect(Breaker.recentCount(s, K, T0 + 3_000, cfg)).toBe(3)
  })

  it("I1.2 leaves other keys unaffected", () => {
    let s = Breaker.empty
    for (const dt of [0, 1, 2]) s = attempt(s, K, T0 + dt).state
    expect(Either.isLeft(Breaker.check(s, K, T0 + 10, cfg))).toBe(true)
    expect(Either.isRight(Breaker.check(s, Breaker.guestKey(102), T0 + 10, cfg))).toBe(true)
    expect(Either.isRight(Breaker.check(s, "host:/etc/hosts", T0 + 10, cfg))).toBe(true)
  })

  it("I1.3 an override runs and counts, and never resets: the next ordinary call is still refused", () => {
    let s = Breaker.empty
    for (const dt of [0, 1, 2]) s = attempt(s, K, T0 + dt).state
    const o = attempt(s, K, T0 + 100, true)
    expect(o.refused).toBeUndefined()
    expect(Breaker.recentCount(o.state, K, T0 + 100, cfg)).toBe(4)
    const next = attempt(o.state, K, T0 + 200)
    expect(next.refused).toMatchObject({ recentCount: 4, limit: 3 })
    // with four attempts counted, two must leave the window before the next one may run
    expect(next.refused?.retryAfterMs).toBe(600_000 - 200 + 1)
  })

  it("I1.4 the window expires", () => {
    let s = Breaker.empty
    for (const dt of [0, 1_000, 2_000]) s = attempt(s, K, T0 + dt).state
    expect(Either.isLeft(Breaker.check(s, K, T0 + 599_999, cfg))).toBe(true)
    expect(Either.isRight(Breaker.check(s, K, T0 + 600_000, cfg))).toBe(true)
    const r = Breaker.check(s, K, T0 + 599_999, cfg)
    expect(Either.isLeft(r) && r.left.retryAfterMs).toBe(1)
    // recording prunes what left the window
    const later = Breaker.record(s, K, T0 + 1_500_000, cfg)
    expect(later.get(K)).toEqual([T0 + 1_500_000])
  })

  it("is off when disabled", () => {
    let s = Breaker.empty
    for (const dt of [0, 1, 2, 3, 4]) s = Breaker.record(s, K, T0 + dt, cfg)
    expect(Either.isRight(Breaker.check(s, K, T0 + 5, { ...cfg, enabled: false }))).toBe(true)
    expect(Breaker.DEFAULT_CONFIG).toEqual({ enabled: true, limit: 3, windowMs: 600_000 })
  })

  it("rebuilds from audit outcomes inside the window, so a restart does not reset it", () => {
    const iso = (ms: number) => new Date(ms).toISOString()
    const records: Array<Breaker.AuditLike> = [
      // three executed rollbacks of guest 101 (intent + outcome each)
      ...[0, 60_000, 120_000].flatMap((dt, i) => [
        { opId: `op${i}`, tool: "snapshot_rollback", target: K, ts: iso(T0 + dt), phase: "intent" },
        { opId: `op${i}`, tool: "snapshot_rollback", target: K, ts: iso(T0 + dt + 5_000), phase: "outcome" }
      ]),
      // a refused attempt does not count
      { opId: "r1", tool: "snapshot_rollback", target: K, ts: iso(T0 + 130_000), phase: "outcome", refusal: { code: "CircuitBreakerOpen", reason: "x" } },
      // an intent without outcome (crash) counts
      { opId: "c1", tool: "revert_file", target: "host:/etc/hosts", ts: T0 + 10_000, phase: "intent" },
      // other tools, missing targets, bad timestamps and old records are ignored
      { opId: "x", tool: "write_file", target: K, ts: iso(T0), phase: "outcome" },
      { opId: "y", tool: "revert_file", ts: iso(T0), phase: "outcome" },
      { opId: "z", tool: "revert_file", target: "host:/x", ts: "not a date", phase: "outcome" },
      { opId: "old", tool: "revert_file", target: "host:/etc/hosts", ts: iso(T0 - 700_000), phase: "outcome" },
      { tool: "revert_file", target: "host:/etc/hosts", ts: iso(T0 + 20_000) }
    ]
    const now = T0 + 200_000
    const s = Breaker.rebuildFromAudit(records, now, cfg)
    expect(s.get(K)).toEqual([T0, T0 + 60_000, T0 + 120_000])
    expect(s.get("host:/etc/hosts")).toEqual([T0 + 10_000, T0 + 20_000])
    expect(Either.isLeft(Breaker.check(s, K, now, cfg))).toBe(true)
    expect(Either.isRight(Breaker.check(s, "host:/etc/hosts", now, cfg))).toBe(true)
    // future records (clock skew) are ignored
    expect(Breaker.rebuild([{ key: K, at: now + 1 }], now, cfg).size).toBe(0)
  })

  it("never lets more than `limit` ordinary attempts run in any window (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400_000 }), key: fc.constantFrom("a", "b"), override: fc.boolean() }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (steps, limit) => {
          const c = { enabled: true, limit, windowMs: 600_000 }
          let s = Breaker.empty
          let now = T0
          const ran: Array<{ key: string; at: number; override: boolean }> = []
          for (const st of steps) {
            now += st.dt
            const ok = st.override || Either.isRight(Breaker.check(s, st.key, now, c))
            if (ok) {
              s = Breaker.record(s, st.key, now, c)
              ran.push({ key: st.key, at: now, override: st.override })
            }
          }
          // every ordinary run saw fewer than `limit` runs of its key in the window before it
          for (const r of ran.filter((x) => !x.override)) {
            const before = ran.filter((x) => x.key === r.key && x.at <= r.at && r.at - x.at < c.windowMs && x !== r && ran.indexOf(x) < ran.indexOf(r))
            expect(before.length).toBeLessThan(limit)
          }
        }
      )
    )
  })
})
