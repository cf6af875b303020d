/**
 * A counting bound for large fan-outs (ADR 0080, addendum 3; ADR 0094): a released permit is handed to the
 * longest waiter, so a release wakes exactly one waiter. Effect 3's `Semaphore` wakes every waiter on each
 * release while the permit is still free (N waiters: O(N) wake-ups per release, most of a 500-guest census
 * call's CPU), and a `Queue` of tokens can lose a token when a taker is interrupted just after being served.
 * The same permits can be held by fibers (`withPermit`) and, below the fiber level, by plain callbacks
 * (`acquire`/`release`), so a batch of requests that runs without a fiber each shares one bound with them.
 */
import * as Effect from "effect/Effect"

/** A bound of `n` concurrent holders, granted in arrival order (urgent waiters before the others). */
export interface Permits {
  /** Runs `self` holding one permit; the permit is returned on success, failure and interruption. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `withPermit`, served before every ordinary waiter (the last step of a longer chain of requests). */
  readonly withUrgentPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Calls `granted` once a permit is the caller's (at once when one is free), who must then `release` it
   * exactly once. The returned `withdraw` gives up a wait not yet granted (true) and is false afterwards.
   */
  readonly acquire: (granted: () => void, urgent?: boolean) => () => boolean
  /** Returns one permit taken through `acquire`: it goes to the longest waiter, or back to the pool. */
  readonly release: () => void
}

interface Waiter {
  granted: boolean
  readonly grant: () => void
}

/** `n` permits (at least one); a waiter interrupted before its turn takes none, or passes on the one it got. */
export const make = (n: number): Effect.Effect<Permits> => Effect.sync(() => unsafeMake(n))

const unsafeMake = (n: number): Permits => {
  let free = Math.max(1, Math.floor(n))
  // a Set keeps insertion order: the first value is the longest waiter
  const urgentLine = new Set<Waiter>()
  const ordinaryLine = new Set<Waiter>()
  const release = () => {
    const line = urgentLine.size > 0 ? urgentLine : ordinaryLine
    const next = line.values().next()
    if (next.done === true) {
      free++
      return
    }
    line.delete(next.value)
    next.value.granted = true
    next.value.grant()
  }
  const acquire = (grant: () => void, urgent = false): (() => boolean) => {
    const line = urgent ? urgentLine : ordinaryLine
    if (free > 0 && urgentLine.size === 0 && (urgent || ordinaryLine.size === 0)) {
      free--
      grant()
      return () => false
    }
    const waiter: Waiter = { granted: false, grant }
    line.add(waiter)
    return () => !waiter.granted && line.delete(waiter)
  }
  const take = (urgent: boolean) =>
    Effect.async<void>((resume) => {
      const withdraw = acquire(() => resume(Effect.void), urgent)
      // interrupted while waiting: leave the line, or hand on the permit that arrived meanwhile
      return Effect.sync(() => {
        if (!withdraw()) release()
      })
    })
  const give = Effect.sync(release)
  const holding =
    (urgent: boolean) =>
    <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) => Effect.zipRight(restore(take(urgent)), Effect.ensuring(restore(self), give)))
  return { withPermit: holding(false), withUrgentPermit: holding(true), acquire, release }
}
