/**
 * The plain form of the fan-out bound (ADR 0094): `acquire(granted, urgent)` / `release()` below the fiber
 * level. A permit is granted at once when one is free, else in arrival order (urgent line first); a wait
 * withdrawn before its grant is never granted; plain holders and `withPermit` fibers share one bound; and
 * an interrupted fiber never keeps a permit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Permits from "@homelab-mcp/core/Permits"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** A plain waiter that records its grant; `withdraw` as `acquire` returned it. */
const waiter = (permits: Permits.Permits, log: Array<string>, name: string, urgent?: boolean) => {
  const state = { granted: 0, withdraw: (): boolean => false }
  state.withdraw = permits.acquire(() => {
    state.granted++
    log.push(name)
  }, urgent)
  return state
}

/**
 * True when exactly `n` permits are free and nothing waits: `n` plain acquires are granted at once and the
 * next one is not (it is withdrawn, and every probe permit is returned afterwards).
 */
const freeExactly = (permits: Permits.Permits, n: number): boolean => {
  const log: Array<string> = []
  const probes = Array.from({ length: n }, (_, i) => waiter(permits, log, `p${i}`))
  const allAtOnce = probes.every((p) => p.granted === 1)
  const extra = waiter(permits, log, "extra")
  const extraWaited = extra.granted === 0 && extra.withdraw()
  for (const p of probes) if (p.granted === 1) permits.release()
  return allAtOnce && extraWaited && extra.granted === 0
}

describe("Permits, plain acquire/release", () => {
  it.effect("a free permit is granted at once (inside acquire); withdraw is then false", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(2)
      const log: Array<string> = []
      const a = waiter(permits, log, "a")
      // granted synchronously, before acquire returned
      expect(a.granted).toBe(1)
      const b = waiter(permits, log, "b", true)
      expect(b.granted).toBe(1)
      expect(a.withdraw()).toBe(false)
      expect(b.withdraw()).toBe(false)
      const c = waiter(permits, log, "c")
      expect(c.granted).toBe(0)
      expect(log).toEqual(["a", "b"])
      permits.release()
      expect(c.granted).toBe(1)
      expect(c.withdraw()).toBe(false)
      permits.release()
      permits.release()
      // everything back: two free, no more
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.effect("waiters are granted one per release, in arrival order; a release with nobody waiting frees the permit", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      const log: Array<string> = []
      const holder = waiter(permits, log, "holder")
      expect(holder.granted).toBe(1)
      const ws = ["w1", "w2", "w3", "w4", "w5"].map((name) => waiter(permits, log, name))
      expect(ws.map((w) => w.granted)).toEqual([0, 0, 0, 0, 0])
      for (let i = 0; i < ws.length; i++) {
        permits.release()
        // exactly one more waiter, the longest one
        expect(log).toEqual(["holder", ...ws.slice(0, i + 1).map((_, j) => `w${j + 1}`)])
        expect(ws.map((w) => w.granted)).toEqual(ws.map((_, j) => (j <= i ? 1 : 0)))
      }
      permits.release()
      expect(freeExactly(permits, 1)).toBe(true)
    }))

  it.effect("urgent waiters go before ordinary ones, each line in arrival order", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      const log: Array<string> = []
      waiter(permits, log, "holder")
      waiter(permits, log, "a")
      waiter(permits, log, "b")
      waiter(permits, log, "u1", true)
      waiter(permits, log, "c")
      waiter(permits, log, "u2", true)
      for (let i = 0; i < 5; i++) permits.release()
      expect(log).toEqual(["holder", "u1", "u2", "a", "b", "c"])
      // an urgent waiter arriving after the urgent line emptied still overtakes the ordinary ones left
      const late = yield* Permits.make(1)
      const order: Array<string> = []
      waiter(late, order, "holder")
      waiter(late, order, "x")
      waiter(late, order, "u", true)
      late.release()
      waiter(late, order, "v", true)
      waiter(late, order, "y")
      late.release()
      late.release()
      late.release()
      expect(order).toEqual(["holder", "u", "v", "x", "y"])
      late.release()
      expect(freeExactly(late, 1)).toBe(true)
    }))

  it.effect("an urgent acquire waits like any other while no permit is free, and is granted at once when one is", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(2)
      const log: Array<string> = []
      waiter(permits, log, "a")
      const u = waiter(permits, log, "u", true)
      expect(u.granted).toBe(1)
      const v = waiter(permits, log, "v", true)
      expect(v.granted).toBe(0)
      permits.release()
      expect(v.granted).toBe(1)
      permits.release()
      permits.release()
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.effect("withdraw before the grant is true (once), and the withdrawn waiter is never granted; the permit goes to the next one", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      const log: Array<string> = []
      waiter(permits, log, "holder")
      const a = waiter(permits, log, "a")
      const u = waiter(permits, log, "u", true)
      const b = waiter(permits, log, "b")
      expect(a.withdraw()).toBe(true)
      expect(a.withdraw()).toBe(false)
      expect(u.withdraw()).toBe(true)
      permits.release()
      expect(log).toEqual(["holder", "b"])
      expect(b.withdraw()).toBe(false)
      permits.release()
      // the withdrawn ones stay ungranted through every later release
      expect(a.granted).toBe(0)
      expect(u.granted).toBe(0)
      expect(freeExactly(permits, 1)).toBe(true)
      expect(a.granted + u.granted).toBe(0)
      // every waiter withdrawn: the released permit goes back to the pool
      const c = yield* Permits.make(1)
      waiter(c, log, "h2")
      const gone = waiter(c, log, "gone")
      expect(gone.withdraw()).toBe(true)
      c.release()
      expect(gone.granted).toBe(0)
      expect(freeExactly(c, 1)).toBe(true)
    }))

  it.live("plain holders and withPermit fibers together never exceed n, and all of them run", () =>
    Effect.gen(function* () {
      const n = 3
      const permits = yield* Permits.make(n)
      let holding = 0
      let peak = 0
      const enter = () => {
        holding++
        peak = Math.max(peak, holding)
        if (holding > n) throw new Error(`${holding} holders of ${n} permits`)
      }
      const plainDone: Array<number> = []
      const allPlain = yield* Deferred.make<void>()
      const plainCount = 30
      // plain holders: granted in a callback, released from a timer (no fiber)
      for (let i = 0; i < plainCount; i++) {
        permits.acquire(() => {
          enter()
          setTimeout(() => {
            holding--
            plainDone.push(i)
            permits.release()
            if (plainDone.length === plainCount) Deferred.unsafeDone(allPlain, Effect.void)
          }, 1 + (i % 4))
        }, i % 7 === 0)
      }
      const fiberTask = (i: number) =>
        (i % 5 === 0 ? permits.withUrgentPermit : permits.withPermit)(
          Effect.gen(function* () {
            enter()
            yield* Effect.sleep(`${1 + (i % 3)} millis`)
            holding--
            return i
          })
        )
      const results = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), fiberTask, { concurrency: "unbounded" })
      yield* Deferred.await(allPlain).pipe(Effect.timeout("10 seconds"))
      expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i))
      expect(plainDone.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: plainCount }, (_, i) => i))
      expect(peak).toBe(n)
      expect(holding).toBe(0)
      expect(freeExactly(permits, n)).toBe(true)
    }))

  it.effect("fibers interrupted while waiting behind plain holders leak no permit", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(2)
      const log: Array<string> = []
      waiter(permits, log, "h1")
      waiter(permits, log, "h2")
      const ran: Array<number> = []
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      for (let i = 0; i < 6; i++) {
        const body = Effect.sync(() => void ran.push(i))
        fibers.push(yield* Effect.fork(i % 2 === 0 ? permits.withPermit(body) : permits.withUrgentPermit(body)))
      }
      yield* Effect.yieldNow()
      // a plain waiter behind them
      const late = waiter(permits, log, "late")
      for (const f of fibers) yield* Fiber.interrupt(f)
      expect(late.granted).toBe(0)
      permits.release()
      // the interrupted fibers left their lines: the plain waiter is next
      expect(late.granted).toBe(1)
      permits.release()
      permits.release()
      expect(ran).toEqual([])
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.effect("a fiber interrupted just as a plain release hands it the permit passes it on", () =>
    Effect.gen(function* () {
      for (let round = 0; round < 20; round++) {
        const permits = yield* Permits.make(2)
        const log: Array<string> = []
        waiter(permits, log, "h1")
        waiter(permits, log, "h2")
        const ran: Array<number> = []
        const urgent = round % 2 === 1
        const fiber = yield* Effect.fork((urgent ? permits.withUrgentPermit : permits.withPermit)(Effect.sync(() => void ran.push(round))))
        yield* Effect.yieldNow()
        // the grant reaches the fiber's callback, and the interruption comes before the fiber ran on
        permits.release()
        yield* Fiber.interrupt(fiber)
        permits.release()
        expect(ran.length).toBeLessThanOrEqual(1)
        expect(freeExactly(permits, 2)).toBe(true)
      }
    }))

  it.live("interrupted fibers mixed with plain holders under load leave exactly n permits", () =>
    Effect.gen(function* () {
      const n = 3
      const permits = yield* Permits.make(n)
      let holding = 0
      let peak = 0
      const plainLeft = { count: 0 }
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      for (let i = 0; i < 40; i++) {
        if (i % 3 === 0) {
          plainLeft.count++
          permits.acquire(() => {
            holding++
            peak = Math.max(peak, holding)
            setTimeout(() => {
              holding--
              plainLeft.count--
              permits.release()
            }, 1 + (i % 3))
          }, i % 2 === 0)
        } else {
          fibers.push(
            yield* Effect.fork(
              (i % 4 === 0 ? permits.withUrgentPermit : permits.withPermit)(
                Effect.gen(function* () {
                  holding++
                  peak = Math.max(peak, holding)
                  yield* Effect.ensuring(Effect.sleep(`${2 + (i % 5)} millis`), Effect.sync(() => void holding--))
                })
              )
            )
          )
        }
      }
      yield* Effect.sleep("3 millis")
      // interrupt every other fiber, whatever it is doing (waiting, holding or done)
      for (let i = 0; i < fibers.length; i += 2) yield* Fiber.interrupt(fibers[i]!)
      yield* Fiber.awaitAll(fibers)
      while (plainLeft.count > 0) yield* Effect.sleep("5 millis")
      expect(peak).toBeLessThanOrEqual(n)
      expect(holding).toBe(0)
      expect(freeExactly(permits, n)).toBe(true)
    }).pipe(Effect.timeout("20 seconds")))
})
