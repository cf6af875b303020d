/**
 * The fan-out bound: never more than n holders, permits granted in arrival order, and every permit
 * returned after success, failure and interruption (an interrupted waiter takes none).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Permits from "@homelab-mcp/core/Permits"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as TestClock from "effect/TestClock"

describe("Permits", () => {
  it.effect("never more than n at once, and every task runs", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(3)
      let running = 0
      let peak = 0
      const task = (i: number) =>
        permits.withPermit(
          Effect.gen(function* () {
            running++
            peak = Math.max(peak, running)
            yield* Effect.sleep(`${1 + (i % 5)} millis`)
            running--
            return i
          })
        )
      const fiber = yield* Effect.fork(Effect.forEach(Array.from({ length: 50 }, (_, i) => i), task, { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(Array.from({ length: 50 }, (_, i) => i))
      expect(peak).toBe(3)
      expect(running).toBe(0)
    }))

  it.effect("waiters get the permit in the order they asked", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      const gate = yield* Deferred.make<void>()
      const order: Array<number> = []
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(gate)))
      yield* Effect.yieldNow()
      const waiters: Array<Fiber.RuntimeFiber<void>> = []
      for (const i of [1, 2, 3, 4, 5]) {
        waiters.push(yield* Effect.fork(permits.withPermit(Effect.sync(() => void order.push(i)))))
        yield* Effect.yieldNow()
      }
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.joinAll(waiters)
      expect(order).toEqual([1, 2, 3, 4, 5])
    }))

  it.effect("urgent waiters are served before ordinary ones, each line in arrival order", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(1)
      const gate = yield* Deferred.make<void>()
      const order: Array<string> = []
      const holder = yield* Effect.fork(permits.withPermit(Deferred.await(gate)))
      yield* Effect.yieldNow()
      const waiters: Array<Fiber.RuntimeFiber<void>> = []
      for (const [name, urgent] of [["a", false], ["b", false], ["u1", true], ["c", false], ["u2", true]] as const) {
        const task = Effect.sync(() => void order.push(name))
        waiters.push(yield* Effect.fork(urgent ? permits.withUrgentPermit(task) : permits.withPermit(task)))
        yield* Effect.yieldNow()
      }
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.joinAll(waiters)
      expect(order).toEqual(["u1", "u2", "a", "b", "c"])
    }))

  it.effect("a failed or interrupted holder returns its permit; an interrupted waiter takes none", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(2)
      expect(yield* Effect.flip(permits.withPermit(Effect.fail("boom")))).toBe("boom")
      const hung = yield* Effect.fork(permits.withPermit(Effect.never))
      const hung2 = yield* Effect.fork(permits.withPermit(Effect.never))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(permits.withPermit(Effect.succeed("late")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(hung)
      yield* Fiber.interrupt(hung2)
      // both permits are back: two holders at once finish without waiting on each other
      const both = yield* Deferred.make<void>()
      let arrived = 0
      const meet = permits.withPermit(
        Effect.gen(function* () {
          arrived++
          if (arrived === 2) yield* Deferred.succeed(both, undefined)
          yield* Deferred.await(both)
        })
      )
      yield* Effect.all([meet, meet], { concurrency: "unbounded" })
      expect(arrived).toBe(2)
    }))

  it.live("a waiter interrupted right after being handed the permit passes it on", () =>
    Effect.gen(function* () {
      for (let round = 0; round < 20; round++) {
        const permits = yield* Permits.make(1)
        const gate = yield* Deferred.make<void>()
        const ready = yield* Deferred.make<void>()
        const waiterRef: { fiber?: Fiber.RuntimeFiber<never> } = {}
        const holder = yield* Effect.fork(
          Effect.gen(function* () {
            // the interruption reaches the waiter first, the permit (released on the way out) right after it
            yield* permits.withPermit(
              Effect.zipRight(
                Effect.zipRight(Deferred.succeed(ready, undefined), Deferred.await(gate)),
                Effect.sync(() => waiterRef.fiber!.unsafeInterruptAsFork(FiberId.none))
              )
            )
          })
        )
        yield* Deferred.await(ready)
        const waiter = yield* Effect.fork(permits.withPermit(Effect.never))
        waiterRef.fiber = waiter
        yield* Effect.yieldNow()
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        yield* Fiber.await(waiter)
        // a lost permit would make this wait forever
        expect(yield* permits.withPermit(Effect.succeed(round)).pipe(Effect.timeout("2 seconds"))).toBe(round)
      }
    }))

  it.effect("a bound below one still admits one holder", () =>
    Effect.gen(function* () {
      const permits = yield* Permits.make(0)
      expect(yield* permits.withPermit(Effect.succeed(7))).toBe(7)
    }))
})
