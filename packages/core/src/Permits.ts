/**
 * A counting bound for large fan-outs (ADR 0080, addendum 3): a released permit is handed to the longest
 * waiter, so a release wakes exactly one fiber. Effect 3's `Semaphore` wakes every waiter on each release
 * while the permit is still free (N waiters: O(N) wake-ups per release, most of a 500-guest census call's
 * CPU), and a `Queue` of tokens can lose a token when a taker is interrupted just after being served.
 */
import * as Effect from "effect/Effect"

/** A bound of `n` concurrent holders, granted in arrival order (urgent waiters before the others). */
export interface Permits {
  /** Runs `self` holding one permit; the permit is returned on success, failure and interruption. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `withPermit`, served before every ordinary waiter (the last step of a longer chain of requests). */
  readonly withUrgentPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Waiter {
  granted: boolean
  readonly resume: (effect: Effect.Effect<void>) => void
}

/** `n` permits (at least one); a waiter interrupted before its turn takes none, or passes on the one it got. */
export const make = (n: number): Effect.Effect<Permits> =>
  Effect.sync(() => {
    let free = Math.max(1, Math.floor(n))
    // a Set keeps insertion order: the first value is the longest waiter
    const urgent = new Set<Waiter>()
    const ordinary = new Set<Waiter>()
    const release = () => {
      const line = urgent.size > 0 ? urgent : ordinary
      const next = line.values().next()
      if (next.done === true) {
        free++
        return
      }
      line.delete(next.value)
      next.value.granted = true
      next.value.resume(Effect.void)
    }
    const take = (line: Set<Waiter>) =>
      Effect.async<void>((resume) => {
        if (free > 0 && urgent.size === 0 && (line === urgent || ordinary.size === 0)) {
          free--
          resume(Effect.void)
          return
        }
        const waiter: Waiter = { granted: false, resume }
        line.add(waiter)
        // interrupted while waiting: leave the line, or hand on the permit that arrived meanwhile
        return Effect.sync(() => (waiter.granted ? release() : void line.delete(waiter)))
      })
    const give = Effect.sync(release)
    const holding =
      (line: Set<Waiter>) =>
      <A, E, R>(self: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) => Effect.zipRight(restore(take(line)), Effect.ensuring(restore(self), give)))
    return { withPermit: holding(ordinary), withUrgentPermit: holding(urgent) }
  })
