/**
 * Fault and latency rules (sandbox.md §7): `{id, target, when, effect}`. The store decides, for each
 * matching event, which rules fire; every rule draws from its own stream seeded by `(seed, rule.id)`
 * (one draw per matching event), so the same seed, rules and event order give the same decisions.
 *
 * The API adapter asks `match({kind:"api", …})`; H2's SSH side asks `match({kind:"ssh", argv})` or
 * `match({kind:"sshHandshake"})`; LabState asks for `task`, `store` and `agent` events.
 */
import { makeRng, type Rng } from "../state/Rng.js"

/** What a rule applies to. Patterns: `{param}` or `*` match one path segment, `**` any rest. */
export type FaultTarget =
  | { readonly kind: "api"; readonly method?: string; readonly path?: string }
  | { readonly kind: "ssh"; readonly argv?: string }
  | { readonly kind: "task"; readonly type?: string; readonly id?: string }
  | { readonly kind: "store"; readonly storage?: string }
  | { readonly kind: "agent"; readonly vmid?: number }
  | { readonly kind: "tls" }
  | { readonly kind: "sshHandshake" }

/** When a matching event triggers the rule. */
export type FaultWhen =
  | { readonly _tag: "always" }
  | { readonly _tag: "once" }
  | { readonly _tag: "nth"; readonly n: number }
  | { readonly _tag: "every"; readonly n: number }
  | { readonly _tag: "probability"; readonly p: number }
  /** Virtual seconds since the lab's epoch base. */
  | { readonly _tag: "window"; readonly from: number; readonly to: number }
  | { readonly _tag: "afterCalls"; readonly n: number }

/** Latency distribution (real milliseconds on the API; virtual on SSH). */
export type LatencySpec =
  | { readonly fixed: number }
  | { readonly uniform: readonly [number, number] }
  | { readonly logNormal: { readonly p50: number; readonly p99: number } }

/** What happens when the rule fires. */
export type FaultEffect =
  | { readonly _tag: "latency"; readonly latency: LatencySpec }
  /** PVE envelope with `message`, or `raw` bare status line (502/503/504). */
  | { readonly _tag: "status"; readonly code: number; readonly message?: string; readonly raw?: boolean }
  | { readonly _tag: "hang" }
  | { readonly _tag: "drop"; readonly phase: "connect" | "tls" | "headers" | "body"; readonly afterBytes?: number }
  | { readonly _tag: "taskFail"; readonly exitstatus: string }
  | { readonly _tag: "taskStall" }
  | { readonly _tag: "taskWarnings"; readonly count: number }
  | { readonly _tag: "storageFull" }
  | { readonly _tag: "agentDown" }
  | { readonly _tag: "exit"; readonly code: number; readonly stdout?: string; readonly stderr?: string }
  | { readonly _tag: "authFail" }
  | { readonly _tag: "certificate" }
  | { readonly _tag: "hostKey" }
  | { readonly _tag: "sessionLimit" }

/** A fault rule. */
export interface FaultRule {
  readonly id: string
  readonly target: FaultTarget
  readonly when: FaultWhen
  readonly effect: FaultEffect
}

/** The event being checked against the rules. */
export type FaultSubject =
  | { readonly kind: "api"; readonly method: string; readonly path: string }
  | { readonly kind: "ssh"; readonly argv: ReadonlyArray<string> | string }
  | { readonly kind: "task"; readonly type: string; readonly id: string }
  | { readonly kind: "store"; readonly storage: string }
  | { readonly kind: "agent"; readonly vmid: number }
  | { readonly kind: "tls" }
  | { readonly kind: "sshHandshake" }

/** A fired rule with its effect; `latencyMs` is sampled for latency effects. */
export interface FaultHit {
  readonly rule: FaultRule
  readonly effect: FaultEffect
  readonly latencyMs?: number
}

interface RuleState {
  readonly rule: FaultRule
  readonly rng: Rng
  matched: number
  fired: number
}

const patternCache = new Map<string, RegExp>()

/** Compiles a path pattern (`{x}`/`*` one segment, `**` rest) to an anchored regex. */
export const pathPattern = (pattern: string): RegExp => {
  const cached = patternCache.get(pattern)
  if (cached) return cached
  let src = ""
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!
    if (ch === "*" && pattern[i + 1] === "*") {
      src += ".*"
      i++
    } else if (ch === "*") src += "[^/]*"
    else if (ch === "{") {
      const end = pattern.indexOf("}", i)
      src += "[^/]+"
      i = end < 0 ? pattern.length : end
    } else src += ch.replace(/[.+?^$()|[\]\\]/g, "\\$&")
  }
  const re = new RegExp(`^${src}$`)
  patternCache.set(pattern, re)
  return re
}

const targets = (target: FaultTarget, subject: FaultSubject): boolean => {
  if (target.kind !== subject.kind) return false
  switch (target.kind) {
    case "api": {
      const s = subject as Extract<FaultSubject, { kind: "api" }>
      if (target.method !== undefined && target.method !== "*" && target.method.toUpperCase() !== s.method.toUpperCase()) return false
      if (target.path !== undefined && !pathPattern(target.path).test(s.path)) return false
      return true
    }
    case "ssh": {
      const s = subject as Extract<FaultSubject, { kind: "ssh" }>
      if (target.argv === undefined) return true
      const line = typeof s.argv === "string" ? s.argv : s.argv.join(" ")
      return new RegExp(target.argv).test(line)
    }
    case "task": {
      const s = subject as Extract<FaultSubject, { kind: "task" }>
      if (target.type !== undefined && !new RegExp(`^(?:${target.type})$`).test(s.type)) return false
      if (target.id !== undefined && target.id !== s.id) return false
      return true
    }
    case "store": {
      const s = subject as Extract<FaultSubject, { kind: "store" }>
      return target.storage === undefined || target.storage === s.storage
    }
    case "agent": {
      const s = subject as Extract<FaultSubject, { kind: "agent" }>
      return target.vmid === undefined || target.vmid === s.vmid
    }
    default:
      return true
  }
}

/** Samples a latency in milliseconds from the rule's stream. */
export const sampleLatency = (spec: LatencySpec, rng: Rng): number => {
  if ("fixed" in spec) return spec.fixed
  if ("uniform" in spec) return spec.uniform[0] + rng.next() * (spec.uniform[1] - spec.uniform[0])
  // log-normal through p50 and p99: mu = ln p50, sigma = (ln p99 - mu) / z(0.99)
  const mu = Math.log(Math.max(spec.logNormal.p50, 1e-6))
  const sigma = Math.max(0, (Math.log(Math.max(spec.logNormal.p99, 1e-6)) - mu) / 2.326348)
  const u1 = Math.max(rng.next(), 1e-12)
  const u2 = rng.next()
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  return Math.exp(mu + sigma * z)
}

/** The rule store: add/remove/list rules, and decide which fire for an event. */
export class FaultStore {
  private readonly rules = new Map<string, RuleState>()
  constructor(
    private readonly seed: number | string,
    /** Virtual seconds since epoch base, for `window`. */
    private readonly elapsed: () => number
  ) {}

  /** Adds (or replaces) a rule; its stream restarts from `(seed, id)`. */
  add(rule: FaultRule): void {
    this.rules.set(rule.id, { rule, rng: makeRng(this.seed, "fault", rule.id), matched: 0, fired: 0 })
  }

  /** Removes a rule; true when it existed. */
  remove(id: string): boolean {
    return this.rules.delete(id)
  }

  /** Removes every rule. */
  clear(): void {
    this.rules.clear()
  }

  /** The rules in insertion order. */
  list(): ReadonlyArray<FaultRule> {
    return [...this.rules.values()].map((s) => s.rule)
  }

  /** How often each rule matched and fired. */
  stats(): ReadonlyArray<{ readonly id: string; readonly matched: number; readonly fired: number }> {
    return [...this.rules.values()].map((s) => ({ id: s.rule.id, matched: s.matched, fired: s.fired }))
  }

  /** Rules that fire for this event, in insertion order. Each matching rule consumes exactly one draw. */
  match(subject: FaultSubject): ReadonlyArray<FaultHit> {
    const hits: Array<FaultHit> = []
    for (const state of this.rules.values()) {
      if (!targets(state.rule.target, subject)) continue
      state.matched++
      const draw = state.rng.next()
      const n = state.matched
      const w = state.rule.when
      let fire = false
      switch (w._tag) {
        case "always":
          fire = true
          break
        case "once":
          fire = state.fired === 0
          break
        case "nth":
          fire = n === w.n
          break
        case "every":
          fire = w.n > 0 && n % w.n === 0
          break
        case "probability":
          fire = draw < w.p
          break
        case "window": {
          const t = this.elapsed()
          fire = t >= w.from && t < w.to
          break
        }
        case "afterCalls":
          fire = n > w.n
          break
      }
      if (!fire) continue
      state.fired++
      const effect = state.rule.effect
      hits.push(
        effect._tag === "latency"
          ? { rule: state.rule, effect, latencyMs: sampleLatency(effect.latency, state.rng) }
          : { rule: state.rule, effect }
      )
    }
    return hits
  }

  /** True when any rule targets this kind with this effect tag, without consuming draws (for static effects like storageFull on a store). */
  hasStatic(subject: FaultSubject, tag: FaultEffect["_tag"]): boolean {
    for (const state of this.rules.values()) {
      if (state.rule.effect._tag === tag && state.rule.when._tag === "always" && targets(state.rule.target, subject)) return true
    }
    return false
  }
}

/** Named presets (§7). */
export const presets: Record<"lan" | "wan" | "flaky" | "degraded-storage", ReadonlyArray<FaultRule>> = {
  lan: [
    { id: "lan-latency", target: { kind: "api" }, when: { _tag: "always" }, effect: { _tag: "latency", latency: { logNormal: { p50: 1, p99: 5 } } } }
  ],
  wan: [
    { id: "wan-latency", target: { kind: "api" }, when: { _tag: "always" }, effect: { _tag: "latency", latency: { logNormal: { p50: 40, p99: 250 } } } }
  ],
  flaky: [
    { id: "flaky-500", target: { kind: "api" }, when: { _tag: "probability", p: 0.01 }, effect: { _tag: "status", code: 500, message: "internal error" } },
    { id: "flaky-drop", target: { kind: "api" }, when: { _tag: "probability", p: 0.005 }, effect: { _tag: "drop", phase: "headers" } },
    { id: "flaky-task", target: { kind: "task" }, when: { _tag: "probability", p: 0.01 }, effect: { _tag: "taskFail", exitstatus: "command failed: unexpected error" } }
  ],
  "degraded-storage": [
    { id: "degraded-tank", target: { kind: "store", storage: "tank" }, when: { _tag: "always" }, effect: { _tag: "storageFull" } }
  ]
}
